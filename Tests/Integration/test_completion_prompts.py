"""POST /v1/completions with several prompts, through the official openai client: one choice per
prompt and sample, numbered prompt × n + sample as OpenAI numbers them, each the text that
prompt alone gets (greedy), streamed or not, and the usage of all of them."""
import openai
import pytest
import requests

from conftest import MODEL_NAME

PROMPTS = ["The capital of France is", "def add(a, b):", "Once upon a time"]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def alone(client):
    """Each prompt's greedy completion and usage, one request per prompt: the reference."""
    answers = [client.completions.create(model=MODEL_NAME, prompt=p, max_tokens=6, temperature=0) for p in PROMPTS]
    return [(a.choices[0].text, a.usage) for a in answers]


def test_list_of_strings_answers_one_choice_per_prompt(client, alone):
    answer = client.completions.create(model=MODEL_NAME, prompt=PROMPTS, max_tokens=6, temperature=0)
    assert [c.index for c in answer.choices] == [0, 1, 2]
    assert [c.text for c in answer.choices] == [text for text, _ in alone]
    assert answer.usage.prompt_tokens == sum(u.prompt_tokens for _, u in alone)
    assert answer.usage.completion_tokens == sum(u.completion_tokens for _, u in alone)


def test_index_is_prompt_times_n_plus_sample(client, alone):
    answer = client.completions.create(model=MODEL_NAME, prompt=PROMPTS[:2], max_tokens=6, temperature=0, n=2)
    assert sorted(c.index for c in answer.choices) == [0, 1, 2, 3]
    for choice in answer.choices:
        assert choice.text == alone[choice.index // 2][0], choice.index
    # The prompt is counted once per prompt, not per sample.
    assert answer.usage.prompt_tokens == alone[0][1].prompt_tokens + alone[1][1].prompt_tokens


def test_list_of_token_lists(client, server, alone):
    ids = [requests.post(server.url + "/tokenize", json={"content": p, "add_special": True}, timeout=10).json()["tokens"]
           for p in PROMPTS[:2]]
    answer = client.completions.create(model=MODEL_NAME, prompt=ids, max_tokens=6, temperature=0)
    assert [c.text for c in answer.choices] == [alone[0][0], alone[1][0]]


def test_echo_repeats_each_prompt(client, alone):
    answer = client.completions.create(model=MODEL_NAME, prompt=PROMPTS[:2], max_tokens=6, temperature=0, echo=True)
    assert [c.text for c in answer.choices] == [PROMPTS[i] + alone[i][0] for i in range(2)]


def test_streamed_choices_arrive_by_index(client, alone):
    texts, finishes, usage, ids = {}, {}, None, set()
    for chunk in client.completions.create(model=MODEL_NAME, prompt=PROMPTS, max_tokens=6, temperature=0, stream=True,
                                           stream_options={"include_usage": True}):
        ids.add(chunk.id)
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + choice.text
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert len(ids) == 1                       # one completion, as OpenAI streams it
    assert [texts[i] for i in range(3)] == [text for text, _ in alone]
    assert sorted(finishes) == [0, 1, 2]
    assert usage.prompt_tokens == sum(u.prompt_tokens for _, u in alone)
    assert usage.completion_tokens == sum(u.completion_tokens for _, u in alone)


def test_stream_ends_with_one_done(server):
    with requests.post(server.url + "/v1/completions", stream=True, timeout=60,
                       json={"prompt": PROMPTS, "max_tokens": 3, "temperature": 0, "stream": True}) as r:
        lines = [line for line in r.iter_lines(decode_unicode=True) if line]
    assert lines.count("data: [DONE]") == 1 and lines[-1] == "data: [DONE]"


@pytest.mark.parametrize("prompt", [[], ["ok", 5], [["a"]], [[]], {"text": "x"}])
def test_malformed_prompt_lists_are_refused_by_name(server, prompt):
    r = requests.post(server.url + "/v1/completions", json={"prompt": prompt, "max_tokens": 1}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"].startswith("prompt")
