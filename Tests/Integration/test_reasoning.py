"""Reasoning returned apart from the answer, through the official openai, anthropic and ollama
clients, and beside llama.cpp's llama-server on the same requests.

A real model here cannot be made to think, so Qwen2.5-Coder-0.5B serves with thinking models'
templates (--chat-template-file, both servers) and its output is forced: a GBNF grammar that
admits one string makes both servers write exactly that text, so their reasoning/content
splits can be compared exactly. The DeepSeek-R1-Distill template opens `<think>` in the
generation prompt, so whatever the model writes starts inside the reasoning (and, as this
model never closes it, stays there).
"""
import json
import subprocess
from pathlib import Path

import anthropic
import ollama
import openai
import pytest
import requests

from conftest import BINARY, LlamaServer, Server, model_path

FIXTURES = Path(__file__).resolve().parents[1] / "Fixtures" / "templates"


def template_file(tmp_path_factory, name: str) -> str:
    """The template of Tests/Fixtures/templates/<name>.json (llama.cpp's models/templates copy)."""
    path = tmp_path_factory.mktemp("templates") / f"{name}.jinja"
    path.write_text(json.loads((FIXTURES / f"{name}.json").read_text())["template"])
    return str(path)


def serve(tmp_path_factory, name: str, llama: bool, edit=lambda text: text):
    """swiftlm, or llama-server, on Qwen2.5-Coder-0.5B with the template of fixture `name`
    (changed by `edit`)."""
    template = template_file(tmp_path_factory, name)
    Path(template).write_text(edit(Path(template).read_text()))
    if llama:
        s = LlamaServer("--jinja", "--chat-template-file", template, context=2048)
    else:
        s = Server("--max-workers", "1", "--chat-template-file", template, model=model_path("qwen2.5-coder-0.5b"), alias="coder")
    yield s
    s.stop()


def server_fixture(name: str, llama: bool, edit=lambda text: text):
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        yield from serve(tmp_path_factory, name, llama, edit)
    return fixture


ours, theirs = server_fixture("qwen3", llama=False), server_fixture("qwen3", llama=True)
ours_r1 = server_fixture("deepseek-r1-distill-qwen", llama=False)
theirs_r1 = server_fixture("deepseek-r1-distill-qwen", llama=True)
# The reasoning budget matches its tags as token ids, as llama.cpp does. This vocabulary has no
# <think> token, and the R1 template's "<｜Assistant｜><think>\n" tokenizes its tag with the
# characters around it, so the budget would never start; "<｜Assistant｜>\n<think>" ends in the
# tag's own tokens.
def r1_tag_apart(text: str) -> str:
    assert "{{'<｜Assistant｜><think>\\n'}}" in text
    return text.replace("{{'<｜Assistant｜><think>\\n'}}", "{{'<｜Assistant｜>\\n<think>'}}")


ours_budget = server_fixture("deepseek-r1-distill-qwen", llama=False, edit=r1_tag_apart)
theirs_budget = server_fixture("deepseek-r1-distill-qwen", llama=True, edit=r1_tag_apart)
ours_granite = server_fixture("granite-3.3-instruct", llama=False)
theirs_granite = server_fixture("granite-3.3-instruct", llama=True)


def gbnf_literal(text: str) -> str:
    return "root ::= " + json.dumps(text)


# Forced outputs: each a case of where the block is and what surrounds it.
FORCED = [
    "<think>\nadd two and two\n</think>\n\nIt is four.",
    "<think>short</think>answer",
    "  <think> padded </think>   spaced answer ",
    "<think>\n\n</think>\n\nempty reasoning",
    "no reasoning at all",
    "answer first <think>then this</think> tail",
    "<think>never closed",
    "<think>ends in a partial tag </thi",
]


def split_reply(url: str, body: dict) -> dict:
    """(reasoning_content, content) of one chat request, streamed or not as `body` says."""
    if not body.get("stream"):
        r = requests.post(url + "/v1/chat/completions", json=body, timeout=120)
        assert r.status_code == 200, r.text
        message = r.json()["choices"][0]["message"]
        return {"reasoning": message.get("reasoning_content") or "", "content": message.get("content") or ""}
    reasoning, content = "", ""
    with requests.post(url + "/v1/chat/completions", json=body, stream=True, timeout=120) as r:
        assert r.status_code == 200, r.text
        for line in (raw.decode("utf-8") for raw in r.iter_lines()):   # SSE is UTF-8 (requests would guess Latin-1)
            if not line.startswith("data: {"):
                continue
            for choice in json.loads(line[6:]).get("choices", []):
                reasoning += choice["delta"].get("reasoning_content") or ""
                content += choice["delta"].get("content") or ""
    return {"reasoning": reasoning, "content": content}


