"""llama-server's own API as its clients (editor plugins, scripts, front ends) call it with plain
HTTP: /completion, /infill, /props, /slots and /chat/completions/input_tokens."""
import json
import math

import openai
import pytest
import requests

from conftest import MODEL_NAME, Server, model_path, run_cli

PROMPT = "The capital of France is"
TIMING_FIELDS = ["prompt_n", "prompt_ms", "prompt_per_token_ms", "prompt_per_second",
                 "predicted_n", "predicted_ms", "predicted_per_token_ms", "predicted_per_second"]


def complete(server, **body):
    r = requests.post(server.url + "/completion", json=body, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def stream_events(server, path, **body):
    """The `data:` events of a streamed answer, parsed."""
    with requests.post(server.url + path, json={**body, "stream": True}, stream=True, timeout=120) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines(decode_unicode=True) if line]
    assert all(line.startswith("data: ") for line in lines), lines
    assert lines[-1] != "data: [DONE]"   # llama-server ends /completion streams with stop: true, no [DONE]
    return [json.loads(line[6:]) for line in lines]


def test_completion_greedy_equals_cli_with_timings(server):
    reference = run_cli(PROMPT, 12, chat=False)
    out = complete(server, prompt=PROMPT, n_predict=12, temperature=0, return_tokens=True, cache_prompt=True)
    assert out["content"] == reference["text"]
    assert out["tokens"] == reference["tokens"]
    assert out["tokens_predicted"] == len(reference["tokens"])
    assert out["tokens_evaluated"] == len(reference["prompt_tokens"])
    assert out["stop"] is True
    assert out["stop_type"] == ("limit" if reference["finish_reason"] == "length" else "eos")
    assert out["model"] == MODEL_NAME
    timings = out["timings"]
    assert set(TIMING_FIELDS) <= set(timings)
    assert timings["predicted_n"] == out["tokens_predicted"]
    assert timings["prompt_n"] + timings["cache_n"] == out["tokens_evaluated"]
    assert timings["predicted_ms"] > 0
    assert math.isclose(timings["predicted_per_token_ms"], timings["predicted_ms"] / timings["predicted_n"], rel_tol=1e-6)
    assert math.isclose(timings["predicted_per_second"], 1000 * timings["predicted_n"] / timings["predicted_ms"], rel_tol=1e-6)
    if timings["prompt_n"] > 0:
        assert math.isclose(timings["prompt_per_second"], 1000 * timings["prompt_n"] / timings["prompt_ms"], rel_tol=1e-6)
    # The prompt as token ids gives the same answer.
    by_ids = complete(server, prompt=reference["prompt_tokens"], n_predict=12, temperature=0)
    assert by_ids["content"] == reference["text"]


def test_completion_mixed_prompt(server):
    """llama-server's [text, ids…, text] prompt: each text tokenized on its own (the first with
    BOS as the model adds it), ids kept as they are."""
    head = requests.post(server.url + "/tokenize", json={"content": "The capital", "add_special": True}, timeout=10).json()["tokens"]
    middle = requests.post(server.url + "/tokenize", json={"content": " of France"}, timeout=10).json()["tokens"]
    tail = requests.post(server.url + "/tokenize", json={"content": " is"}, timeout=10).json()["tokens"]
    mixed = complete(server, prompt=["The capital", *middle, " is"], n_predict=8, temperature=0)
    by_ids = complete(server, prompt=head + middle + tail, n_predict=8, temperature=0)
    assert mixed["tokens_evaluated"] == len(head + middle + tail)
    assert mixed["content"] == by_ids["content"]


def test_completion_stream_equals_plain(server):
    plain = complete(server, prompt=PROMPT, n_predict=10, temperature=0)
    events = stream_events(server, "/completion", prompt=PROMPT, n_predict=10, temperature=0)
    assert "".join(e["content"] for e in events) == plain["content"]
    assert all(e["stop"] is False for e in events[:-1])
    last = events[-1]
    assert last["stop"] is True and last["content"] == ""
    assert last["tokens_predicted"] == plain["tokens_predicted"]
    assert set(TIMING_FIELDS) <= set(last["timings"])


def test_n_probs(server):
    out = complete(server, prompt=PROMPT, n_predict=4, temperature=0, n_probs=3)
    probs = out["completion_probabilities"]
    assert len(probs) == out["tokens_predicted"]
    for p in probs:
        assert len(p["top_logprobs"]) == 3
        assert p["logprob"] <= 0
        # Greedy picks the most likely token, which heads the alternatives.
        assert p["top_logprobs"][0]["id"] == p["id"]
        assert bytes(p["bytes"]).decode("utf-8", "replace") == p["token"] or p["bytes"]
    assert "".join(p["token"] for p in probs) == out["content"]


