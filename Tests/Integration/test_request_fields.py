"""Fields each protocol defines are honoured or refused with a 400 naming them, never dropped:
logit_bias (OpenAI's and llama.cpp's forms), top_logprobs limits, Ollama's options and
keep_alive, and the OpenAI fields for features this server does not have."""
import ollama
import openai
import pytest
import requests

from conftest import MODEL_NAME, run_cli

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)


def token_ids(server, text):
    return requests.post(server.url + "/tokenize", json={"content": text}, timeout=10).json()["tokens"]


def first_tokens(server, n=3, **extra):
    r = requests.post(server.url + "/completion", json={"prompt": PROMPT, "n_predict": n, "temperature": 0,
                                                        "return_tokens": True, **extra}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["tokens"]


def test_openai_logit_bias_bans_and_forces_tokens(server, client):
    greedy = client.completions.create(model=MODEL_NAME, prompt=PROMPT, max_tokens=3, temperature=0, logprobs=0)
    first = first_tokens(server)[0]
    banned = client.completions.create(model=MODEL_NAME, prompt=PROMPT, max_tokens=3, temperature=0, logprobs=0,
                                       logit_bias={str(first): -100})
    assert banned.choices[0].logprobs.tokens[0] != greedy.choices[0].logprobs.tokens[0]
    banana = token_ids(server, " banana")[0]
    forced = client.chat.completions.create(model=MODEL_NAME, max_tokens=2, temperature=0,
                                            messages=[{"role": "user", "content": "Hi"}], logit_bias={str(banana): 100})
    piece = requests.post(server.url + "/detokenize", json={"tokens": [banana]}, timeout=10).json()["content"]
    assert forced.choices[0].message.content.startswith(piece)


def test_llamacpp_logit_bias_forms(server):
    greedy = first_tokens(server)
    # [[token, false]] bans the token; [[token, bias]] adds to its logit.
    assert first_tokens(server, logit_bias=[[greedy[0], False]])[0] != greedy[0]
    banana = token_ids(server, " banana")
    assert first_tokens(server, logit_bias=[[banana[0], 100]])[0] == banana[0]
    # Text keys stand for their tokens, in both the object and the pair form.
    text = requests.post(server.url + "/detokenize", json={"tokens": greedy[:1]}, timeout=10).json()["content"]
    assert first_tokens(server, logit_bias={text: -100})[0] != greedy[0]
    assert first_tokens(server, logit_bias=[[text, False]])[0] != greedy[0]


@pytest.mark.parametrize("bias", [{"99999999": 5}, {"5": "big"}, [[1]], "x"])
def test_bad_logit_bias_is_refused(client, bias):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_NAME, max_tokens=1, messages=[{"role": "user", "content": "Hi"}],
                                       logit_bias=bias)
    assert "logit_bias" in e.value.message


def test_top_logprobs_limits(client):
    reply = client.chat.completions.create(model=MODEL_NAME, max_tokens=2, temperature=0, logprobs=True, top_logprobs=20,
                                           messages=[{"role": "user", "content": "Hi"}])
    assert all(len(item.top_logprobs) == 20 for item in reply.choices[0].logprobs.content)
    for bad in (21, -1):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=MODEL_NAME, max_tokens=1, logprobs=True, top_logprobs=bad,
                                           messages=[{"role": "user", "content": "Hi"}])
        assert "top_logprobs" in e.value.message


