"""llama-server's resumable streams beside llama.cpp's own llama-server on the same file (on by
default in both): a stream that carries X-Conversation-Id goes on after its client drops, and
GET /v1/stream replays it; POST /v1/streams/lookup reports it; DELETE /v1/stream stops it.
Each test runs the same steps on both servers and compares what they answer."""
import http.client
import json
import socket
import time
import urllib.parse

import pytest
import requests

# cache_prompt off: llama-server's greedy text can differ between a prompt computed afresh and
# one read from its cache, and the replays are compared with an uninterrupted run.
CHAT = {"messages": [{"role": "user", "content": "Count from 1 to 200, one number a line."}],
        "max_tokens": 40, "temperature": 0, "stream": True, "cache_prompt": False}
COMPLETION = {"prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,", "n_predict": 40, "temperature": 0, "stream": True,
              "cache_prompt": False}
# Shorter: after test_llamacpp_newer_routes' chats, llama-server's own /v1/messages text for this
# prompt was seen to differ between two runs at a near-tie about 18 tokens in.
MESSAGES = {"model": "coder", "messages": CHAT["messages"], "max_tokens": 14, "temperature": 0, "stream": True,
            "cache_prompt": False}
SEVERAL = {**COMPLETION, "prompt": ["1, 2, 3, 4,", "a, b, c, d,"], "n_predict": 24}
LONG_CHAT = {**CHAT, "max_tokens": 3000, "ignore_eos": True}


def servers(coder, llama_coder):
    return {"swiftlm": coder.url, "llama-server": llama_coder}


def start_and_drop(url, path, body, conversation=None, events=3):
    """Posts a streamed request, reads its first `events` SSE events, and drops the connection
    as a reloaded page does. Returns the bytes the client got."""
    address = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    headers = {"Content-Type": "application/json", **({"X-Conversation-Id": conversation} if conversation else {})}
    connection.request("POST", path, json.dumps(body), headers)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    got = b""
    while got.count(b"data: ") < events:
        got += response.read1()
    connection.sock.shutdown(socket.SHUT_RDWR)
    connection.close()
    return got


def lookup(url, ids):
    r = requests.post(url + "/v1/streams/lookup", json={"conversation_ids": ids}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def wait_until_done(url, conversation, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = lookup(url, [conversation])
        if found and found[0]["is_done"]:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"the stream {conversation} did not finish in {seconds} s")


def replay(url, conversation, offset=None):
    params = {"conv_id": conversation, **({"from": offset} if offset is not None else {})}
    return requests.get(url + "/v1/stream", params=params, timeout=120)


def events(raw: bytes):
    return [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]


def chat_text(raw: bytes) -> str:
    chunks = [json.loads(e) for e in events(raw) if e != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))


def completion_text(raw: bytes) -> str:
    return "".join(json.loads(e)["content"] for e in events(raw))


def anthropic_text(raw: bytes) -> str:
    deltas = [json.loads(e) for e in events(raw)]
    return "".join(d["delta"].get("text", "") for d in deltas if d["type"] == "content_block_delta")


def several_texts(raw: bytes) -> dict:
    """The text of each prompt of a several-prompt /completion stream, by its `index` (llama-server
    also sends a `data: null` between them)."""
    texts = {}
    for chunk in filter(None, map(json.loads, events(raw))):
        texts[chunk["index"]] = texts.get(chunk["index"], "") + chunk["content"]
    return texts


def whole_stream(url, path, body):
    r = requests.post(url + path, json=body, timeout=120)
    assert r.status_code == 200, r.text
    return r.content


def slot_busy(url) -> bool:
    return any(slot["is_processing"] for slot in requests.get(url + "/slots", timeout=10).json())


