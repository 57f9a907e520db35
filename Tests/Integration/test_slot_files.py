"""POST /slots/{id}?action=save|restore|erase with --slot-save-path, beside llama-server started
the same way: the same answers (keys, status, error type), file names checked as llama-server
checks them, and a real round trip through swiftlm's prefix cache: what is saved, erased and
restored shows in the next request's cached tokens, and the restored keys and values give the
same greedy text as computing the prompt."""
import os

import pytest
import requests

from conftest import LlamaServer, Server, model_path

# Long enough for several KV blocks of 16 positions.
PROMPT = "The history of the printing press: " + " ".join(f"In year {1400 + i} printers made {i} books." for i in range(30))


@pytest.fixture(scope="module")
def slot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("slots")


@pytest.fixture(scope="module")
def slotted(slot_dir):
    s = Server("--max-workers", "1", "--slots", "--slot-save-path", str(slot_dir))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def llama_slotted(tmp_path_factory):
    s = LlamaServer("--slots", "--slot-save-path", str(tmp_path_factory.mktemp("llama-slots")), context=2048, model=model_path())
    yield s.url
    s.stop()


def action(url, slot, name, body=None):
    return requests.post(f"{url}/slots/{slot}?action={name}", json=body or {}, timeout=60)


def complete(url):
    r = requests.post(url + "/v1/completions", json={"prompt": PROMPT, "max_tokens": 12, "temperature": 0}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def cached(answer):
    return answer["usage"]["prompt_tokens_details"]["cached_tokens"]


def test_save_erase_restore_round_trip(slotted, slot_dir):
    fresh = complete(slotted.url)
    prompt_tokens = fresh["usage"]["prompt_tokens"]
    saved = action(slotted.url, 0, "save", {"filename": "printing.bin"})
    assert saved.status_code == 200, saved.text
    saved = saved.json()
    # The slot's cached prefix: its prompt's whole blocks of 16.
    assert saved["n_saved"] == prompt_tokens // 16 * 16 > 0
    assert saved["n_written"] == os.path.getsize(slot_dir / "printing.bin")
    assert saved["id_slot"] == 0 and saved["filename"] == "printing.bin" and saved["timings"]["save_ms"] >= 0

    erased = action(slotted.url, 0, "erase").json()
    assert erased == {"id_slot": 0, "n_erased": saved["n_saved"]}
    recomputed = complete(slotted.url)
    assert cached(recomputed) == 0                        # erased: computed again
    assert recomputed["choices"][0]["text"] == fresh["choices"][0]["text"]
    assert action(slotted.url, 0, "erase").json()["n_erased"] == saved["n_saved"]   # that run cached it again

    restored = action(slotted.url, 0, "restore", {"filename": "printing.bin"})
    assert restored.status_code == 200, restored.text
    restored = restored.json()
    assert restored["n_restored"] == saved["n_saved"] and restored["n_read"] == saved["n_written"]
    assert restored["timings"]["restore_ms"] >= 0
    again = complete(slotted.url)
    # At most the whole prompt less its last token is reused (that one is computed for its logits).
    assert cached(again) == min(saved["n_saved"], (prompt_tokens - 1) // 16 * 16) > 0
    assert again["timings"]["cache_n"] == cached(again)
    assert again["choices"][0]["text"] == fresh["choices"][0]["text"]   # the restored keys and values are the computed ones


def test_answers_match_llama_server(slotted, llama_slotted):
    for url in [slotted.url, llama_slotted]:
        complete(url)
    ours = {name: action(slotted.url, 0, name, {"filename": "shape.bin"}) for name in ["save", "restore", "erase"]}
    theirs = {name: action(llama_slotted, 0, name, {"filename": "shape.bin"}) for name in ["save", "restore", "erase"]}
    for name in ours:
        assert ours[name].status_code == theirs[name].status_code == 200, (name, ours[name].text, theirs[name].text)
        assert set(ours[name].json()) == set(theirs[name].json()), name
        if "timings" in theirs[name].json():
            assert set(ours[name].json()["timings"]) == set(theirs[name].json()["timings"])


def test_slots_after_restore_and_erase_match_llama_server(slotted, llama_slotted):
    """GET /slots after each action, on both servers: the slot's cache holds what was restored
    (n_prompt_tokens is n_restored), nothing once erased, and the entry keeps the last request's
    task and settings, as llama-server's does; the next request replaces it."""
    def slot(url):
        entries = requests.get(url + "/slots", timeout=10).json()
        assert len(entries) == 1
        return entries[0]

    def comparable(entry):
        return {key: value for key, value in entry.items() if key not in ("id_task", "params", "n_ctx", "next_token")}

    seen = {}
    for url in (slotted.url, llama_slotted):
        answer = complete(url)
        tokens = answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"] - 1
        assert action(url, 0, "save", {"filename": "listed.bin"}).status_code == 200
        before = slot(url)
        assert before["n_prompt_tokens"] == tokens
        assert action(url, 0, "erase").status_code == 200
        erased = slot(url)
        restored = action(url, 0, "restore", {"filename": "listed.bin"}).json()
        after = slot(url)
        assert erased["n_prompt_tokens"] == 0 and after["n_prompt_tokens"] == restored["n_restored"] > 0, (url, after)
        assert erased["id_task"] == after["id_task"] == before["id_task"] and after["params"] == before["params"]
        assert not after["is_processing"]
        complete(url)
        assert slot(url)["n_prompt_tokens"] == tokens   # the next request's cache replaces the restored one
        seen[url] = [comparable(e) | {"n_prompt_tokens": e["n_prompt_tokens"] > 0} for e in (erased, after)]
        seen[url].append({k: v for k, v in after["next_token"][0].items() if k != "has_new_line"})
    assert seen[slotted.url] == seen[llama_slotted]


@pytest.mark.parametrize("slot,name,body", [
    (0, "save", {"filename": "../escape.bin"}), (0, "save", {"filename": "sub/dir.bin"}), (0, "restore", {"filename": ".."}),
    (0, "save", {"filename": "trailing."}), (0, "save", {"filename": "a:b"}), ("x", "save", {"filename": "ok.bin"}),
    (0, "frobnicate", {"filename": "ok.bin"}),
])
def test_bad_names_slots_and_actions_are_refused_as_llama_server(slotted, llama_slotted, slot_dir, slot, name, body):
    ours, theirs = action(slotted.url, slot, name, body), action(llama_slotted, slot, name, body)
    assert ours.status_code == theirs.status_code == 400, (ours.text, theirs.text)
    assert ours.json()["error"]["type"] == theirs.json()["error"]["type"] == "invalid_request_error"
    assert ours.json()["error"]["message"] == theirs.json()["error"]["message"]
    assert not (slot_dir.parent / "escape.bin").exists()


def test_slot_out_of_range_is_refused(slotted):
    r = action(slotted.url, 7, "erase")
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid slot ID"


@pytest.mark.parametrize("content", [b"", b"not a slot file at all", b"SWIFTLM-SLOT\x01\x00\x00\x00\xff\xff\x00\x00{"])
def test_corrupt_files_are_a_clear_400(slotted, slot_dir, content):
    (slot_dir / "corrupt.bin").write_bytes(content)
    r = action(slotted.url, 0, "restore", {"filename": "corrupt.bin"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith("Unable to restore slot: ")
    assert slotted.health()["status"] == "ok"


def test_truncated_file_and_missing_file(slotted, slot_dir):
    complete(slotted.url)
    assert action(slotted.url, 0, "save", {"filename": "whole.bin"}).status_code == 200
    data = (slot_dir / "whole.bin").read_bytes()
    (slot_dir / "cut.bin").write_bytes(data[: len(data) - 100])
    r = action(slotted.url, 0, "restore", {"filename": "cut.bin"})
    assert r.status_code == 400 and "bytes" in r.json()["error"]["message"]
    r = action(slotted.url, 0, "restore", {"filename": "never-saved.bin"})
    assert r.status_code == 400 and "never-saved.bin" in r.json()["error"]["message"]


def test_another_models_file_is_refused(slotted, slot_dir):
    other = Server("--max-workers", "1", "--slot-save-path", str(slot_dir), model=model_path("qwen2.5-coder-0.5b"), alias="coder")
    try:
        requests.post(other.url + "/v1/completions", json={"prompt": PROMPT, "max_tokens": 1}, timeout=60)
        assert action(other.url, 0, "save", {"filename": "coder.bin"}).json()["n_saved"] > 0
    finally:
        other.stop()
    r = action(slotted.url, 0, "restore", {"filename": "coder.bin"})
    assert r.status_code == 400, r.text
    assert "another model" in r.json()["error"]["message"] and "qwen2.5-coder" in r.json()["error"]["message"]


def test_without_the_flag_slot_actions_are_llama_servers_501(server):
    r = action(server.url, 0, "save", {"filename": "x.bin"})
    assert r.status_code == 501
    assert r.json()["error"]["type"] == "not_supported_error" and "--slot-save-path" in r.json()["error"]["message"]