@pytest.mark.parametrize("extra,field", [
    ({"tool_choice": {"type": "function", "function": {"name": "g"}},
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tool_choice"),
    ({"reasoning_effort": "high"}, "reasoning_effort"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
    ({"mirostat": 2}, "mirostat"),
])
def test_openai_fields_for_missing_features_are_refused(client, extra, field):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_NAME, max_tokens=1, messages=[{"role": "user", "content": "Hi"}],
                                       extra_body=extra)
    assert field in e.value.message


def test_completion_suffix_is_refused(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL_NAME, prompt="def f(", suffix=")\n", max_tokens=1)
    assert "suffix" in e.value.message


@pytest.fixture(scope="module")
def oclient(server):
    return ollama.Client(host=server.url)


def test_ollama_repeat_last_n_is_honoured(oclient):
    reference = run_cli(PROMPT, 16, chat=False, extra=("--repeat-penalty", "1.5", "--repeat-last-n", "8"))
    out = oclient.generate(model=MODEL_NAME, prompt=PROMPT, raw=True,
                           options={"temperature": 0, "num_predict": 16, "repeat_penalty": 1.5, "repeat_last_n": 8})
    assert out.response == reference["text"]


def test_ollama_num_ctx_bounds_prompt_and_output(oclient):
    prompt_tokens = oclient.generate(model=MODEL_NAME, prompt=PROMPT, raw=True,
                                     options={"temperature": 0, "num_predict": 1}).prompt_eval_count
    out = oclient.generate(model=MODEL_NAME, prompt=PROMPT, raw=True,
                           options={"temperature": 0, "num_ctx": prompt_tokens + 3, "num_predict": 50, "ignore_eos": True})
    assert out.eval_count == 3 and out.done_reason == "length"
    with pytest.raises(ollama.ResponseError) as e:
        oclient.generate(model=MODEL_NAME, prompt=PROMPT, raw=True, options={"num_ctx": prompt_tokens - 1})
    assert e.value.status_code == 400 and "num_ctx" in e.value.error
    with pytest.raises(ollama.ResponseError) as e:
        oclient.generate(model=MODEL_NAME, prompt=PROMPT, options={"num_ctx": 100_000})
    assert e.value.status_code == 400 and "num_ctx" in e.value.error


@pytest.mark.parametrize("options,field", [({"mirostat": 1}, "mirostat"), ({"typical_p": 0.5}, "typical_p"),
                                           ({"tfs_z": 0.9}, "tfs_z"), ({"penalize_newline": True}, "penalize_newline"),
                                           ({"rope_frequency_base": 10000.0}, "rope_frequency_base"),
                                           ({"no_such_option": 1}, "no_such_option")])
def test_ollama_options_not_implemented_are_refused(oclient, options, field):
    with pytest.raises(ollama.ResponseError) as e:
        oclient.generate(model=MODEL_NAME, prompt="Hi", options=options)
    assert e.value.status_code == 400 and field in e.value.error


def test_ollama_neutral_options_and_keep_alive_are_accepted(oclient):
    plain = oclient.generate(model=MODEL_NAME, prompt=PROMPT, raw=True, options={"temperature": 0, "num_predict": 6})
    out = oclient.generate(model=MODEL_NAME, prompt=PROMPT, raw=True, keep_alive="5m",
                           options={"temperature": 0, "num_predict": 6, "mirostat": 0, "mirostat_tau": 5.0, "typical_p": 1.0,
                                    "num_keep": 4, "num_thread": 2, "num_batch": 64, "use_mmap": True,
                                    "tfs_z": None, "some_future_option": None})
    assert out.response == plain.response
    assert oclient.generate(model=MODEL_NAME, prompt=PROMPT, keep_alive=0, options={"num_predict": 1}).done
    with pytest.raises(ollama.ResponseError) as e:
        oclient.chat(model=MODEL_NAME, messages=[{"role": "user", "content": "Hi"}], think=True)
    assert e.value.status_code == 400 and "think" in e.value.error


def test_anthropic_fields_for_missing_features(server):
    import anthropic
    client = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
    user = [{"role": "user", "content": "Hi"}]
    tool = {"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}
    for extra, field in [({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "thinking"),
                         ({"tool_choice": {"type": "tool", "name": "undeclared"}, "tools": [tool]}, "tool_choice"),
                         ({"tool_choice": {"type": "none", "disable_parallel_tool_use": True}, "tools": [tool]},
                          "disable_parallel_tool_use")]:
        with pytest.raises(anthropic.BadRequestError) as e:
            client.messages.create(model=MODEL_NAME, max_tokens=2, messages=user, **extra)
        assert field in e.value.message
    client.messages.create(model=MODEL_NAME, max_tokens=1, messages=user, thinking={"type": "disabled"})


def test_tool_choice_none_hides_the_tools(coder):
    """Qwen's template writes declared tools into the prompt; with tool_choice none they are not shown."""
    import anthropic
    user = [{"role": "user", "content": "Hi"}]
    client = anthropic.Anthropic(base_url=coder.url, api_key="x", max_retries=0)
    tool = {"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}
    plain = client.messages.count_tokens(model="coder", messages=user).input_tokens
    assert client.messages.count_tokens(model="coder", messages=user, tools=[tool], tool_choice={"type": "auto"}).input_tokens > plain
    assert client.messages.count_tokens(model="coder", messages=user, tools=[tool], tool_choice={"type": "none"}).input_tokens == plain
    function = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}}
    count = lambda **extra: requests.post(coder.url + "/v1/chat/completions/input_tokens",
                                          json={"messages": user, **extra}, timeout=10).json()["input_tokens"]
    assert count(tools=[function]) > count() == count(tools=[function], tool_choice="none")


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


@pytest.mark.parametrize("path,body", [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG}}]}]}),
    ("/v1/messages", {"model": "m", "max_tokens": 4, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}),
    # An image inside a tool result (llama.cpp's own test_anthropic_tool_result_with_image).
    ("/v1/messages", {"model": "m", "max_tokens": 4, "messages": [
        {"role": "user", "content": "What is in this image?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {"file": "x.png"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "text", "text": "File: x.png"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}]}),
    ("/api/chat", {"model": "m", "messages": [{"role": "user", "content": "x", "images": [PNG]}]}),
])
def test_images_are_refused_in_llama_servers_words(server, path, body):
    r = requests.post(server.url + path, json=body, timeout=10)
    assert r.status_code == 400
    error = r.json()["error"]
    assert "image input is not supported" in (error if isinstance(error, str) else error["message"])


CHAT_BODY = {"model": MODEL_NAME, "max_tokens": 2, "temperature": 0, "messages": [{"role": "user", "content": "Hi"}]}
COMPLETION_BODY = {"model": MODEL_NAME, "max_tokens": 2, "temperature": 0, "prompt": PROMPT}


def post_openai(server, path, body):
    return requests.post(server.url + path, json=body, timeout=60)


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT_BODY), ("/v1/completions", COMPLETION_BODY),
                                       ("/chat/completions", CHAT_BODY)])
