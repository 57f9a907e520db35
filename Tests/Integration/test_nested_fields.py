"""Unknown members inside a chat request's objects (a message, a tool, response_format,
stream_options) are refused by name, as OpenAI's API refuses unknown arguments, with the path
as `param`; what the official client sends, replies sent back as it returned them included,
is accepted."""
import openai
import pydantic
import pytest
import requests

from conftest import MODEL_NAME

USER = {"role": "user", "content": "Say hi."}
TOOL = {"type": "function", "function": {"name": "get_time", "description": "The time.", "parameters": {"type": "object", "properties": {}}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}


class GetTime(pydantic.BaseModel):
    """The time now."""


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
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "lang": "en"}]}]}, "messages[0].content[0].lang"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                                {"type": "image_url", "image_url": {"url": "data:,", "zoom": 2}}]}]},
     "messages[0].content[1].image_url.zoom"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}, "x": 1}]}]},
     "messages[0].content[0].x"),
    ({"messages": [USER, {"role": "assistant", "content": None, "tool_calls": [CALL | {"priority": 1}]}]},
     "messages[1].tool_calls[0].priority"),
    ({"messages": [USER, {"role": "assistant", "content": None,
                          "tool_calls": [CALL | {"function": CALL["function"] | {"strict": True}}]}]},
     "messages[1].tool_calls[0].function.strict"),
    ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "get_time"}, "force": True}}, "tool_choice.force"),
    ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "get_time", "args": {}}}}, "tool_choice.function.args"),
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
    for body, param in [({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi",
                                                                      "prompt_cache_breakpoint": {"mode": "explicit"}}]}]},
                         "messages[0].content[0].prompt_cache_breakpoint"),
                        ({"stream": True, "stream_options": {"include_obfuscation": True}}, "stream_options.include_obfuscation"),
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


def test_parts_as_the_official_client_sends_them_meet_the_media_refusal_not_an_unknown_field(server):
    """An image part with its `detail`, sent by the real client, is refused for being an image
    (the models read text), as llama-server words it, not for a member it does not know."""
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_NAME, max_tokens=2, messages=[
            {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}])
    assert e.value.param == "messages[0].content" and "image input is not supported" in e.value.message
    reply = client.chat.completions.create(model=MODEL_NAME, max_tokens=2, messages=[
        {"role": "user", "content": [{"type": "text", "text": "Say"}, {"type": "text", "text": "hi."}]}])
    assert reply.choices[0].message.role == "assistant"


def test_tool_call_round_trips_of_the_official_client_are_accepted(coder):
    """The reply of `parse` (with `parsed` and `parsed_arguments`) and the one its stream helper
    assembles (each call keeps its `index`), appended to the conversation as the client's own
    examples do, with a tool result after it. On Qwen2.5-Coder, which calls tools tersely."""
    client = openai.OpenAI(base_url=coder.url + "/v1", api_key="unused", max_retries=0)
    tool = openai.pydantic_function_tool(GetTime)
    ask = {"role": "user", "content": "What time is it? Call GetTime."}
    forced = {"model": "coder", "max_tokens": 60, "messages": [ask], "tools": [tool], "tool_choice": "required",
              "parallel_tool_calls": False}
    parsed = client.chat.completions.parse(**forced).choices[0].message
    with client.chat.completions.stream(**forced) as stream:
        streamed = stream.get_final_completion().choices[0].message
    for reply in (parsed, streamed):
        assert reply.tool_calls, reply
        call = reply.tool_calls[0]
        assert call.function.name == "GetTime" and call.function.parsed_arguments is not None
        history = [ask, reply, {"role": "tool", "tool_call_id": call.id, "content": "12:00"}]
        answer = client.chat.completions.create(model="coder", max_tokens=4, messages=history, tools=[tool])
        assert answer.choices[0].message.role == "assistant"