def chat(url: str, text: str, stream: bool = False, **extra) -> dict:
    """(reasoning_content, content) of one greedy chat request forced to write `text`."""
    return split_reply(url, {"model": "coder", "messages": [{"role": "user", "content": "What is 2+2?"}], "temperature": 0,
                             "max_tokens": 64, "grammar": gbnf_literal(text), "stream": stream, **extra})


@pytest.mark.parametrize("text", FORCED)
def test_split_matches_llama_server(ours, theirs, text):
    mine = chat(ours.url, text)
    reference = chat(theirs.url, text)
    assert mine == reference
    assert chat(ours.url, text, stream=True) == mine == chat(theirs.url, text, stream=True)


@pytest.mark.parametrize("fmt", ["none", "auto", "deepseek", "deepseek-legacy"])
def test_reasoning_format_matches_llama_server(ours, theirs, fmt):
    text = FORCED[0]
    mine = chat(ours.url, text, reasoning_format=fmt)
    assert mine == chat(theirs.url, text, reasoning_format=fmt)
    if fmt == "none":
        assert mine == {"reasoning": "", "content": text}


def test_enable_thinking_reaches_the_template(ours, theirs):
    """The same prompt as llama-server's with thinking on, off, and by default (on)."""
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    prompts = []
    for kwargs in [{}, {"enable_thinking": False}, {"enable_thinking": True}]:
        body = {"messages": messages, "chat_template_kwargs": kwargs}
        mine = requests.post(ours.url + "/apply-template", json=body, timeout=60).json()["prompt"]
        assert mine == requests.post(theirs.url + "/apply-template", json=body, timeout=60).json()["prompt"], kwargs
        prompts.append(mine)
        path = "/v1/chat/completions/input_tokens"
        assert (requests.post(ours.url + path, json=body, timeout=60).json()
                == requests.post(theirs.url + path, json=body, timeout=60).json()), kwargs
    assert prompts[1].endswith("<think>\n\n</think>\n\n") and prompts[0] == prompts[2] != prompts[1]


