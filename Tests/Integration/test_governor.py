"""The power-aware governor in a running server: with a fake sysfs tree whose temperature the
test raises and lowers, the thread budget drops and recovers with hysteresis, /health and
/metrics show it, and generation speed follows it."""
import time
from pathlib import Path

import pytest
import requests

from conftest import MODEL_NAME, Server


class FakeSysfs:
    def __init__(self, root: Path):
        self.root = root
        self.write("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp")
        self.temperature(50)
        self.write("sys/class/power_supply/AC/type", "Mains")
        self.write("sys/class/power_supply/AC/online", "1")

    def write(self, relative: str, value: str):
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")

    def temperature(self, celsius: float):
        self.write("sys/class/thermal/thermal_zone0/temp", str(int(celsius * 1000)))


def governor(server: Server) -> dict:
    return requests.get(server.url + "/health?verbose=1", timeout=5).json()["governor"]


def wait_for(server: Server, predicate, timeout: float) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = governor(server)
        if predicate(state):
            return state
        time.sleep(0.2)
    raise AssertionError(f"governor state not reached in {timeout} s: {governor(server)}")


def tokens_per_second(server: Server) -> float:
    start = time.time()
    r = requests.post(server.url + "/v1/completions", timeout=120,
                      json={"model": MODEL_NAME, "prompt": "1, 2, 3, 4, 5,", "max_tokens": 32, "temperature": 0})
    return r.json()["usage"]["completion_tokens"] / (time.time() - start)


@pytest.fixture
def sysfs(tmp_path):
    return FakeSysfs(tmp_path)


def test_budget_drops_under_heat_and_recovers_with_hysteresis(sysfs):
    server = Server("--sysfs-root", str(sysfs.root), "--thermal-limit", "80", "--threads", "2")
    try:
        state = governor(server)
        assert state["thread_budget"] == 2 and state["temperature_celsius"] == 50 and not state["throttled"]
        normal = tokens_per_second(server)

        sysfs.temperature(95)
        hot = wait_for(server, lambda s: s["thread_budget"] == 1 and s["pacing_ms"] > 0, 15)
        assert "temperature" in hot["reasons"]
        assert "swiftlm_governor_thread_budget 1" in requests.get(server.url + "/metrics", timeout=5).text
        throttled = tokens_per_second(server)

        sysfs.temperature(78)  # below the limit but inside the 5 °C band: nothing recovers
        time.sleep(5)
        held = governor(server)
        assert held["thread_budget"] == 1, held

        sysfs.temperature(60)
        wait_for(server, lambda s: s["thread_budget"] == 2 and s["pacing_ms"] == 0, 30)
        recovered = tokens_per_second(server)
        print(f"tokens/s normal {normal:.1f}, hot {throttled:.1f}, recovered {recovered:.1f}")
        assert throttled < 0.8 * normal
        assert throttled < 0.8 * recovered
        log = server.log_path.read_text()
        assert "governor: 1/2 threads" in log
    finally:
        server.stop()