@pytest.mark.parametrize("field", ["no_such_field", "max_token", "Temperature", "prompt_string"])
def test_unknown_openai_fields_are_refused_as_openai_does(server, path, body, field):
    r = post_openai(server, path, {**body, field: 1})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"] == f"Unrecognized request argument supplied: {field}"
    assert error["type"] == "invalid_request_error" and error["param"] == field


def test_unknown_field_through_the_official_client(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_NAME, max_tokens=1, messages=[{"role": "user", "content": "Hi"}],
                                       extra_body={"frobnicate": True})
    assert e.value.param == "frobnicate" and "frobnicate" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL_NAME, prompt="Hi", max_tokens=1, extra_body={"messages": []})
    assert e.value.param == "messages"   # a chat field is not a completion field


@pytest.mark.parametrize("path,field,value", [
    ("/v1/chat/completions", "store", True), ("/v1/chat/completions", "metadata", {"k": "v"}),
    ("/v1/chat/completions", "service_tier", "flex"), ("/v1/chat/completions", "verbosity", "high"),
    ("/v1/chat/completions", "moderation", {"model": "omni-moderation-latest"}),
    ("/v1/chat/completions", "prompt_cache_retention", "24h"), ("/v1/chat/completions", "audio", {"voice": "alloy"}),
    ("/v1/chat/completions", "user", 5), ("/v1/completions", "suffix", "x"), ("/v1/completions", "best_of", 3),
    # llama-server's fields on its OpenAI routes: what is not done here is refused by name.
    ("/v1/chat/completions", "mirostat", 2), ("/v1/completions", "dry_multiplier", 0.5),
    ("/v1/chat/completions", "n_probs", 3), ("/v1/chat/completions", "sse_ping_interval", -5),
    ("/v1/chat/completions", "reasoning_format", "verbose"), ("/v1/completions", "id_slot", 0),
    ("/v1/chat/completions", "dry_base", "high"), ("/v1/chat/completions", "n_predict", -5),
])
def test_defined_but_unsupported_fields_are_refused_by_name(server, path, field, value):
    r = post_openai(server, path, {**(CHAT_BODY if "chat" in path else COMPLETION_BODY), field: value})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == field and field in error["message"]
    assert "Unrecognized" not in error["message"]


def test_neutral_and_llama_server_fields_are_accepted(server, client):
    """What the official client, the hosted API's callers and llama-server's own front end send
    when they change nothing here; the answer is the plain one."""
    plain = post_openai(server, "/v1/chat/completions", CHAT_BODY).json()["choices"][0]["message"]["content"]
    extras = {"store": False, "metadata": {}, "service_tier": "auto", "verbosity": "medium", "user": "u-1",
              "safety_identifier": "s-1", "prompt_cache_key": "k", "prompt_cache_retention": "in_memory",
              "cache_prompt": True, "n_keep": -1, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0, "xtc_threshold": 0.1,
              "dry_base": 1.75, "dry_allowed_length": 2, "dry_penalty_last_n": 64, "dynatemp_exponent": 1,
              "dry_sequence_breakers": ["\n", ":"], "mirostat": 0, "mirostat_tau": 5, "mirostat_eta": 0.1, "typ_p": 1,
              "backend_sampling": False, "timings_per_token": False, "reasoning_format": "none", "id_slot": -1,
              "add_generation_prompt": True, "chat_template_kwargs": {}}
    r = post_openai(server, "/v1/chat/completions", {**CHAT_BODY, **extras})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == plain
    # llama.cpp's web UI asks for reasoning apart; this model's template marks none, so the
    # answer is the plain one (test_reasoning.py covers templates that do).
    r = post_openai(server, "/v1/chat/completions", {**CHAT_BODY, "reasoning_format": "auto",
                                                     "chat_template_kwargs": {"enable_thinking": True}})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"] == {"role": "assistant", "content": plain, "refusal": None}
    reply = client.chat.completions.create(model=MODEL_NAME, max_tokens=2, temperature=0, messages=CHAT_BODY["messages"],
                                           user="u-1", store=False, service_tier="auto", extra_body={"top_k": 1})
    assert reply.choices[0].message.content == plain


def test_n_predict_and_no_limit_on_openai_routes(server):
    """llama-server's clients send n_predict (it takes max_tokens' place there) and max_tokens -1."""
    out = post_openai(server, "/v1/completions", {**COMPLETION_BODY, "max_tokens": 20, "n_predict": 3, "ignore_eos": True}).json()
    assert out["usage"]["completion_tokens"] == 3
    out = post_openai(server, "/v1/chat/completions", {**CHAT_BODY, "max_tokens": -1, "n_predict": 4, "ignore_eos": True}).json()
    assert out["usage"]["completion_tokens"] == 4
    out = post_openai(server, "/v1/chat/completions", {**CHAT_BODY, "max_tokens": -1}).json()
    assert out["choices"][0]["finish_reason"] == "stop"   # no limit: it ends where the model ends
