"""llama.cpp's own web page (llama.cpp's tools/ui, the page llama-server serves) against swiftlm
and against llama-server on the same Qwen coder file: its chat request, with the fields that
page sends, streams the same kinds of events with the same keys (prompt progress, pings)."""
import json
import threading
import time

import requests

# The body tools/ui/src/lib/services/chat.service.ts (ChatService.sendMessage) builds for a chat
# turn: messages, return_progress and sse_ping_interval (streaming), stream, timings_per_token
# (stores/chat getApiOptions) and backend_sampling (its default, false); plus the sampler
# settings it syncs from the server's GET /props (constants/settings.constants.ts, `sync`), with
# temperature and max_tokens, the page's own settings, set to keep the answer greedy and short.
# reasoning_format "auto" is its default (reasoning parsing on); reasoning_control it always
# adds (line 1153) to arm a reasoning budget it can end through llama-server's
# /v1/chat/completions/control, which this server does not serve: accepted, with no effect.
WEBUI_CHAT = {
    "messages": [{"role": "user", "content": "Write a Python function that adds two numbers."}],
    "return_progress": True, "sse_ping_interval": 1, "stream": True, "reasoning_format": "auto",
    "timings_per_token": True, "backend_sampling": False, "reasoning_control": True,
}
SYNCED = ["temperature", "dynatemp_range", "dynatemp_exponent", "top_k", "top_p", "min_p", "xtc_probability", "xtc_threshold",
          "typ_p", "max_tokens", "samplers", "repeat_last_n", "repeat_penalty", "presence_penalty", "frequency_penalty",
          "dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n"]


def webui_body(url, **changes):
    """The page's request to the server at `url`, with that server's defaults from /props."""
    params = requests.get(url + "/props", timeout=10).json()["default_generation_settings"]["params"]
    return {**WEBUI_CHAT, **{key: params[key] for key in SYNCED if key in params}, "temperature": 0, "max_tokens": 8, **changes}


def stream_lines(url, path, body):
    """Every non-empty line of the SSE answer: `data: …` events, and `:` comments (pings)."""
    with requests.post(url + path, json=body, stream=True, timeout=120) as r:
        assert r.status_code == 200, r.text
        return [line for line in r.iter_lines(decode_unicode=True) if line]


def data_events(lines):
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ") and line != "data: [DONE]"]


def kind(event):
    """What an event is, as the page reads it."""
    if "prompt_progress" in event:
        return "progress"
    choices = event.get("choices") or [{}]
    if choices[0].get("finish_reason"):
        return "finish"
    delta = choices[0].get("delta", {})
    return "content" if delta.get("content") else "other"


def progress_events(lines):
    return [e["prompt_progress"] for e in data_events(lines) if "prompt_progress" in e]


