"""Malformed requests: each gets a 4xx in its protocol's error shape, and the server stays up."""
import json

import pytest
import requests

from conftest import MODEL_NAME, Server

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "Hi"}]


def openai_shape(body):
    return isinstance(body["error"]["message"], str) and "type" in body["error"]


def anthropic_shape(body):
    return body["type"] == "error" and isinstance(body["error"]["message"], str) and "type" in body["error"]


def ollama_shape(body):
    return isinstance(body["error"], str) and body["error"]


def native_shape(body):
    return isinstance(body["error"]["message"], str) and isinstance(body["error"]["code"], int)


# (name, path, raw body or JSON object, extra headers, expected status, shape check)
CASES = [
    ("invalid JSON", CHAT, b'{"model": ', {}, 400, openai_shape),
    ("body not an object", CHAT, [1, 2], {}, 400, openai_shape),
    ("empty body", CHAT, b"", {}, 400, openai_shape),
    ("messages missing", CHAT, {"model": MODEL_NAME}, {}, 400, openai_shape),
    ("messages not an array", CHAT, {"messages": "hi"}, {}, 400, openai_shape),
    ("messages empty", CHAT, {"messages": []}, {}, 400, openai_shape),
    ("unknown role", CHAT, {"messages": [{"role": "wizard", "content": "x"}]}, {}, 400, openai_shape),
    ("content a number", CHAT, {"messages": [{"role": "user", "content": 5}]}, {}, 400, openai_shape),
    ("image content part", CHAT, {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     {}, 400, openai_shape),
    ("temperature a string", CHAT, {"messages": USER, "temperature": "hot"}, {}, 400, openai_shape),
    ("temperature out of range", CHAT, {"messages": USER, "temperature": 7}, {}, 400, openai_shape),
    ("max_tokens negative", CHAT, {"messages": USER, "max_tokens": -3}, {}, 400, openai_shape),
    ("n above the limit of 8", CHAT, {"messages": USER, "n": 9}, {}, 400, openai_shape),
    ("n above one while streaming", CHAT, {"messages": USER, "n": 2, "stream": True}, {}, 400, openai_shape),
    ("stop a number", CHAT, {"messages": USER, "stop": 7}, {}, 400, openai_shape),
    ("top_logprobs without logprobs", CHAT, {"messages": USER, "top_logprobs": 2}, {}, 400, openai_shape),
    ("json_schema response format", CHAT, {"messages": USER, "response_format": {"type": "json_schema"}}, {}, 400, openai_shape),
    ("ollama schema with a keyword not enforced", "/api/generate",
     {"model": MODEL_NAME, "prompt": "x", "format": {"type": "object", "minProperties": 1}}, {}, 400, ollama_shape),
    ("json_schema with a keyword not enforced", CHAT, {"messages": USER, "response_format": {"type": "json_schema", "json_schema": {
        "name": "n", "schema": {"type": "integer", "multipleOf": 3}}}}, {}, 400, openai_shape),
    ("grammar that does not parse", "/completion", {"prompt": "x", "grammar": "root ::= (\"a\""}, {}, 400, native_shape),
    ("prompt longer than the context", CHAT, {"messages": [{"role": "user", "content": "word " * 3000}]}, {}, 400, openai_shape),
    ("completion prompt missing", "/v1/completions", {"model": MODEL_NAME}, {}, 400, openai_shape),
    ("prompt list mixing text and ids", "/v1/completions", {"prompt": ["a", 5]}, {}, 400, openai_shape),
    ("token id outside the vocabulary", "/v1/completions", {"prompt": [1, 99999999]}, {}, 400, openai_shape),
    ("anthropic max_tokens missing", "/v1/messages", {"model": MODEL_NAME, "messages": USER}, {}, 400, anthropic_shape),
    ("anthropic system role in messages", "/v1/messages",
     {"model": MODEL_NAME, "max_tokens": 4, "messages": [{"role": "system", "content": "x"}]}, {}, 400, anthropic_shape),
    ("anthropic bad version header", "/v1/messages", {"model": MODEL_NAME, "max_tokens": 4, "messages": USER},
     {"anthropic-version": "yesterday"}, 400, anthropic_shape),
    ("anthropic image block", "/v1/messages",
     {"model": MODEL_NAME, "max_tokens": 4, "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
     {}, 400, anthropic_shape),
    ("ollama model missing", "/api/chat", {"messages": USER}, {}, 400, ollama_shape),
    ("ollama options wrong type", "/api/generate", {"model": MODEL_NAME, "prompt": "x", "options": {"num_predict": "many"}},
     {}, 400, ollama_shape),
    ("ollama images", "/api/generate", {"model": MODEL_NAME, "prompt": "x", "images": ["AAAA"]}, {}, 400, ollama_shape),
    ("tokenize content missing", "/tokenize", {"text": "x"}, {}, 400, native_shape),
    ("detokenize bad id", "/detokenize", {"tokens": [-1]}, {}, 400, native_shape),
    ("unknown OpenAI route", "/v1/embeddings-nope", {"input": "x"}, {}, 404, openai_shape),
    ("unknown OpenAI route without /v1", "/chat/completions-nope", {"input": "x"}, {}, 404, openai_shape),
    ("logit_bias token outside the vocabulary", CHAT, {"messages": USER, "logit_bias": {"99999999": 1}}, {}, 400, openai_shape),
    ("completion prompt with a list in a list", "/completion", {"prompt": [1, ["a"]]}, {}, 400, native_shape),
    ("completion prompt missing", "/completion", {"n_predict": 1}, {}, 400, native_shape),
    ("completion n_probs negative", "/completion", {"prompt": "x", "n_probs": -1}, {}, 400, native_shape),
    ("infill on a model without FIM tokens", "/infill", {"input_prefix": "x"}, {}, 501, native_shape),
]


@pytest.mark.parametrize("name,path,body,headers,status,shape", CASES, ids=[c[0] for c in CASES])
def test_malformed_request(server, name, path, body, headers, status, shape):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = requests.post(server.url + path, data=data, timeout=30,
                      headers={"Content-Type": "application/json", **headers})
    assert r.status_code == status, r.text
    assert shape(r.json()), r.text


def test_oversized_body_is_413(server):
    r = requests.post(server.url + CHAT, data=b'{"messages": "' + b"x" * (9 << 20) + b'"}', timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert openai_shape(r.json())


def test_server_still_serves_after_all_of_them(server):
    r = requests.post(server.url + CHAT, json={"messages": USER, "max_tokens": 2}, timeout=30)
    assert r.status_code == 200
    assert server.process.poll() is None


@pytest.fixture(scope="module")
def keyed():
    s = Server("--api-key", "sekrit")
    yield s
    s.stop()


def test_api_key(keyed):
    assert requests.get(keyed.url + "/health", timeout=5).status_code == 200
    r = requests.get(keyed.url + "/v1/models", timeout=5)
    assert r.status_code == 401 and openai_shape(r.json())
    assert requests.get(keyed.url + "/v1/models", headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    assert requests.get(keyed.url + "/v1/models", headers={"Authorization": "Bearer sekrit"}, timeout=5).status_code == 200
    r = requests.post(keyed.url + "/v1/messages/count_tokens", headers={"x-api-key": "sekrit"}, timeout=5,
                      json={"model": MODEL_NAME, "messages": USER})
    assert r.status_code == 200 and r.json()["input_tokens"] > 0
    r = requests.post(keyed.url + "/v1/messages", timeout=5, json={"model": MODEL_NAME, "max_tokens": 2, "messages": USER})
    assert r.status_code == 401 and anthropic_shape(r.json())