def test_stop_word_seed_and_penalties(server):
    out = complete(server, prompt="1, 2, 3, 4,", n_predict=20, temperature=0, stop=[" 7"])
    assert out["stop_type"] == "word" and out["stopping_word"] == " 7"
    assert " 7" not in out["content"]
    sampled = dict(prompt=PROMPT, n_predict=12, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=1234)
    assert complete(server, **sampled)["content"] == complete(server, **sampled)["content"]
    # llama-server's repeat_penalty with repeat_last_n, against the command line's --repeat-penalty.
    reference = run_cli(PROMPT, 16, chat=False, extra=("--repeat-penalty", "1.5", "--repeat-last-n", "16"))
    out = complete(server, prompt=PROMPT, n_predict=16, temperature=0, repeat_penalty=1.5, repeat_last_n=16)
    assert out["content"] == reference["text"]


def test_ignore_eos_runs_to_n_predict(server):
    out = complete(server, prompt="Hi", n_predict=40, temperature=0, ignore_eos=True)
    assert out["tokens_predicted"] == 40 and out["stop_type"] == "limit"


@pytest.mark.parametrize("field,value", [("mirostat", 2), ("typical_p", 0.5), ("dry_multiplier", 0.5),
                                         ("xtc_probability", 0.5), ("id_slot", 1), ("samplers", ["temperature", "top_k"])])
def test_unimplemented_fields_are_refused_by_name(server, field, value):
    r = requests.post(server.url + "/completion", json={"prompt": "x", "n_predict": 1, field: value}, timeout=30)
    assert r.status_code == 400
    assert field in r.json()["error"]["message"]


def test_neutral_values_of_unimplemented_fields_are_accepted(server):
    """What llama.cpp's own front ends send when the user changed nothing."""
    out = complete(server, prompt=PROMPT, n_predict=4, temperature=0, mirostat=0, typical_p=1.0, xtc_probability=0,
                   dry_multiplier=0, dynatemp_range=0, samplers=["penalties", "dry", "top_k", "typ_p", "top_p", "min_p", "xtc",
                                                                 "temperature"], n_keep=0, cache_prompt=False)
    assert out["content"] == complete(server, prompt=PROMPT, n_predict=4, temperature=0)["content"]


def test_props(server):
    props = requests.get(server.url + "/props", timeout=10).json()
    settings = props["default_generation_settings"]
    assert settings["n_ctx"] == 2048
    assert props["total_slots"] == 2
    assert props["model_alias"] == MODEL_NAME
    assert props["model_path"] == model_path()
    assert "<|im_start|>" in props["chat_template"]
    assert props["bos_token"] == "<|im_start|>" or props["bos_token"]
    assert props["endpoint_slots"] is False
    assert settings["params"]["temperature"] == pytest.approx(0.8)


def test_slots_need_the_flag(server):
    r = requests.get(server.url + "/slots", timeout=10)
    assert r.status_code == 501
    assert r.json()["error"]["type"] == "not_supported_error"
    s = Server("--slots", "--max-workers", "3")
    try:
        slots = requests.get(s.url + "/slots", timeout=10).json()
        assert [slot["id"] for slot in slots] == [0, 1, 2]
        assert all(slot["n_ctx"] == 2048 and slot["is_processing"] is False for slot in slots)
        assert all("params" not in slot for slot in slots)   # as llama-server's own tests require
        assert requests.get(s.url + "/props", timeout=10).json()["endpoint_slots"] is True
        assert requests.get(s.url + "/slots?fail_on_no_slot=1", timeout=10).status_code == 200
        # Every slot busy: 503 with fail_on_no_slot, as llama-server.
        streams = [requests.post(s.url + "/completion", json={"prompt": "Hi", "n_predict": 400, "ignore_eos": True, "stream": True},
                                 stream=True, timeout=60) for _ in range(3)]
        try:
            for r in streams:
                next(r.iter_lines())   # each is generating
            r = requests.get(s.url + "/slots?fail_on_no_slot=1", timeout=10)
            assert r.status_code == 503 and r.json()["error"]["type"] == "unavailable_error"
            assert [slot["is_processing"] for slot in requests.get(s.url + "/slots", timeout=10).json()] == [True] * 3
        finally:
            for r in streams:
                r.close()
    finally:
        s.stop()


@pytest.mark.parametrize("path", ["/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"])
def test_chat_input_tokens_match_usage(server, path):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is two plus two?"}]
    reply = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
        model=MODEL_NAME, max_tokens=1, messages=messages)
    r = requests.post(server.url + path, json={"model": MODEL_NAME, "messages": messages}, timeout=10)
    assert r.status_code == 200
    assert r.json() == {"object": "response.input_tokens", "input_tokens": reply.usage.prompt_tokens}


def tokenize(server, text):
    return requests.post(server.url + "/tokenize", json={"content": text, "parse_special": True}, timeout=10).json()["tokens"]


