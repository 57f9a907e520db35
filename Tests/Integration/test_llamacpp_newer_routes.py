"""llama-server's newer routes beside llama.cpp's own llama-server on the same file: the chat
control route (ending reasoning early), and /tools and /cors-proxy, which llama-server serves
only with flags this server does not have. Status and body are compared whole."""
import json

import pytest
import requests

CHAT = {"messages": [{"role": "user", "content": "Count from 1 to 200, one number a line."}],
        "max_tokens": 200, "ignore_eos": True, "temperature": 0}


@pytest.mark.parametrize("method,path", [("GET", "/tools"), ("POST", "/tools"), ("GET", "/cors-proxy"), ("POST", "/cors-proxy")])
def test_tools_and_cors_proxy_are_disabled_as_llama_server_without_its_flags(coder, llama_coder, method, path):
    ours, theirs = [requests.request(method, url + path, json={}, timeout=10) for url in (coder.url, llama_coder)]
    assert ours.status_code == theirs.status_code == 403, (ours.text, theirs.text)
    assert ours.json() == theirs.json()
    assert ours.json()["error"]["type"] == "feature_disabled"


@pytest.mark.parametrize("body", [{}, {"id": ""}, {"id": "chatcmpl-abc"}, {"id": "chatcmpl-abc", "action": "pause"},
                                  {"id": "chatcmpl-abc", "action": "reasoning_end"}])
def test_control_without_a_running_chat_answers_as_llama_server(coder, llama_coder, body):
    ours, theirs = [requests.post(url + "/v1/chat/completions/control", json=body, timeout=10) for url in (coder.url, llama_coder)]
    assert ours.status_code == theirs.status_code, (ours.text, theirs.text)
    assert ours.json() == theirs.json()


def control_while_streaming(url, reasoning_control):
    """Starts a streamed chat, asks to end its reasoning once its first chunk has come, and
    returns the control answer and the chat's finish reason (it runs to its limit)."""
    with requests.post(url + "/v1/chat/completions", json={**CHAT, "stream": True, "reasoning_control": reasoning_control},
                       stream=True, timeout=120) as r:
        assert r.status_code == 200, r.text
        lines = r.iter_lines(decode_unicode=True)
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        answer = requests.post(url + "/v1/chat/completions/control", json={"id": first["id"], "action": "reasoning_end"}, timeout=10)
        chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: ") and line != "data: [DONE]"]
    assert all(c["id"] == first["id"] for c in chunks)
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    return answer.status_code, answer.json(), finish


@pytest.mark.parametrize("reasoning_control,answer", [
    (True, {"success": True}),   # armed; the chat is in no reasoning block, so nothing changes
    (False, {"success": False, "message": "reasoning control not enabled for this completion"})])
def test_control_of_a_running_chat_answers_as_llama_server(coder, llama_coder, reasoning_control, answer):
    """The running chat is found by the id of its chunks; the chat goes on to its limit."""
    ours, theirs = control_while_streaming(coder.url, reasoning_control), control_while_streaming(llama_coder, reasoning_control)
    assert ours == theirs
    assert ours == (200, answer, ["length"])