def test_webui_chat_request_streams_like_llama_server(coder, llama_coder):
    ours = stream_lines(coder.url, "/v1/chat/completions", webui_body(coder.url))
    theirs = stream_lines(llama_coder, "/v1/chat/completions", webui_body(llama_coder))
    ours_events, theirs_events = data_events(ours), data_events(theirs)
    assert ours[-1] == theirs[-1] == "data: [DONE]"
    # The same kinds of events: progress first (before any text), then text, then the finish.
    def kinds(events):
        return [k for i, k in enumerate(map(kind, events)) if i == 0 or k != kind(events[i - 1])]
    assert [k for k in kinds(ours_events) if k != "other"] == [k for k in kinds(theirs_events) if k != "other"]
    assert kind(ours_events[-1]) == kind(theirs_events[-1]) or "usage" in ours_events[-1]
    # The progress events: the same keys (the chunk's, its delta's, prompt_progress's) ...
    ours_progress = next(e for e in ours_events if "prompt_progress" in e)
    theirs_progress = next(e for e in theirs_events if "prompt_progress" in e)
    assert set(ours_progress) == set(theirs_progress)
    assert ours_progress["choices"][0]["delta"] == theirs_progress["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert set(ours_progress["prompt_progress"]) == set(theirs_progress["prompt_progress"]) == {"total", "cache", "processed", "time_ms"}
    assert set(ours_progress["timings"]) == set(theirs_progress["timings"])
    # ... and the same counts: the whole prompt, processed up to all of it, never going back.
    for progress in [progress_events(ours), progress_events(theirs)]:
        processed = [p["processed"] for p in progress]
        assert processed == sorted(processed) and processed[-1] == progress[-1]["total"]
        assert all(p["cache"] <= p["processed"] <= p["total"] for p in progress)
    assert progress_events(ours)[-1]["total"] == progress_events(theirs)[-1]["total"]
    # timings_per_token: every text chunk carries the timings so far, in both.
    for events in [ours_events, theirs_events]:
        assert all("timings" in e for e in events if kind(e) == "content")


def test_progress_reports_cached_prompt_tokens(coder):
    """A second request with the same long prompt finds it in the prefix cache: its progress
    starts with those tokens counted as cached and processed."""
    long_prompt = webui_body(coder.url, messages=[{"role": "user", "content": "Explain this code:\n" + "x = x + 1\n" * 60}])
    stream_lines(coder.url, "/v1/chat/completions", long_prompt)
    progress = progress_events(stream_lines(coder.url, "/v1/chat/completions", long_prompt))
    assert progress[0]["cache"] > 0 and progress[0]["processed"] == progress[0]["cache"]
    assert progress[-1]["processed"] == progress[-1]["total"] > progress[0]["cache"]


def test_completion_progress_event_keys_match(coder, llama_coder):
    body = {"prompt": "def hello():", "n_predict": 3, "temperature": 0, "stream": True, "return_progress": True}
    ours, theirs = data_events(stream_lines(coder.url, "/completion", body)), data_events(stream_lines(llama_coder, "/completion", body))
    ours_progress = [e for e in ours if "prompt_progress" in e]
    theirs_progress = [e for e in theirs if "prompt_progress" in e]
    assert ours_progress and theirs_progress
    assert set(ours_progress[0]) == set(theirs_progress[0]) - {"timings"}   # llama-server adds timings to every event
    assert ours_progress[0]["content"] == theirs_progress[0]["content"] == ""
    assert ours_progress[-1]["prompt_progress"]["total"] == theirs_progress[-1]["prompt_progress"]["total"]
    # Without return_progress, no progress event.
    assert not progress_events(stream_lines(coder.url, "/completion", {**body, "return_progress": False}))


def while_slot_busy(url, body):
    """The page's request while another holds the only slot for a few seconds: the stream has
    nothing to say meanwhile."""
    busy = threading.Thread(target=lambda: requests.post(url + "/completion", json={
        "prompt": "def f():", "n_predict": 160, "ignore_eos": True, "temperature": 0}, timeout=120))
    busy.start()
    try:
        time.sleep(0.5)   # the long request takes the slot first
        return stream_lines(url, "/v1/chat/completions", body)
    finally:
        busy.join()


def test_sse_pings_while_silent(coder, llama_coder):
    """A stream with nothing to say for sse_ping_interval seconds sends `:` comments. llama-server
    starts its stream only when the prompt starts, so it pings during a long prompt (its batch
    of 2048 rows takes seconds here); swiftlm starts the stream at once, so it also pings while
    the request waits for the slot."""
    ours = while_slot_busy(coder.url, webui_body(coder.url))
    long_prompt = [{"role": "user", "content": "Summarize:\n" + "the quick brown fox jumps over the lazy dog\n" * 330}]
    theirs = stream_lines(llama_coder, "/v1/chat/completions", webui_body(llama_coder, messages=long_prompt))
    for lines in [ours, theirs]:
        comments = [line for line in lines if line.startswith(":")]
        assert comments and set(comments) == {":"}
        last_progress = max(i for i, line in enumerate(lines) if "prompt_progress" in line)
        assert ":" in lines[:last_progress]      # before the first token
    # sse_ping_interval -1: none, even while queued.
    quiet = while_slot_busy(coder.url, webui_body(coder.url, sse_ping_interval=-1))
    assert not [line for line in quiet if line.startswith(":")]