def test_infill_follows_qwen_coders_fim_format(coder):
    """/infill builds Qwen2.5-Coder's documented repository-level FIM prompt (its model card:
    <|repo_name|>, <|file_sep|> per file, then <|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>), laid
    out as llama-server does: the same greedy answer as that prompt written out by hand."""
    prefix = "def add(a, b):\n    "
    suffix = "\n\nprint(add(1, 2))\n"
    extra = [{"filename": "util.py", "text": "def sub(a, b):\n    return a - b\n"}]
    infill = requests.post(coder.url + "/infill", json={"input_prefix": prefix, "input_suffix": suffix, "input_extra": extra,
                                                        "n_predict": 12, "temperature": 0}, timeout=120)
    assert infill.status_code == 200, infill.text
    written = ("<|repo_name|>myproject\n<|file_sep|>util.py\n" + extra[0]["text"] + "<|file_sep|>filename\n"
               + "<|fim_prefix|>" + prefix + "<|fim_suffix|>" + suffix + "<|fim_middle|>")
    by_hand = complete(coder, prompt=written, n_predict=12, temperature=0)
    assert infill.json()["tokens_evaluated"] == len(tokenize(coder, written))
    assert infill.json()["content"] == by_hand["content"]
    assert "return" in infill.json()["content"]


def test_infill_on_a_fim_model_requires_the_suffix(coder):
    r = requests.post(coder.url + "/infill", json={"input_prefix": "def f():"}, timeout=10)
    assert r.status_code == 400 and "input_suffix" in r.json()["error"]["message"]


def test_infill_streams_and_checks_its_fields(coder):
    events = stream_events(coder, "/infill", input_prefix="x = ", input_suffix="\n", n_predict=4, temperature=0)
    assert events[-1]["stop"] is True
    r = requests.post(coder.url + "/infill", json={"input_suffix": "x"}, timeout=10)
    assert r.status_code == 400 and "input_prefix" in r.json()["error"]["message"]
    r = requests.post(coder.url + "/infill", json={"input_prefix": "", "input_suffix": "", "input_extra": [{"filename": "a"}]},
                      timeout=10)
    assert r.status_code == 400 and "input_extra[0].text" in r.json()["error"]["message"]


def test_ollama_generate_suffix_is_fill_in_the_middle(coder):
    """Ollama's /api/generate with `suffix` fills in between prompt and suffix (the same prompt as
    /infill without extra files)."""
    import ollama
    prefix, suffix = "def square(x):\n    ", "\n"
    out = ollama.Client(host=coder.url).generate(model="coder", prompt=prefix, suffix=suffix,
                                                 options={"temperature": 0, "num_predict": 8})
    infill = requests.post(coder.url + "/infill", json={"input_prefix": prefix, "input_suffix": suffix, "n_predict": 8,
                                                        "temperature": 0}, timeout=120).json()
    assert out.response == infill["content"]


def test_infill_without_fim_tokens_is_llama_servers_501(server):
    """SmolLM2's vocabulary has no FIM prefix, suffix or middle marker (each such text is several ordinary
    tokens). llama-server checks the model before the body and answers 501 not_supported_error; Ollama's
    generate with a suffix answers 400."""
    for marker in ["<|fim_prefix|>", "<fim_prefix>", "<fim-prefix>"]:
        assert len(tokenize(server, marker)) > 1
    for body in ({"input_prefix": "a", "input_suffix": "b"}, {"input_prefix": "a"}):
        r = requests.post(server.url + "/infill", json=body, timeout=10)
        assert r.status_code == 501
        error = r.json()["error"]
        assert error["type"] == "not_supported_error" and error["code"] == 501
        assert error["message"].startswith("Infill is not supported by this model") and "fill-in-the-middle" in error["message"]
    import ollama
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=server.url).generate(model=MODEL_NAME, prompt="a", suffix="b")
    assert e.value.status_code == 400


def test_chat_stream_timings(server):
    """llama-server's timings on a chat stream (as its own test_chat_completion_with_timings_per_token
    reads them): on the usage chunk, not on the first."""
    with requests.post(server.url + "/chat/completions", stream=True, timeout=60,
                       json={"max_tokens": 10, "messages": [{"role": "user", "content": "test"}], "stream": True,
                             "stream_options": {"include_usage": True}, "timings_per_token": True}) as r:
        chunks = [json.loads(line[6:]) for line in r.iter_lines(decode_unicode=True)
                  if line.startswith("data: ") and line != "data: [DONE]"]
    assert "timings" not in chunks[0]
    usage = [c for c in chunks if not c["choices"]]
    assert len(usage) == 1
    assert usage[0]["timings"]["predicted_n"] == usage[0]["usage"]["completion_tokens"] <= 10
    assert {"prompt_per_second", "predicted_per_second"} <= set(usage[0]["timings"])
