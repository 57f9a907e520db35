"""Many clients at once on a real server: greedy output equals the solo `swiftlm run --temp 0`
output at any load (batch invariance), admission counts exactly, the prefix cache reports its
reuse in each protocol's field, and requests that cannot fit are refused with 400."""
import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest
import requests

from conftest import BINARY, MODEL_NAME, Server, model_path

PROMPTS = [
    "The three primary colors are",
    "def fibonacci(n):",
    "Once upon a time, in a small village by the sea,",
    "The capital of France is",
    "To make a cup of tea, first",
    "1, 2, 3, 4, 5,",
    "The most important rule of writing clean code is",
    "Water boils at",
]
TOKENS = 40


def solo(prompt: str) -> dict:
    """What `swiftlm run --temp 0` gives for the prompt alone."""
    out = subprocess.run([str(BINARY), "run", model_path(), "-p", prompt, "-n", str(TOKENS), "--temp", "0",
                          "--threads", "2", "--ctx", "2048", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def wide():
    s = Server("--max-workers", "8", "--queue-size", "8")
    yield s
    s.stop()


def test_eight_concurrent_greedy_requests_equal_their_solo_runs(wide):
    expected = [solo(p) for p in PROMPTS]
    client = openai.OpenAI(base_url=wide.url + "/v1", api_key="none", max_retries=0)
    start = threading.Barrier(len(PROMPTS))

    def ask(prompt):
        start.wait()
        return client.completions.create(model=MODEL_NAME, prompt=prompt, max_tokens=TOKENS, temperature=0)

    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        replies = list(pool.map(ask, PROMPTS))
    for prompt, reply, reference in zip(PROMPTS, replies, expected):
        assert reply.choices[0].text == reference["text"], f"{prompt!r} under load differs from its solo run"
        assert reply.usage.completion_tokens == len(reference["tokens"])
    # They really shared forward passes.
    scheduler = requests.get(wide.url + "/health?verbose=1", timeout=5).json()["scheduler"]
    assert scheduler["batch_rows_mean"] > 1.5, scheduler


def test_clients_within_workers_plus_queue_are_never_refused():
    server = Server("--max-workers", "2", "--queue-size", "4")
    try:
        statuses = []
        lock = threading.Lock()

        def client(i):
            for _ in range(6):
                r = requests.post(server.url + "/v1/completions", timeout=60,
                                  json={"model": MODEL_NAME, "prompt": PROMPTS[i], "max_tokens": 4, "temperature": 0})
                with lock:
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses.count(200) == 36, f"6 clients ≤ 2 workers + 4 queued, back to back: {sorted(set(statuses))}"
    finally:
        server.stop()


def test_shared_system_prompt_is_computed_once_and_reported(wide):
    system = "You are a careful assistant. " + " ".join(f"Rule {i}: answer briefly and politely." for i in range(40))
    client = openai.OpenAI(base_url=wide.url + "/v1", api_key="none", max_retries=0)
    first = client.chat.completions.create(model=MODEL_NAME, max_tokens=8, temperature=0, messages=[
        {"role": "system", "content": system}, {"role": "user", "content": "What is 2 + 2?"}])
    second = client.chat.completions.create(model=MODEL_NAME, max_tokens=8, temperature=0, messages=[
        {"role": "system", "content": system}, {"role": "user", "content": "Name a color."}])
    prompt = second.usage.prompt_tokens
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert prompt > 300 and cached >= prompt - 40, f"second request: {cached} of {prompt} prompt tokens reused"
    # Anthropic reports the same reuse as cache_read_input_tokens, input_tokens the rest.
    claude = anthropic.Anthropic(base_url=wide.url, api_key="none", max_retries=0)
    reply = claude.messages.create(model=MODEL_NAME, max_tokens=8, system=system,
                                   messages=[{"role": "user", "content": "Name a fruit."}])
    assert reply.usage.cache_read_input_tokens and reply.usage.cache_read_input_tokens > 300
    assert reply.usage.input_tokens < 60


def test_prompt_plus_max_tokens_beyond_the_context_is_a_400_naming_both(wide):
    r = requests.post(wide.url + "/v1/completions", timeout=10,
                      json={"model": MODEL_NAME, "prompt": "Hello there", "max_tokens": 5000})
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "5000" in message and "2048" in message, message


def test_n_choices_share_the_prompt_and_differ_by_seed(wide):
    client = openai.OpenAI(base_url=wide.url + "/v1", api_key="none", max_retries=0)
    prompt = "Write one sentence about the sea. " * 8
    reply = client.completions.create(model=MODEL_NAME, prompt=prompt, max_tokens=12, n=3, temperature=1.0, seed=7)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert len({c.text for c in reply.choices}) > 1, "seeds 7, 8, 9 give different samples"
    assert reply.usage.completion_tokens == 36 or all(c.finish_reason == "stop" for c in reply.choices)
    again = client.completions.create(model=MODEL_NAME, prompt=prompt, max_tokens=12, n=3, temperature=1.0, seed=7)
    assert [c.text for c in again.choices] == [c.text for c in reply.choices], "seeded choices repeat"
    greedy = client.chat.completions.create(model=MODEL_NAME, max_tokens=8, temperature=0, n=2,
                                            messages=[{"role": "user", "content": "Say hello."}])
    assert greedy.choices[0].message.content == greedy.choices[1].message.content
    with pytest.raises(openai.BadRequestError, match="'n'"):
        client.completions.create(model=MODEL_NAME, prompt="Hi", max_tokens=4, n=9)
    with pytest.raises(openai.BadRequestError, match="'n'"):
        client.completions.create(model=MODEL_NAME, prompt="Hi", max_tokens=4, n=2, stream=True)


def test_a_small_kv_budget_queues_or_preempts_but_loses_nothing():
    # SmolLM2 keeps 23,040 bytes of keys and values a position (30 layers x 384 f16), so
    # 24 MiB holds 1,092 positions: less than 6 requests of ~360 need at once.
    server = Server("--max-workers", "6", "--queue-size", "6", "--kv-budget-mib", "24")
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
        prompt = "Count slowly: " + ", ".join(str(i) for i in range(60))

        def ask(i):
            return client.completions.create(model=MODEL_NAME, prompt=prompt + f" ({i})", max_tokens=160, temperature=0)

        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(ask, range(6)))
        assert all(r.usage.completion_tokens > 0 for r in replies)
        scheduler = requests.get(server.url + "/health?verbose=1", timeout=5).json()["scheduler"]
        assert scheduler["kv_blocks"]["used"] == 0, scheduler
        assert scheduler["preemptions"] > 0, f"the budget was meant to run out: {scheduler}"
    finally:
        server.stop()


def test_cancelled_stream_frees_its_blocks_at_once(wide):
    r = requests.post(wide.url + "/v1/completions", stream=True, timeout=30,
                      json={"model": MODEL_NAME, "prompt": "1, 2, 3,", "max_tokens": 1000, "stream": True})
    lines = r.iter_lines()
    for _ in range(5):
        next(lines)
    assert requests.get(wide.url + "/health?verbose=1", timeout=5).json()["scheduler"]["kv_blocks"]["used"] > 0
    r.close()
    for _ in range(50):
        scheduler = requests.get(wide.url + "/health?verbose=1", timeout=5).json()["scheduler"]
        if scheduler["kv_blocks"]["used"] == 0:
            break
        time.sleep(0.1)
    assert scheduler["kv_blocks"]["used"] == 0, scheduler


def test_ignore_eos_runs_to_max_tokens(wide):
    # llama.cpp's field: the end-of-generation token is never sampled.
    body = {"model": MODEL_NAME, "max_tokens": 48, "temperature": 0,
            "messages": [{"role": "user", "content": "Say only: yes"}]}
    short = requests.post(wide.url + "/v1/chat/completions", json=body, timeout=60).json()
    assert short["choices"][0]["finish_reason"] == "stop" and short["usage"]["completion_tokens"] < 48
    long = requests.post(wide.url + "/v1/chat/completions", json={**body, "ignore_eos": True}, timeout=60).json()
    assert long["usage"]["completion_tokens"] == 48 and long["choices"][0]["finish_reason"] == "length"
