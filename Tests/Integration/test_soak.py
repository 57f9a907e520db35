"""A short run of Benchmarks/soak (the 10-minute run's figures are in docs/reliability.md): mixed
traffic from 8 clients against 2 workers and a queue of 4, a hot reload halfway, and every
answer a success, an intended refusal or the client's own cancellation; memory and open files
flat after the warm-up."""
import json
import subprocess
import sys

from conftest import BINARY, ROOT


def test_soak_a_minute(tmp_path):
    out = tmp_path / "soak.json"
    run = subprocess.run([sys.executable, str(ROOT / "Benchmarks" / "soak"), "--duration", "60", "--warmup", "20",
                          "--swiftlm", str(BINARY), "--json", str(out)], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out.read_text())
    assert figures["passed"] and figures["totals"].get("unexpected", 0) == 0
    assert figures["totals"]["ok"] > 100 and figures["totals"]["refused"] > 0   # real work, and real overload
    assert figures["reload"]["status"] == 200
