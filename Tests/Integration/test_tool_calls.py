"""Tool calls with Qwen2.5-Coder-0.5B (a tool-trained model): each client gets the call in its
own shape, plain and streamed, and the tool's result can be sent back."""
import json

import anthropic
import ollama
import openai
import pytest

from conftest import Server, model_path

QWEN = "qwen"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def qwen():
    s = Server(model=model_path("qwen2.5-coder-0.5b"), alias=QWEN)
    yield s
    s.stop()


def test_openai_tool_call(qwen):
    client = openai.OpenAI(base_url=qwen.url + "/v1", api_key="x", max_retries=0)
    reply = client.chat.completions.create(model=QWEN, messages=ASK, tools=[WEATHER], temperature=0, max_tokens=100)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    streamed_calls, finish = [], None
    for chunk in client.chat.completions.create(model=QWEN, messages=ASK, tools=[WEATHER], temperature=0,
                                                max_tokens=100, stream=True):
        delta = chunk.choices[0].delta
        streamed_calls += delta.tool_calls or []
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert streamed_calls[0].function.name == "get_weather"
    assert json.loads(streamed_calls[0].function.arguments) == {"city": "Paris"}

    # The result goes back as a tool message; the model answers in text.
    follow = client.chat.completions.create(model=QWEN, temperature=0, max_tokens=40, tools=[WEATHER], messages=ASK + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature_c": 18, "sky": "cloudy"})}])
    assert follow.choices[0].message.content


def test_no_tools_no_parsing(qwen):
    client = openai.OpenAI(base_url=qwen.url + "/v1", api_key="x", max_retries=0)
    reply = client.chat.completions.create(model=QWEN, messages=ASK, temperature=0, max_tokens=30)
    assert reply.choices[0].message.tool_calls is None


def test_anthropic_tool_use(qwen):
    client = anthropic.Anthropic(base_url=qwen.url, api_key="x", max_retries=0)
    tool = {"name": "get_weather", "description": "Get the current weather in a city",
            "input_schema": WEATHER["function"]["parameters"]}
    reply = client.messages.create(model=QWEN, max_tokens=100, messages=ASK, tools=[tool], extra_body={"temperature": 0})
    assert reply.stop_reason == "tool_use"
    use = [b for b in reply.content if b.type == "tool_use"][0]
    assert use.name == "get_weather" and use.input == {"city": "Paris"}
    with client.messages.stream(model=QWEN, max_tokens=100, messages=ASK, tools=[tool], extra_body={"temperature": 0}) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [b for b in final.content if b.type == "tool_use"][0].input == {"city": "Paris"}


def test_ollama_tool_calls(qwen):
    client = ollama.Client(host=qwen.url)
    reply = client.chat(model=QWEN, messages=ASK, tools=[WEATHER], options={"temperature": 0, "num_predict": 100})
    call = reply.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}
    parts = list(client.chat(model=QWEN, messages=ASK, tools=[WEATHER], stream=True,
                             options={"temperature": 0, "num_predict": 100}))
    calls = [c for p in parts for c in (p.message.tool_calls or [])]
    assert calls[0].function.arguments == {"city": "Paris"}
