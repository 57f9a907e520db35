"""The official `ollama` client against swiftlm serve: chat, generate, tags, show, ps."""
import ollama
import pytest

from conftest import MODEL_NAME, run_cli

PROMPT = "What are the three primary colors?"


@pytest.fixture(scope="module")
def client(server):
    return ollama.Client(host=server.url)


def test_chat_greedy_equals_cli(client):
    reference = run_cli(PROMPT, 24, chat=True)
    reply = client.chat(model=MODEL_NAME, messages=[{"role": "user", "content": PROMPT}], stream=False,
                        options={"temperature": 0, "num_predict": 24})
    assert reply.message.content == reference["text"]
    assert reply.done and reply.done_reason == ("length" if reference["finish_reason"] == "length" else "stop")
    assert reply.eval_count == len(reference["tokens"])
    assert reply.prompt_eval_count == len(reference["prompt_tokens"])
    assert reply.total_duration > 0 and reply.eval_duration > 0


def test_penalty_options(client):
    """options.presence_penalty changes the greedy reply as `swiftlm run --presence-penalty`
    does; repeat_last_n 0 empties the penalty window, so the reply is the plain one again."""
    messages = [{"role": "user", "content": PROMPT}]
    plain = client.chat(model=MODEL_NAME, messages=messages, options={"temperature": 0, "num_predict": 32})
    penalized = client.chat(model=MODEL_NAME, messages=messages,
                            options={"temperature": 0, "num_predict": 32, "presence_penalty": 2})
    assert penalized.message.content != plain.message.content
    assert penalized.message.content == run_cli(PROMPT, 32, chat=True, extra=("--presence-penalty", "2"))["text"]
    windowless = client.chat(model=MODEL_NAME, messages=messages,
                             options={"temperature": 0, "num_predict": 32, "presence_penalty": 2, "repeat_last_n": 0})
    assert windowless.message.content == plain.message.content
    with pytest.raises(ollama.ResponseError) as error:
        client.chat(model=MODEL_NAME, messages=messages, options={"frequency_penalty": 3})
    assert "frequency_penalty" in str(error.value)


def test_chat_stream_equals_plain(client):
    options = {"temperature": 0, "num_predict": 16}
    messages = [{"role": "user", "content": "Name a fruit."}]
    plain = client.chat(model=MODEL_NAME, messages=messages, stream=False, options=options)
    parts = list(client.chat(model=MODEL_NAME, messages=messages, stream=True, options=options))
    assert "".join(p.message.content for p in parts) == plain.message.content
    assert parts[-1].done and not any(p.done for p in parts[:-1])
    assert parts[-1].eval_count == plain.eval_count


def test_generate_uses_the_template_unless_raw(client):
    templated = client.generate(model=MODEL_NAME, prompt=PROMPT, options={"temperature": 0, "num_predict": 24})
    assert templated.response == run_cli(PROMPT, 24, chat=True)["text"]
    raw = client.generate(model=MODEL_NAME, prompt="The capital of France is", raw=True,
                          options={"temperature": 0, "num_predict": 12})
    assert raw.response == run_cli("The capital of France is", 12, chat=False)["text"]


def test_generate_stream(client):
    options = {"temperature": 0, "num_predict": 12}
    plain = client.generate(model=MODEL_NAME, prompt="Hi", options=options)
    streamed = "".join(p.response for p in client.generate(model=MODEL_NAME, prompt="Hi", options=options, stream=True))
    assert streamed == plain.response


def test_tags_show_ps(client):
    tags = client.list()
    assert [m.model for m in tags.models] == [MODEL_NAME + ":latest"]
    assert tags.models[0].details.format == "gguf"
    assert tags.models[0].details.family == "llama"
    assert tags.models[0].details.quantization_level == "Q4_1"
    assert tags.models[0].size > 90_000_000
    shown = client.show(MODEL_NAME)
    assert "im_start" in shown.template
    assert shown.modelinfo["general.architecture"] == "llama"
    assert shown.modelinfo["general.parameter_count"] > 100_000_000
    running = client.ps()
    assert running.models[0].model == MODEL_NAME + ":latest"


def test_errors_raise_response_error(client):
    with pytest.raises(ollama.ResponseError) as error:
        client.chat(model=MODEL_NAME, messages=[{"role": "wizard", "content": "x"}])
    assert error.value.status_code == 400
    with pytest.raises(ollama.ResponseError) as error:
        client.chat(model=MODEL_NAME, messages=[{"role": "user", "content": "x"}], options={"temperature": "hot"})
    assert error.value.status_code == 400


def test_format_json(client):
    import json
    reply = client.generate(model=MODEL_NAME, prompt="Give a JSON object with a person's name and city.", format="json",
                            options={"temperature": 0, "num_predict": 300})
    assert reply.done_reason == "stop"
    assert isinstance(json.loads(reply.response), dict)