def test_bad_reasoning_fields_are_named(ours):
    r = requests.post(ours.url + "/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "Hi"}], "reasoning_format": "verbose"}, timeout=60)
    assert r.status_code == 400 and "reasoning_format" in r.json()["error"]["message"]
    r = requests.post(ours.url + "/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "Hi"}], "chat_template_kwargs": {"enable_thinking": "no"}}, timeout=60)
    assert r.status_code == 400 and "enable_thinking" in r.json()["error"]["message"]


def test_openai_client_reads_reasoning_content(ours):
    client = openai.OpenAI(base_url=ours.url + "/v1", api_key="unused", max_retries=0)
    extra = {"grammar": gbnf_literal(FORCED[0])}
    reply = client.chat.completions.create(model="coder", messages=[{"role": "user", "content": "2+2?"}],
                                           temperature=0, max_tokens=64, extra_body=extra)
    message = reply.choices[0].message
    assert message.model_extra["reasoning_content"] == "add two and two\n"
    assert message.content == "It is four."
    reasoning, content = "", ""
    for chunk in client.chat.completions.create(model="coder", messages=[{"role": "user", "content": "2+2?"}],
                                                temperature=0, max_tokens=64, extra_body=extra, stream=True):
        for choice in chunk.choices:
            reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
            content += choice.delta.content or ""
    assert (reasoning, content) == ("add two and two\n", "It is four.")


def test_prompt_opened_block_matches_llama_server(ours_r1, theirs_r1):
    """The R1 template's generation prompt ends in `<think>\\n`: the output starts as reasoning."""
    cases = {"weigh it\n</think>\n\nok": {"reasoning": "\nweigh it\n", "content": "\n\nok"},
             "unclosed reasoning only": {"reasoning": "\nunclosed reasoning only", "content": ""}}
    for text, split in cases.items():
        mine = chat(ours_r1.url, text)
        assert mine == chat(theirs_r1.url, text) == split
        assert chat(ours_r1.url, text, stream=True) == mine


def test_ollama_thinking(ours_r1):
    client = ollama.Client(host=ours_r1.url)
    messages = [{"role": "user", "content": "Name a color."}]
    reply = client.chat(model="coder", messages=messages, options={"temperature": 0, "num_predict": 8})
    assert reply.message.thinking and reply.message.content == ""
    streamed = "".join(part.message.thinking or "" for part in
                       client.chat(model="coder", messages=messages, options={"temperature": 0, "num_predict": 8}, stream=True))
    assert streamed == reply.message.thinking
    plain = client.chat(model="coder", messages=messages, think=False, options={"temperature": 0, "num_predict": 8})
    assert not plain.message.thinking and plain.message.content
    assert client.chat(model="coder", messages=messages, think=True,
                       options={"temperature": 0, "num_predict": 8}).message.thinking == reply.message.thinking


def test_anthropic_thinking_blocks(ours_r1):
    client = anthropic.Anthropic(base_url=ours_r1.url, api_key="unused", max_retries=0)
    args = {"model": "coder", "max_tokens": 8, "messages": [{"role": "user", "content": "Name a color."}],
            "extra_body": {"temperature": 0}}
    reply = client.messages.create(thinking={"type": "enabled", "budget_tokens": 1024}, **args)
    assert [block.type for block in reply.content] == ["thinking", "text"]
    assert reply.content[0].thinking and reply.content[1].text == ""
    with client.messages.stream(thinking={"type": "enabled", "budget_tokens": 1024}, **args) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == reply.content[0].thinking
    plain = client.messages.create(thinking={"type": "disabled"}, **args)
    assert [block.type for block in plain.content] == ["text"] and plain.content[0].text


def test_reasoning_in_history_reaches_the_template(ours, theirs):
    """An earlier answer's reasoning_content goes back to the template as llama-server passes it."""
    call = {"id": "call1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 2}"}}
    messages = [{"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "", "reasoning_content": "Two and two.", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call1", "content": "4"}]
    body = {"messages": messages}
    mine = requests.post(ours.url + "/apply-template", json=body, timeout=60).json()["prompt"]
    assert mine == requests.post(theirs.url + "/apply-template", json=body, timeout=60).json()["prompt"]
    assert "<think>\nTwo and two.\n</think>\n\n<tool_call>" in mine


def test_props_report_the_template_file(ours, theirs):
    assert requests.get(ours.url + "/props", timeout=10).json()["chat_template"] == \
        requests.get(theirs.url + "/props", timeout=10).json()["chat_template"]


def budgeted(url: str, stream: bool = False, **extra) -> dict:
    """(reasoning, content) of a greedy chat the model answers freely (no grammar)."""
    return split_reply(url, {"model": "coder", "messages": [{"role": "user", "content": "Name a color."}],
                             "temperature": 0, "max_tokens": 24, "stream": stream, **extra})


@pytest.mark.parametrize("extra", [
    {"reasoning_budget_tokens": 0},
    {"reasoning_budget_tokens": 4},
    {"thinking_budget_tokens": 6},
    {"reasoning_budget_tokens": 3, "reasoning_budget_message": " Enough thinking."},
    {"reasoning_budget_tokens": -1},   # the server's default: unlimited
])
def test_reasoning_budget_matches_llama_server(ours_budget, theirs_budget, extra):
    """The budget counts from the `<think>` the generation prompt ends with; when it runs out the
    closing tag (after the message) is forced and the model answers: the same reasoning and
    answer as llama-server's, streamed or not."""
    unlimited = budgeted(ours_budget.url)
    mine = budgeted(ours_budget.url, **extra)
    assert mine == budgeted(theirs_budget.url, **extra)
    assert budgeted(ours_budget.url, stream=True, **extra) == mine
    if extra.get("reasoning_budget_tokens", extra.get("thinking_budget_tokens")) == -1:
        assert mine == unlimited
    else:
        assert mine["content"] and len(mine["reasoning"]) < len(unlimited["reasoning"])
        assert mine["reasoning"].endswith(extra.get("reasoning_budget_message", "").strip())


def test_anthropic_thinking_budget_is_held(ours_budget, theirs_budget):
    """Anthropic's thinking.budget_tokens is the budget, as llama-server reads it."""
    body = {"model": "coder", "max_tokens": 24, "temperature": 0,
            "messages": [{"role": "user", "content": "Name a color."}], "thinking": {"type": "enabled", "budget_tokens": 4}}
    mine = requests.post(ours_budget.url + "/v1/messages", json=body, timeout=120).json()
    theirs = requests.post(theirs_budget.url + "/v1/messages", json=body, timeout=120).json()
    assert [b["type"] for b in mine["content"]] == [b["type"] for b in theirs["content"]] == ["thinking", "text"]
    assert [b.get("thinking", b.get("text")) for b in mine["content"]] == \
        [b.get("thinking", b.get("text")) for b in theirs["content"]]
    assert mine["content"][0]["thinking"] == budgeted(ours_budget.url, reasoning_budget_tokens=4)["reasoning"]


def test_bad_reasoning_budgets_are_named(ours_budget):
    for field, value in [("reasoning_budget_tokens", -2), ("reasoning_budget_tokens", "10"),
                         ("thinking_budget_tokens", 1.5), ("reasoning_budget_message", 3)]:
        r = requests.post(ours_budget.url + "/v1/chat/completions", json={
            "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, field: value}, timeout=60)
        assert r.status_code == 400 and field in r.json()["error"]["message"], (field, value, r.text)


def test_reasoning_budget_flag(tmp_path_factory, ours_budget):
    """--reasoning-budget is the default a request may override; a bad value is refused by name."""
    template = template_file(tmp_path_factory, "deepseek-r1-distill-qwen")
    Path(template).write_text(r1_tag_apart(Path(template).read_text()))
    server = Server("--max-workers", "1", "--chat-template-file", template, "--reasoning-budget", "4",
                    "--reasoning-budget-message", " Enough.", model=model_path("qwen2.5-coder-0.5b"), alias="coder")
    try:
        assert budgeted(server.url) == budgeted(ours_budget.url, reasoning_budget_tokens=4, reasoning_budget_message=" Enough.")
        assert budgeted(server.url, reasoning_budget_tokens=0) == budgeted(ours_budget.url, reasoning_budget_tokens=0,
                                                                            reasoning_budget_message=" Enough.")
    finally:
        server.stop()
    bad = subprocess.run([str(BINARY), "serve", "--model-path", model_path("qwen2.5-coder-0.5b"),
                          "--reasoning-budget", "-5"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--reasoning-budget" in bad.stderr


@pytest.mark.parametrize("text", ["<think>plan it</think><response>the answer</response>",
                                  "<response>no thoughts</response>", "plain text"])
def test_granite_response_wrapper_as_llama_server(ours_granite, theirs_granite, text):
    """Granite 3.3's template asks for thoughts in <think></think> and the answer in
    <response></response>. llama.cpp's parser knows the wrapper but does not take it off yet
    (content_mode WRAPPED_WITH_REASONING has no parser of its own: the content is the rest), so
    the reasoning comes apart and the wrapper stays in the content, here as there."""
    mine = chat(ours_granite.url, text)
    assert mine == chat(theirs_granite.url, text)
    assert chat(ours_granite.url, text, stream=True) == mine
    if text.startswith("<think>"):
        assert mine == {"reasoning": "plan it", "content": "<response>the answer</response>"}


def controlled_stream(url: str, end_after: int) -> tuple:
    """A streamed chat with reasoning_control on; after `end_after` reasoning chunks, POST
    /v1/chat/completions/control reasoning_end for it. (control answer, reasoning, content)."""
    body = {"model": "coder", "messages": [{"role": "user", "content": "Name a color."}], "temperature": 0,
            "max_tokens": 64, "stream": True, "reasoning_control": True}
    answer, reasoning, content, chunks = None, "", "", 0
    with requests.post(url + "/v1/chat/completions", json=body, stream=True, timeout=120) as r:
        assert r.status_code == 200, r.text
        for line in (raw.decode("utf-8") for raw in r.iter_lines()):
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            for choice in event.get("choices", []):
                if choice["delta"].get("reasoning_content"):
                    reasoning += choice["delta"]["reasoning_content"]
                    chunks += 1
                content += choice["delta"].get("content") or ""
            if chunks == end_after and answer is None:
                answer = requests.post(url + "/v1/chat/completions/control",
                                       json={"id": event["id"], "action": "reasoning_end"}, timeout=30).json()
    return answer, reasoning, content


def test_control_ends_reasoning_as_llama_server(ours_budget, theirs_budget):
    """reasoning_end on a chat inside its reasoning block (the R1 template opens it): the closing
    tag comes next and the model answers, on both servers; the reasoning before the cut is the
    start of the uncut one (greedy). Where the cut lands depends on when the request arrives."""
    whole = budgeted(ours_budget.url, max_tokens=64)
    assert whole["content"] == ""   # left alone, this model never closes the block
    for url in [ours_budget.url, theirs_budget.url]:
        answer, reasoning, content = controlled_stream(url, end_after=3)
        assert answer == {"success": True}, url
        assert content, url
        assert whole["reasoning"].startswith(reasoning) and len(reasoning) < len(whole["reasoning"]), url
