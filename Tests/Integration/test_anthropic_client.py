"""The official `anthropic` client against swiftlm serve: messages, streaming, count_tokens."""
import anthropic
import pytest

from conftest import MODEL_NAME, run_cli

PROMPT = "What are the three primary colors?"
# Clients from API version 2026-10-21 on no longer type sampling settings; the body still may.
GREEDY = {"extra_body": {"temperature": 0}}


@pytest.fixture(scope="module")
def client(server):
    return anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0)


def test_message_greedy_equals_cli(client):
    reference = run_cli(PROMPT, 24, chat=True)
    reply = client.messages.create(model=MODEL_NAME, max_tokens=24, **GREEDY,
                                   messages=[{"role": "user", "content": PROMPT}])
    assert reply.content[0].type == "text"
    assert reply.content[0].text == reference["text"]
    assert reply.role == "assistant"
    assert reply.usage.output_tokens == len(reference["tokens"])
    assert reply.usage.input_tokens + (reply.usage.cache_read_input_tokens or 0) == len(reference["prompt_tokens"])
    assert reply.stop_reason == ("max_tokens" if reference["finish_reason"] == "length" else "end_turn")


def test_stream_events_and_text(client):
    plain = client.messages.create(model=MODEL_NAME, max_tokens=16, **GREEDY, system="Be brief.",
                                   messages=[{"role": "user", "content": "Name a fruit."}])
    kinds = []
    with client.messages.stream(model=MODEL_NAME, max_tokens=16, **GREEDY, system="Be brief.",
                                messages=[{"role": "user", "content": "Name a fruit."}]) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert final.content[0].text == plain.content[0].text
    assert final.stop_reason == plain.stop_reason
    assert final.usage.output_tokens == plain.usage.output_tokens
    raw = [k for k in kinds if k in ("message_start", "content_block_start", "content_block_delta",
                                     "content_block_stop", "message_delta", "message_stop")]
    assert raw[0] == "message_start" and raw[1] == "content_block_start"
    assert raw[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(raw[2:-3]) <= {"content_block_delta"}


def test_stop_sequence(client):
    full = client.messages.create(model=MODEL_NAME, max_tokens=24, **GREEDY,
                                  messages=[{"role": "user", "content": PROMPT}]).content[0].text
    stop = full.split()[2]
    cut = client.messages.create(model=MODEL_NAME, max_tokens=24, **GREEDY, stop_sequences=[stop],
                                 messages=[{"role": "user", "content": PROMPT}])
    assert cut.stop_reason == "stop_sequence"
    assert cut.stop_sequence == stop
    assert cut.content[0].text == full[:full.index(stop)]


def test_count_tokens_matches_usage(client):
    messages = [{"role": "user", "content": PROMPT}]
    counted = client.messages.count_tokens(model=MODEL_NAME, system="Be brief.", messages=messages)
    reply = client.messages.create(model=MODEL_NAME, max_tokens=1, **GREEDY, system="Be brief.", messages=messages)
    assert counted.input_tokens == reply.usage.input_tokens + (reply.usage.cache_read_input_tokens or 0)


def test_errors_raise_the_client_exceptions(client):
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=MODEL_NAME, max_tokens=0, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=MODEL_NAME, max_tokens=4, messages=[{"role": "system", "content": "x"}])
