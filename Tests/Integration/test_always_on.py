"""The 24×7 guarantees on real processes: the watchdog restarts a killed or hung server and
gives up on a crash loop; a reload under load loses nothing; SIGTERM drains; health reports
arrive at their interval."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from conftest import BINARY, MODEL_NAME, SANITIZER, Server, model_path, stop_process, wait_for_health


def child_pid(parent: int, timeout: float = 10) -> int:
    """The pid of the supervisor's serve child."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.05)
    raise AssertionError("no child process")


def stream_chat(url: str, results: list, max_tokens: int = 24, model: str | None = None):
    body = {"stream": True, "max_tokens": max_tokens, "temperature": 0,
            "messages": [{"role": "user", "content": "Count to twenty."}]}
    if model:
        body["model"] = model
    try:
        r = requests.post(url + "/v1/chat/completions", json=body, stream=True, timeout=120)
        lines = [line for line in r.iter_lines() if line]
        ok = r.status_code == 200 and lines[-1] == b"data: [DONE]"
        model_seen = json.loads(lines[0][6:])["model"] if ok else None
        results.append(("ok" if ok else f"broken {r.status_code} {lines[-2:]}", model_seen))
    except Exception as error:
        results.append((f"error {error!r}", None))


@pytest.fixture
def supervised():
    s = Server("--supervise", "--watchdog-timeout", "3", "--startup-timeout", "60")
    # Until the supervisor itself has seen the child answer, the (longer) startup timeout applies.
    deadline = time.time() + 30
    while "child is answering /health" not in s.log_path.read_text():
        assert time.time() < deadline, s.log_path.read_text()
        time.sleep(0.05)
    yield s
    stop_process(s.process, signal.SIGTERM, timeout=30)
    s.log.close()


def test_kill_9_of_the_child_is_serving_again_within_5_s(supervised):
    pid = child_pid(supervised.process.pid)
    os.kill(pid, signal.SIGKILL)
    waited = supervised.wait_healthy(10)
    assert waited < 5, f"serving again after {waited:.1f} s"
    assert child_pid(supervised.process.pid) != pid
    print(f"serving again {waited:.2f} s after kill -9")


def test_stopped_child_is_replaced(supervised):
    pid = child_pid(supervised.process.pid)
    os.kill(pid, signal.SIGSTOP)
    start = time.time()
    wait_for_health(supervised.url, 3 + 5, probe_timeout=0.5)
    waited = time.time() - start
    assert waited < 8, f"not replaced within watchdog-timeout + 5 s ({waited:.1f} s)"
    new = child_pid(supervised.process.pid)
    assert new != pid
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/status").read().find("zombie") >= 0
    print(f"hung child replaced after {waited:.2f} s")


def test_crash_loop_stops_at_the_start_limit():
    with socket.socket() as taken:  # the child cannot bind: it exits with an error each time
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.time()
        run = subprocess.run([str(BINARY), "supervise", "--start-limit-burst", "3", "--start-limit-interval", "60",
                              "--", "serve", "--model-path", model_path(), "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "giving up: 3 restarts within 60 s (start limit 3)" in run.stderr
    assert run.stderr.count("started child pid") == 4
    print(f"gave up after {time.time() - start:.1f} s")


def test_reload_under_load_loses_nothing_and_switches_models():
    server = Server("--max-workers", "2", "--queue-size", "8", alias=None)
    try:
        old_name = "SmolLM2-135M-Instruct.Q4_1"
        new_path = model_path("gemma3-270m")
        results: list = []
        threads = [threading.Thread(target=stream_chat, args=(server.url, results, 48)) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        reload = requests.post(server.url + "/admin/reload", json={"model_path": new_path}, timeout=120)
        assert reload.status_code == 200, reload.text
        after: list = []
        late = [threading.Thread(target=stream_chat, args=(server.url, after, 8)) for _ in range(3)]
        for t in late:
            t.start()
        for t in threads + late:
            t.join(timeout=180)
        assert [r[0] for r in results] == ["ok"] * 6, results
        assert [r[0] for r in after] == ["ok"] * 3, after
        assert {r[1] for r in after} == {"gemma-3-270m-q4_k_m"}
        assert old_name in {r[1] for r in results}
        health = requests.get(server.url + "/health?verbose=1", timeout=5).json()
        assert health["model_path"] == new_path
        # A reload that fails leaves the current model serving and says why.
        bad = requests.post(server.url + "/admin/reload", json={"model_path": "/no/such/model.gguf"}, timeout=30)
        assert bad.status_code == 400 and "not found" in bad.json()["error"]["message"]
        assert requests.get(server.url + "/health?verbose=1", timeout=5).json()["model_path"] == new_path
    finally:
        server.stop()


def test_admin_reload_needs_the_key():
    server = Server("--api-key", "k1", "--admin-key", "adm")
    try:
        assert requests.post(server.url + "/admin/reload", timeout=30).status_code == 401
        assert requests.post(server.url + "/admin/reload", headers={"Authorization": "Bearer k1"}, timeout=30).status_code == 401
        ok = requests.post(server.url + "/admin/reload", headers={"Authorization": "Bearer adm"}, timeout=60)
        assert ok.status_code == 200, ok.text
    finally:
        server.stop()


@pytest.mark.skipif(SANITIZER is not None, reason="a sanitizer's shadow memory grows with what is allocated")
def test_reloads_give_the_replaced_models_memory_back():
    """A server reloaded every day for months must not keep every model it ever loaded. Each
    reload of SmolLM2 used to keep the replaced model (108 MiB) and then malloc's arenas
    (another 4 MiB or so); here 10 reloads, with a request served between them."""
    server = Server("--max-workers", "2")
    try:
        requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 4}, timeout=60)
        before = server.resident_bytes()
        for _ in range(10):
            assert requests.post(server.url + "/admin/reload", timeout=60).status_code == 200
            r = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 4}, timeout=60)
            assert r.status_code == 200, r.text
        time.sleep(1.5)                        # the last replaced engine drains and is released
        grown = server.resident_bytes() - before
        assert grown < 24 << 20, f"10 reloads grew the server by {grown >> 20} MiB"
    finally:
        server.stop()


