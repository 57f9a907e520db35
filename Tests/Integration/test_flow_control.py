"""Flow control on a real server: refusals when full (each client's own exception), a client
that disconnects frees its worker, a bounded load test, and flat memory over 200 requests."""
import json
import socket
import threading
import time

import anthropic
import ollama
import openai
import pytest
import requests

from conftest import COUNTING, MODEL_NAME, SANITIZER, HeldStream, Server

def hold_worker(server: Server, max_tokens: int = 1500) -> HeldStream:
    return HeldStream(server.url, max_tokens)


def wait_until_idle(server: Server, timeout: float) -> float:
    start = time.time()
    while time.time() - start < timeout:
        if server.health()["workers"]["busy"] == 0:
            return time.time() - start
        time.sleep(0.01)
    raise AssertionError(f"a worker was still busy after {timeout} s: {server.health()}")


@pytest.fixture(scope="module")
def single():
    s = Server("--max-workers", "1", "--queue-size", "0")
    yield s
    s.stop()


def test_full_server_refuses_with_503_and_retry_after(single):
    held = hold_worker(single)
    try:
        raw = requests.post(single.url + "/v1/chat/completions", timeout=10,
                            json={"model": MODEL_NAME, "messages": [{"role": "user", "content": "Hi"}]})
        assert raw.status_code == 503
        assert int(raw.headers["Retry-After"]) >= 1
        assert "busy" in raw.json()["error"]["message"]

        with pytest.raises(openai.InternalServerError) as e:
            openai.OpenAI(base_url=single.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
                model=MODEL_NAME, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 503
        # Anthropic documents 529 overloaded_error for this; its client raises OverloadedError.
        with pytest.raises(anthropic.OverloadedError) as e:
            anthropic.Anthropic(base_url=single.url, api_key="x", max_retries=0).messages.create(
                model=MODEL_NAME, max_tokens=4, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 529
        assert e.value.body["error"]["type"] == "overloaded_error"
        with pytest.raises(ollama.ResponseError) as e:
            ollama.Client(host=single.url).chat(model=MODEL_NAME, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 503
        assert "server busy" in e.value.error
    finally:
        held.close()
    wait_until_idle(single, 5)


# Seconds a disconnect may take to free its worker: a few tokens' time; under a sanitizer every
# token is several times slower (2.07 s was seen once under ThreadSanitizer), so 3x there.
FREED_WITHIN = 6.0 if SANITIZER else 2.0


def test_stream_disconnect_frees_the_worker_within_a_token(single):
    held = hold_worker(single)
    time.sleep(0.3)
    assert single.health()["workers"]["busy"] == 1
    started = time.time()
    held.close()  # closes the socket mid-stream
    waited = wait_until_idle(single, 5)
    # The engine checks for cancellation before every token (a few ms for SmolLM2); the bound
    # allows for /health answering slowly on a loaded 2-core machine.
    assert waited < FREED_WITHIN, f"worker freed after {waited:.2f} s"
    reply = requests.post(single.url + "/v1/completions", timeout=30,
                          json={"model": MODEL_NAME, "prompt": "Hi", "max_tokens": 4})
    assert reply.status_code == 200
    print(f"worker freed {waited:.3f} s after the disconnect (checked {time.time() - started:.2f} s later)")


def test_non_streaming_disconnect_frees_the_worker(single):
    body = json.dumps({"model": MODEL_NAME, "prompt": COUNTING, "max_tokens": 1500, "temperature": 0}).encode()
    sock = socket.create_connection(("127.0.0.1", single.port))
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    deadline = time.time() + 5
    while single.health()["workers"]["busy"] == 0:
        assert time.time() < deadline
        time.sleep(0.01)
    sock.close()
    waited = wait_until_idle(single, 5)
    assert waited < FREED_WITHIN, f"worker freed after {waited:.2f} s"
    print(f"non-streaming: worker freed {waited:.3f} s after the disconnect")


def stream_once(url: str, results: list, max_tokens: int = 8):
    try:
        r = requests.post(url + "/v1/chat/completions", stream=True, timeout=120,
                          json={"model": MODEL_NAME, "stream": True, "max_tokens": max_tokens, "temperature": 0.7,
                                "messages": [{"role": "user", "content": "Say something."}]})
        if r.status_code == 503:
            results.append(("refused", r.headers.get("Retry-After")))
            return
        lines = [line for line in r.iter_lines() if line]
        done = lines[-1] == b"data: [DONE]" and r.status_code == 200
        results.append(("served" if done else f"broken {r.status_code} {lines[-1:]}", None))
    except Exception as error:  # any other failure is a test failure
        results.append((f"error {error!r}", None))


def test_load_three_times_workers(server):
    """3 × max-workers concurrent streaming clients: each is served or refused with 503."""
    workers = 2
    for _ in range(3):
        results: list = []
        threads = [threading.Thread(target=stream_once, args=(server.url, results, 32)) for _ in range(3 * workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        assert len(results) == 3 * workers
        for outcome, retry_after in results:
            assert outcome in ("served", "refused"), outcome
            if outcome == "refused":
                assert retry_after is not None and int(retry_after) >= 1
        # Two generate, four may queue: with queue-size 4 nobody needs refusing.
        assert sum(1 for o, _ in results if o == "served") >= workers + 2
    wait_until_idle(server, 10)


@pytest.mark.skipif(SANITIZER is not None, reason="a sanitizer's shadow memory grows with what is allocated")
def test_memory_flat_over_200_requests(server):
    def wave(count: int):
        results: list = []
        threads = [threading.Thread(target=stream_once, args=(server.url, results)) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert all(o in ("served", "refused") for o, _ in results), results

    for _ in range(10):
        wave(4)
    baseline = server.resident_bytes()
    for _ in range(40):
        wave(4)
    grown = server.resident_bytes() - baseline
    print(f"RSS after 40 requests {baseline / 2**20:.1f} MiB, growth over the next 160: {grown / 2**20:.2f} MiB")
    assert grown < 8 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB over 160 requests"