def wait_for(condition, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("path,body,text", [("/v1/chat/completions", CHAT, chat_text),
                                            ("/completion", COMPLETION, completion_text),
                                            ("/completion", SEVERAL, several_texts),
                                            ("/v1/messages", MESSAGES, anthropic_text)])
def test_a_dropped_stream_goes_on_and_replays_whole(coder, llama_coder, path, body, text):
    """The client drops after 3 events; the generation goes on to its end, and the replay from
    0 is the bytes the client got followed by the rest: the same text (greedy) as a run that
    was never interrupted, closed as that run is."""
    ends = {}
    for name, url in servers(coder, llama_coder).items():
        uninterrupted = whole_stream(url, path, body)
        conversation = f"conv-{name}-{path}-{len(str(body))}"
        got = start_and_drop(url, path, body, conversation)
        session = wait_until_done(url, conversation)
        r = replay(url, conversation, 0)
        assert r.status_code == 200, (name, r.text)
        assert r.headers["Content-Type"].startswith("text/event-stream"), name
        assert r.content.startswith(got), name
        assert len(r.content) == session["total_bytes"], name
        assert text(r.content) == text(uninterrupted), name
        ends[name] = (events(r.content)[-1] == "[DONE]", events(uninterrupted)[-1] == "[DONE]")
    assert ends["swiftlm"] == ends["llama-server"]
    assert ends["swiftlm"] == ((True, True) if path == "/v1/chat/completions" else (False, False))


def test_from_resumes_at_the_byte_offset(coder, llama_coder):
    for name, url in servers(coder, llama_coder).items():
        conversation = f"offsets-{name}"
        start_and_drop(url, "/v1/chat/completions", CHAT, conversation)
        total = wait_until_done(url, conversation)["total_bytes"]
        whole = replay(url, conversation).content   # no `from`: from the start
        assert len(whole) == total, name
        for offset in [0, 1, 17, total // 2, total - 1, total, total + 5]:
            r = replay(url, conversation, offset)
            assert r.status_code == 200, (name, offset, r.text)
            assert r.content == whole[offset:], (name, offset)
        # std::stoull's reading: blanks and a sign before, anything after the digits ignored;
        # a minus wraps around, past the end.
        for text, offset in [(" 5", 5), ("+5", 5), ("12abc", 12), ("-1", total)]:
            assert replay(url, conversation, text).content == whole[offset:], (name, text)


def test_lookup_reports_the_ids_asked_for_as_llama_server(coder, llama_coder):
    answers = {}
    for name, url in servers(coder, llama_coder).items():
        conversation = f"lookup-{name}"
        start_and_drop(url, "/v1/chat/completions", CHAT, conversation)
        running = lookup(url, [conversation, conversation, "nobody"])
        done = wait_until_done(url, conversation)
        assert [s["conversation_id"] for s in running] == [conversation, conversation], name
        assert done["completed_at"] >= done["started_at"] > 0 and done["total_bytes"] > 0, name
        answers[name] = (sorted(running[0]), sorted(done), type(done["total_bytes"]), type(done["is_done"]),
                         lookup(url, []), lookup(url, ["nobody"]))
        # A stream's id matches "<id>::<model>" too (llama-server's router names streams so).
        start_and_drop(url, "/v1/chat/completions", CHAT, f"variant-{name}::org/model")
        assert [s["conversation_id"] for s in lookup(url, [f"variant-{name}"])] == [f"variant-{name}::org/model"], name
        assert replay(url, f"variant-{name}::org/model").status_code == 200, name
        wait_until_done(url, f"variant-{name}::org/model")
    assert answers["swiftlm"] == answers["llama-server"]
    assert answers["swiftlm"][1] == ["completed_at", "conversation_id", "is_done", "started_at", "total_bytes"]


@pytest.mark.parametrize("body", [b"", b"not json", b'{"conversation_ids": ["x"'])
def test_a_lookup_body_that_is_not_json_is_refused_as_llama_server(coder, llama_coder, body):
    ours, theirs = [requests.post(url + "/v1/streams/lookup", data=body, timeout=10) for url in servers(coder, llama_coder).values()]
    assert ours.status_code == theirs.status_code == 400, (ours.text, theirs.text)
    assert sorted(ours.json()["error"]) == sorted(theirs.json()["error"]) == ["message", "type"]
    assert ours.json()["error"]["type"] == theirs.json()["error"]["type"] == "invalid_request_error"
    assert ours.json()["error"]["message"].startswith("invalid body: ")


def test_a_lookup_body_of_the_wrong_shape_is_refused_naming_the_field(coder):
    """llama-server answers [] to these; this server names what is wrong (same 400 shape)."""
    for body in [{"conversation_ids": "a"}, {"conversation_ids": ["a", 1]}, ["a"]]:
        r = requests.post(coder.url + "/v1/streams/lookup", json=body, timeout=10)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["type"] == "invalid_request_error"
        assert "conversation_ids" in r.json()["error"]["message"] or "JSON object" in r.json()["error"]["message"]


def test_delete_stops_the_generation_and_forgets_the_stream(coder, llama_coder):
    answers = {}
    for name, url in servers(coder, llama_coder).items():
        conversation = f"stop-{name}"
        start_and_drop(url, "/v1/chat/completions", LONG_CHAT, conversation)
        time.sleep(1)
        assert slot_busy(url), f"{name}: the generation stopped with its client"
        assert lookup(url, [conversation])[0]["is_done"] is False, name
        r = requests.delete(url + "/v1/stream", params={"conv_id": conversation}, timeout=10)
        assert wait_for(lambda: not slot_busy(url)), f"{name}: the generation went on after DELETE"
        gone = replay(url, conversation)
        answers[name] = (r.status_code, r.content, r.headers["Content-Type"], gone.status_code,
                         gone.json()["error"]["type"], gone.json()["error"]["code"], lookup(url, [conversation]))
    assert answers["swiftlm"] == answers["llama-server"]
    assert answers["swiftlm"] == (204, b"", "application/json", 404, "not_found_error", 404, [])


def test_a_new_stream_for_the_same_id_stops_the_one_before(coder, llama_coder):
    """Both servers run one generation at a time here, so the second stream finishes only if
    the first (3,000 tokens) was stopped when the second took its id."""
    for name, url in servers(coder, llama_coder).items():
        conversation = f"again-{name}"
        start_and_drop(url, "/v1/chat/completions", LONG_CHAT, conversation)
        got = start_and_drop(url, "/v1/chat/completions", CHAT, conversation)
        session = wait_until_done(url, conversation, seconds=60)
        assert [s["conversation_id"] for s in lookup(url, [conversation])] == [conversation], name
        whole = replay(url, conversation, 0).content
        assert whole.startswith(got) and len(whole) == session["total_bytes"], name
        assert chat_text(whole) == chat_text(whole_stream(url, "/v1/chat/completions", CHAT)), name
        assert wait_for(lambda: not slot_busy(url)), name


def test_without_the_header_a_disconnect_still_cancels(coder, llama_coder):
    for name, url in servers(coder, llama_coder).items():
        start_and_drop(url, "/v1/chat/completions", LONG_CHAT)
        assert wait_for(lambda: not slot_busy(url)), f"{name}: the generation went on without its client"


def test_a_reader_that_attaches_while_it_runs_follows_it_live(coder, llama_coder):
    """A second reader attached mid-generation gets the rest live, to the end."""
    for name, url in servers(coder, llama_coder).items():
        conversation = f"live-{name}"
        start_and_drop(url, "/v1/chat/completions", {**CHAT, "max_tokens": 80}, conversation)
        running = lookup(url, [conversation])[0]
        r = replay(url, conversation, 0)
        assert running["is_done"] is False, name
        assert r.status_code == 200 and events(r.content)[-1] == "[DONE]", name
        assert len(r.content) == wait_until_done(url, conversation)["total_bytes"], name


@pytest.mark.parametrize("method,query", [("GET", ""), ("GET", "?conv_id="), ("GET", "?conv_id=nobody"),
                                          ("DELETE", ""), ("DELETE", "?conv_id="), ("DELETE", "?conv_id=nobody")])
def test_a_missing_or_unknown_id_is_answered_as_llama_server(coder, llama_coder, method, query):
    ours, theirs = [requests.request(method, url + "/v1/stream" + query, timeout=10) for url in servers(coder, llama_coder).values()]
    assert ours.status_code == theirs.status_code, (ours.text, theirs.text)
    if ours.status_code == 204:
        assert ours.content == theirs.content == b""
        return
    # The 404's message is "File Not Found" in the built llama-server (its generic 404 handler
    # replaces the route's own); this server keeps the route's "Stream not found or expired".
    mine, reference = ours.json()["error"], theirs.json()["error"]
    assert sorted(mine) == sorted(reference) == ["code", "message", "type"]
    assert (mine["code"], mine["type"]) == (reference["code"], reference["type"])
    if ours.status_code == 400:
        assert mine == reference


def test_an_offset_that_is_not_a_number_is_answered_as_llama_server(coder, llama_coder):
    answers = {}
    for name, url in servers(coder, llama_coder).items():
        conversation = f"bad-offset-{name}"
        start_and_drop(url, "/v1/chat/completions", CHAT, conversation)
        wait_until_done(url, conversation)
        answers[name] = [(r.status_code, r.json()) for r in (replay(url, conversation, text)
                                                             for text in ["abc", "-", "99999999999999999999999"])]
    assert answers["swiftlm"] == answers["llama-server"]
    assert answers["swiftlm"][0] == (400, {"error": {"code": 400, "message": "Invalid 'from' offset", "type": "invalid_request_error"}})
