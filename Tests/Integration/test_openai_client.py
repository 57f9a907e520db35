"""The official `openai` client against swiftlm serve: chat, completions, models, streaming."""
import openai
import pytest

from conftest import MODEL_NAME, run_cli

PROMPT = "What are the three primary colors?"


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def test_models(client):
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL_NAME]
    assert client.models.retrieve(MODEL_NAME).id == MODEL_NAME


def test_chat_greedy_equals_cli(client):
    reference = run_cli(PROMPT, 24, chat=True)
    reply = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=24,
                                           messages=[{"role": "user", "content": PROMPT}])
    assert reply.choices[0].message.content == reference["text"]
    assert reply.choices[0].message.role == "assistant"
    assert reply.usage.prompt_tokens == len(reference["prompt_tokens"])
    assert reply.usage.completion_tokens == len(reference["tokens"])
    assert reply.choices[0].finish_reason == ("length" if reference["finish_reason"] == "length" else "stop")


def test_chat_stream_equals_plain(client):
    plain = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=20,
                                           messages=[{"role": "user", "content": "Name a fruit."}])
    stream = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=20, stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Name a fruit."}])
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text == plain.choices[0].message.content
    assert finish == plain.choices[0].finish_reason
    assert usage.completion_tokens == plain.usage.completion_tokens


def test_content_parts_and_developer_role(client):
    plain = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=8,
                                           messages=[{"role": "system", "content": "Be brief."},
                                                     {"role": "user", "content": "Hi"}])
    parts = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_completion_tokens=8,
                                           messages=[{"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                                                     {"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    assert parts.choices[0].message.content == plain.choices[0].message.content


def test_stop_sequence_not_emitted(client):
    full = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=24,
                                          messages=[{"role": "user", "content": PROMPT}]).choices[0].message.content
    words = full.split()
    assert len(words) > 3
    stop = words[2]
    cut = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=24, stop=[stop],
                                         messages=[{"role": "user", "content": PROMPT}])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == full[:full.index(stop)]
    assert stop not in cut.choices[0].message.content


def test_logprobs(client):
    reply = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=5, logprobs=True, top_logprobs=3,
                                           messages=[{"role": "user", "content": "Hi"}])
    content = reply.choices[0].logprobs.content
    assert len(content) == reply.usage.completion_tokens
    for item in content:
        assert item.logprob <= 0
        assert len(item.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert item.top_logprobs[0].token == item.token
        assert abs(item.top_logprobs[0].logprob - item.logprob) < 1e-6
        assert item.top_logprobs[0].logprob >= item.top_logprobs[1].logprob >= item.top_logprobs[2].logprob


def test_seeded_sampling_is_reproducible(client):
    def sample():
        return client.chat.completions.create(model=MODEL_NAME, temperature=1.0, seed=42, max_tokens=16,
                                              messages=[{"role": "user", "content": "Tell me a story."}]).choices[0].message.content
    assert sample() == sample()


def test_completion_greedy_equals_cli(client):
    reference = run_cli("The capital of France is", 16, chat=False)
    reply = client.completions.create(model=MODEL_NAME, prompt="The capital of France is", temperature=0, max_tokens=16)
    assert reply.choices[0].text == reference["text"]
    assert reply.usage.prompt_tokens == len(reference["prompt_tokens"])


def test_completion_stream_and_echo(client):
    plain = client.completions.create(model=MODEL_NAME, prompt="Once upon a time", temperature=0, max_tokens=12)
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model=MODEL_NAME, prompt="Once upon a time", temperature=0, max_tokens=12, stream=True) if c.choices)
    assert streamed == plain.choices[0].text
    echoed = client.completions.create(model=MODEL_NAME, prompt="Once upon a time", temperature=0, max_tokens=12, echo=True)
    assert echoed.choices[0].text == "Once upon a time" + plain.choices[0].text


def test_presence_and_frequency_penalties_change_greedy_output(client):
    """presence_penalty and frequency_penalty reach the sampler (llama.cpp's definitions): a
    large one changes the greedy reply, which then equals the command line's with the same
    flag; out of range, the error names the field."""
    messages = [{"role": "user", "content": PROMPT}]
    plain = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=32, messages=messages)
    for field, flag in [("presence_penalty", "--presence-penalty"), ("frequency_penalty", "--frequency-penalty")]:
        penalized = client.chat.completions.create(model=MODEL_NAME, temperature=0, max_tokens=32, messages=messages,
                                                   **{field: 2})
        assert penalized.choices[0].message.content != plain.choices[0].message.content, field
        reference = run_cli(PROMPT, 32, chat=True, extra=(flag, "2"))
        assert penalized.choices[0].message.content == reference["text"], field
        with pytest.raises(openai.BadRequestError) as error:
            client.chat.completions.create(model=MODEL_NAME, messages=messages, **{field: 2.5})
        assert field in str(error.value)


def test_errors_raise_the_client_exceptions(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "wizard", "content": "x"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "x"}], n=9)


def test_json_mode_output_parses(client):
    """response_format json_object: Python's json module (the reference) parses every reply
    the model finishes. A 135M model loops on some requests even in JSON mode (cut at
    max_tokens, finish_reason "length"), and which ones moves with the kernels' rounding, so
    at least half of these must finish, and every finished reply must parse to an object."""
    import json
    finished = []
    for temperature, prompt in [(0, "Describe a cat as JSON with name and age."),
                                (0, "Describe a dog as JSON with name and breed."),
                                (0, "Describe a book as JSON with title and author."),
                                (0, "Give a city as JSON with name and country."),
                                (0.3, "Describe a cat as JSON with name and age."),
                                (0.3, "Describe a car as JSON with make and year.")]:
        reply = client.chat.completions.create(model=MODEL_NAME, temperature=temperature, seed=1, max_tokens=300,
                                               response_format={"type": "json_object"},
                                               messages=[{"role": "user", "content": prompt}])
        assert reply.choices[0].finish_reason in ("stop", "length")
        if reply.choices[0].finish_reason == "stop":
            finished.append(reply.choices[0].message.content)
    print(f"json mode: {len(finished)} of 6 replies finished")
    assert len(finished) >= 3, finished
    for content in finished:
        assert isinstance(json.loads(content), dict), content
