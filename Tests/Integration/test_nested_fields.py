"""Unknown members inside a chat request's objects (a message, a tool, response_format,
stream_options) are refused by name, as OpenAI's API refuses unknown arguments, with the path
as `param`; what the official client sends, replies sent back as it returned them included,
is accepted."""
import openai
import pytest
import requests

from conftest import MODEL_NAME

USER = {"role": "user", "content": "Say hi."}
TOOL = {"type": "function", "function": {"name": "get_time", "description": "The time.", "parameters": {"type": "object", "properties": {}}}}


def chat(server, **body):
    return requests.post(server.url + "/v1/chat/completions", timeout=60,
                         json={"model": MODEL_NAME, "messages": [USER], "max_tokens": 2, **body})


@pytest.mark.parametrize("body,param", [
    ({"messages": [{**USER, "colour": "red"}]}, "messages[0].colour"),
    ({"messages": [USER, {"role": "assistant", "content": "Hi", "mood": 1}]}, "messages[1].mood"),
    ({"tools": [{**TOOL, "extra": True}]}, "tools[0].extra"),
    ({"tools": [{"type": "function", "function": {**TOOL["function"], "returns": "str"}}]}, "tools[0].function.returns"),
    ({"response_format": {"type": "json_object", "strictness": 1}}, "response_format.strictness"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "version": 2}}},
     "response_format.json_schema.version"),
    ({"stream": True, "stream_options": {"include_usage": True, "chunked": True}}, "stream_options.chunked"),
])
def test_unknown_nested_members_are_refused_by_path(server, body, param):
    r = chat(server, **body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["message"] == f"Unrecognized request argument supplied: {param}"
    assert error["type"] == "invalid_request_error"


def test_official_client_names_the_nested_member(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_NAME, max_tokens=2, messages=[{**USER, "extra_field": 1}])
    assert e.value.param == "messages[0].extra_field"


def test_defined_but_unsupported_nested_fields_are_refused_by_name(server):
    for body, param in [({"stream": True, "stream_options": {"include_obfuscation": True}}, "stream_options.include_obfuscation"),
                        ({"messages": [USER, {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}]},
                         "messages[1].function_call")]:
        r = chat(server, **body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == param and "not supported" in r.json()["error"]["message"]


def test_replies_sent_back_as_returned_are_accepted(server):
    """The pattern every tutorial shows: append the reply object to the conversation. The
    client serializes it with the fields it received (refusal, tool_calls, annotations, …)."""
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    first = client.chat.completions.create(model=MODEL_NAME, max_tokens=4, messages=[USER], tools=[TOOL])
    reply = first.choices[0].message
    second = client.chat.completions.create(model=MODEL_NAME, max_tokens=2, tools=[TOOL], stream=False,
                                            messages=[USER, reply, {"role": "user", "content": "Again."}],
                                            response_format={"type": "text"})
    assert second.choices[0].message.role == "assistant"
    # The dump with every field (None included), and llama-server's reasoning_content, as its web page sends.
    dumped = {**reply.model_dump(), "annotations": [], "reasoning_content": "thought"}
    r = chat(server, messages=[USER, dumped, {"role": "user", "content": "Again."}], stream=True,
             stream_options={"include_usage": True, "include_obfuscation": False})
    assert r.status_code == 200, r.text


def test_refusal_in_history_counts_as_what_was_said(server):
    """An assistant turn that refused (content null, refusal text) is rendered with that text."""
    path = server.url + "/v1/chat/completions/input_tokens"
    def count(message):
        r = requests.post(path, json={"messages": [USER, message, {"role": "user", "content": "Why?"}]}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["input_tokens"]
    refused = count({"role": "assistant", "content": None, "refusal": "I cannot help with that."})
    said = count({"role": "assistant", "content": "I cannot help with that."})
    empty = count({"role": "assistant", "content": ""})
    assert refused == said > empty
