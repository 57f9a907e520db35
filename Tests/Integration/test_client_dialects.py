"""What clients written for llama-server, OpenAI, Anthropic or Ollama send, as they send it: paths
without /v1, any model name, browser pages (CORS), and each protocol's documented error shapes."""
import anthropic
import ollama
import openai
import pytest
import requests

from conftest import MODEL_NAME, Server

USER = [{"role": "user", "content": "Name a color."}]


def test_openai_routes_answer_without_v1(server):
    """An OpenAI client whose base URL lacks /v1 gets the same answers as one with it."""
    bare = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
    v1 = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    chat = dict(model=MODEL_NAME, temperature=0, max_tokens=12, messages=USER)
    assert bare.chat.completions.create(**chat).choices[0].message.content == \
        v1.chat.completions.create(**chat).choices[0].message.content
    completion = dict(model=MODEL_NAME, temperature=0, max_tokens=8, prompt="The sky is")
    assert bare.completions.create(**completion).choices[0].text == v1.completions.create(**completion).choices[0].text
    assert [m.id for m in bare.models.list().data] == [MODEL_NAME]
    # Errors on those paths come in OpenAI's shape, which the client turns into its exceptions.
    with pytest.raises(openai.BadRequestError) as e:
        bare.chat.completions.create(model=MODEL_NAME, messages=[{"role": "wizard", "content": "x"}])
    assert e.value.body["type"] == "invalid_request_error"


def test_any_model_name_is_served_and_reported_as_the_alias(server):
    reply = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", max_tokens=4, messages=USER)
    assert reply.model == MODEL_NAME
    message = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0).messages.create(
        model="claude-sonnet-4", max_tokens=4, messages=USER)
    assert message.model == MODEL_NAME
    chat = ollama.Client(host=server.url).chat(model="llama3.2", messages=USER, options={"num_predict": 4})
    assert chat.model == MODEL_NAME
    assert requests.get(server.url + "/v1/models/test", timeout=10).json()["id"] == MODEL_NAME


@pytest.fixture(scope="module")
def strict():
    s = Server("--strict-model-name", "--max-workers", "1")
    yield s
    s.stop()


def test_strict_model_name_refuses_other_names(strict):
    with pytest.raises(openai.NotFoundError) as e:
        openai.OpenAI(base_url=strict.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
            model="gpt-4o-mini", max_tokens=4, messages=USER)
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(anthropic.NotFoundError):
        anthropic.Anthropic(base_url=strict.url, api_key="x", max_retries=0).messages.create(
            model="claude-sonnet-4", max_tokens=4, messages=USER)
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=strict.url).chat(model="llama3.2", messages=USER)
    assert e.value.status_code == 404
    # Its own name still works, with Ollama's ":latest" too.
    assert ollama.Client(host=strict.url).chat(model=MODEL_NAME + ":latest", messages=USER,
                                               options={"num_predict": 2}).done


def test_cors_allows_local_origins_by_default(server):
    for origin in ["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8000", "http://localhost"]:
        r = requests.get(server.url + "/v1/models", headers={"Origin": origin}, timeout=10)
        assert r.headers.get("Access-Control-Allow-Origin") == origin, origin
    for origin in ["https://example.com", "http://localhost.example.com", "http://localhost:80x"]:
        r = requests.get(server.url + "/v1/models", headers={"Origin": origin}, timeout=10)
        assert r.status_code == 200
        assert "Access-Control-Allow-Origin" not in r.headers, origin


@pytest.fixture(scope="module")
def keyed():
    s = Server("--api-key", "sekrit", "--cors-origin", "https://app.example", "--max-workers", "1")
    yield s
    s.stop()


def test_preflight_is_answered_without_the_key(keyed):
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type"}
    r = requests.options(keyed.url + "/v1/chat/completions", headers=headers, timeout=10)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    # An origin neither local nor listed gets no CORS headers, so the browser refuses the answer.
    r = requests.options(keyed.url + "/v1/chat/completions", headers={**headers, "Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 204
    assert "Access-Control-Allow-Origin" not in r.headers
    # The actual request still needs the key, and its error carries the CORS header the page needs to read it.
    r = requests.post(keyed.url + "/v1/chat/completions", json={"messages": USER},
                      headers={"Origin": "https://app.example"}, timeout=10)
    assert r.status_code == 401
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_cors_origin_star_allows_any():
    s = Server("--cors-origin", "*", "--max-workers", "1")
    try:
        r = requests.get(s.url + "/v1/models", headers={"Origin": "https://anything.example"}, timeout=10)
        assert r.headers["Access-Control-Allow-Origin"] == "*"
    finally:
        s.stop()


def test_bad_api_key_errors_in_each_protocols_shape(keyed):
    with pytest.raises(openai.AuthenticationError) as e:
        openai.OpenAI(base_url=keyed.url + "/v1", api_key="wrong", max_retries=0).models.list()
    assert e.value.status_code == 401
    assert e.value.body["type"] == "authentication_error"
    assert e.value.body["code"] == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError) as e:
        anthropic.Anthropic(base_url=keyed.url, api_key="wrong", max_retries=0).messages.create(
            model=MODEL_NAME, max_tokens=4, messages=USER)
    assert e.value.body["error"]["type"] == "authentication_error"
    # llama-server's shape on its own routes.
    r = requests.post(keyed.url + "/completion", json={"prompt": "x"}, headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == {"code": 401, "message": "invalid API key", "type": "authentication_error"}
    # The right key works, either header.
    assert openai.OpenAI(base_url=keyed.url + "/v1", api_key="sekrit", max_retries=0).models.list().data[0].id == MODEL_NAME


def test_context_overflow_codes(server):
    long = "word " * 3000
    with pytest.raises(openai.BadRequestError) as e:
        openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "user", "content": long}])
    assert e.value.code == "context_length_exceeded"
    # llama-server's type and numbers beside OpenAI's code, on both its routes and OpenAI's.
    assert e.value.body["type"] == "exceed_context_size_error"
    assert e.value.body["n_prompt_tokens"] > 2048 and e.value.body["n_ctx"] == 2048
    r = requests.post(server.url + "/completion", json={"prompt": long}, timeout=30)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "exceed_context_size_error"
    assert r.json()["error"]["n_ctx"] == 2048
    with pytest.raises(anthropic.BadRequestError) as e:
        anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0).messages.create(
            model=MODEL_NAME, max_tokens=4, messages=[{"role": "user", "content": long}])
    assert e.value.body["error"]["type"] == "invalid_request_error"
