"""Starts real `swiftlm serve` processes on loopback for the client tests.

The binary is the release build (`tools/test` builds it first); the model is SmolLM2-135M,
fetched by `tools/fetch-model`. Every server binds 127.0.0.1 on a free port and is stopped
when its tests end.
"""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("SWIFTLM_BIN", ROOT / ".build" / "release" / "swiftlm"))
# Set by tools/tsan-tests when BINARY is built with a sanitizer ("thread"): tests that measure
# resident memory skip, since the sanitizer's shadow memory grows with whatever is allocated.
SANITIZER = os.environ.get("SWIFTLM_SANITIZER")
MODEL_NAME = "smollm2"


def model_path(name: str = "smollm2-135m") -> str:
    out = subprocess.run([str(ROOT / "tools" / "fetch-model"), name], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_health(url: str, timeout: float = 1) -> bool:
    """Whether GET url/health answers 200 right now."""
    try:
        return requests.get(url + "/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def wait_for_health(url: str, seconds: float, probe_timeout: float = 1) -> bool:
    """Polls url/health every 0.1 s for up to `seconds`; whether it answered 200."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if answers_health(url, probe_timeout):
            return True
        time.sleep(0.1)
    return False


class Server:
    """One running `swiftlm serve`; `url` is its base address."""

    def __init__(self, *args: str, model: str | None = None, alias: str | None = MODEL_NAME, wait: bool = True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"swiftlm-serve-{self.port}.log"
        self.log = open(self.log_path, "w")
        command = [str(BINARY), "serve", "--model-path", model or model_path(), "--port", str(self.port),
                   "--threads", "2", "--ctx", "2048", *args]
        if alias:
            command += ["--alias", alias]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy(60)

    def wait_healthy(self, timeout: float) -> float:
        """Seconds until /health answered 200; raises after `timeout`."""
        start = time.time()
        while time.time() - start < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"swiftlm serve exited: {self.log_path.read_text()}")
            if answers_health(self.url):
                return time.time() - start
            time.sleep(0.05)
        raise RuntimeError(f"swiftlm serve did not become healthy in {timeout} s")

    def health(self) -> dict:
        return requests.get(self.url + "/health", timeout=5).json()

    def resident_bytes(self) -> int:
        """RSS of the server process, from /proc."""
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self):
        stop_process(self.process, signal.SIGTERM, timeout=10)
        self.log.close()


def stop_process(process: subprocess.Popen, sig: int, timeout: float):
    """Sends `sig`, waits up to `timeout` seconds for the exit, else kills."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# A prompt that keeps a small model writing for many tokens under greedy decoding.
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,"


class HeldStream:
    """A long streaming generation kept open, holding a worker until closed (its line iterator
    too: dropping the iterator makes urllib3 close the connection, which the server rightly
    treats as a disconnect)."""

    def __init__(self, url: str, max_tokens: int = 1500, headers: dict[str, str] | None = None):
        self.response = requests.post(url + "/v1/completions", stream=True, timeout=60, headers=headers or {},
                                      json={"model": MODEL_NAME, "prompt": COUNTING, "max_tokens": max_tokens,
                                            "temperature": 0, "stream": True})
        assert self.response.status_code == 200, self.response.text
        self.lines = self.response.iter_lines()
        next(self.lines)

    def close(self):
        self.response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        self.response.close()


@pytest.fixture(scope="session")
def server():
    s = Server("--max-workers", "2", "--queue-size", "4")
    yield s
    s.stop()


CODER_CONTEXT = 4096   # beyond llama-server's n_batch (2048), so /infill keeps extra files
LLAMA_SERVER = Path(os.environ.get("LLAMA_SERVER", Path.home() / ".cache/swiftlm/llama.cpp/build/bin/llama-server"))


@pytest.fixture(scope="session")
def coder():
    """Qwen2.5-Coder-0.5B: a model with fill-in-the-middle tokens and a chat template that renders tools."""
    s = Server("--max-workers", "1", "--ctx", str(CODER_CONTEXT), "--slots", model=model_path("qwen2.5-coder-0.5b"), alias="coder")
    yield s
    s.stop()


class LlamaServer:
    """llama.cpp's own llama-server on Qwen2.5-Coder-0.5B (or `model`; `args` added to its command line),
    as the reference for its API. Benchmarks/build-llama-bench builds it; tools/test does so and
    sets SWIFTLM_REQUIRE_LLAMA_SERVER, under which a missing one fails the test (elsewhere it skips:
    a skipped reference test checks nothing, which CI must not hide)."""

    def __init__(self, *args: str, context: int = CODER_CONTEXT, model: str | None = None):
        if not LLAMA_SERVER.exists():
            if os.environ.get("SWIFTLM_REQUIRE_LLAMA_SERVER"):
                pytest.fail(f"no llama-server at {LLAMA_SERVER} (Benchmarks/build-llama-bench builds it)")
            pytest.skip(f"no llama-server at {LLAMA_SERVER}")
        port = free_port()
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log", "w")
        self.process = subprocess.Popen([str(LLAMA_SERVER), "-m", model or model_path("qwen2.5-coder-0.5b"), "--port", str(port),
                                         "-t", "2", "-c", str(context), "-np", "1", "--alias", "coder", *args],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        if wait_for_health(self.url, 60):
            return
        self.process.kill()
        raise RuntimeError("llama-server did not become healthy")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def llama_coder():
    """llama-server on the same Qwen coder file and context, as the reference for its API's shapes."""
    s = LlamaServer("--slots")
    yield s.url
    s.stop()


def run_cli(prompt: str, n: int, chat: bool, extra: tuple[str, ...] = ()) -> dict:
    """`swiftlm run --temp 0 --json`: the reference every protocol must match. `extra`: more
    flags (e.g. penalties)."""
    command = [str(BINARY), "run", model_path(), "--temp", "0", "-n", str(n), "--json", "-p", prompt, "--threads", "2",
               *extra]
    if chat:
        command.append("--chat")
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)