def test_sighup_reloads_the_same_file():
    server = Server()
    try:
        server.process.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while "reload: now serving" not in server.log_path.read_text():
            assert time.time() < deadline, server.log_path.read_text()
            time.sleep(0.1)
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        server.stop()


def test_sigterm_finishes_requests_in_flight_then_exits_0():
    server = Server("--max-workers", "2", "--queue-size", "4")
    results: list = []
    threads = [threading.Thread(target=stream_chat, args=(server.url, results, 64)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    server.process.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=120)
    code = server.process.wait(timeout=60)
    server.log.close()
    assert [r[0] for r in results] == ["ok"] * 4, results
    assert code == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/health", timeout=2)


def test_health_reports_arrive_at_the_interval():
    reports: list = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reports.append((time.time(), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/report"
    server = Server("--report-url", url, "--report-interval", "1")
    try:
        requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 4}, timeout=30)
        deadline = time.time() + 15
        while len(reports) < 4 and time.time() < deadline:
            time.sleep(0.1)
        assert len(reports) >= 4, reports
        gaps = [b[0] - a[0] for a, b in zip(reports, reports[1:])]
        assert all(0.7 < g < 1.8 for g in gaps), gaps
        for _, report in reports:
            for field in ("model", "uptime_s", "requests", "generated_tokens", "tokens_per_second", "errors",
                          "memory_bytes", "load_average", "threads", "workers", "queue"):
                assert field in report, (field, report)
        assert sum(r["requests"] for _, r in reports) >= 1
        assert sum(r["generated_tokens"] for _, r in reports) == 4
        verbose = requests.get(server.url + "/health?verbose=1", timeout=5).json()
        assert verbose["model"] == MODEL_NAME and verbose["memory_bytes"] > 0
    finally:
        server.stop()
        receiver.shutdown()


def test_systemd_notifications():
    """Under systemd (NOTIFY_SOCKET set) the supervisor says READY=1, WATCHDOG=1, STOPPING=1."""
    path = f"/tmp/swiftlm-notify-{os.getpid()}.sock"
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    messages: list = []
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    process = subprocess.Popen([str(BINARY), "supervise", "--", "serve", "--model-path", model_path(), "--port", str(free)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and messages.count("WATCHDOG=1") < 3:
            try:
                messages.append(sock.recv(256).decode())
            except socket.timeout:
                pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        while True:
            try:
                messages.append(sock.recv(256).decode())
            except socket.timeout:
                break
    finally:
        if process.poll() is None:
            process.kill()
        sock.close()
        os.unlink(path)
    assert messages[0] == "READY=1", messages
    assert messages.count("WATCHDOG=1") >= 3, messages
    assert "STOPPING=1" in messages, messages


def test_threads_auto_measures_and_picks_a_count():
    server = Server("--threads", "auto")
    try:
        deadline = time.time() + 60  # the measurement runs on the engine thread once loaded
        while "threads auto:" not in server.log_path.read_text():
            assert time.time() < deadline, server.log_path.read_text()
            time.sleep(0.1)
        line = next(l for l in server.log_path.read_text().splitlines() if "threads auto:" in l)
        # e.g. "threads auto: 2 (decode 1: 95.1 t/s, 2: 160.3 t/s)"
        chosen = int(line.split("threads auto:")[1].split()[0])
        assert 1 <= chosen <= os.cpu_count()
        assert f"{os.cpu_count()}: " in line
        assert requests.get(server.url + "/health?verbose=1", timeout=5).json()["threads"] == chosen
        r = requests.post(server.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 4}, timeout=30)
        assert r.status_code == 200
    finally:
        server.stop()
