"""Secrets and exposure: keys and prompts stay out of the server's log, the API and admin keys
refuse near misses, and a server other machines can reach without a key says so at startup.
Each test reads the log file the real `swiftlm serve` wrote (stdout and stderr)."""
import requests

from conftest import MODEL_NAME, Server

API_KEY = "sk-test-5f1e9c2d7a"
ADMIN_KEY = "adm-test-8b3c4d"
PROMPT_MARK = "zebra-quartz-secret-prompt"
WARNING = "without --api-key"


def stopped_log(server: Server) -> str:
    server.stop()
    return server.log_path.read_text()


def test_keys_and_prompts_are_not_logged():
    server = Server("--api-key", API_KEY, "--admin-key", ADMIN_KEY)
    try:
        auth = {"Authorization": f"Bearer {API_KEY}"}
        ok = requests.post(server.url + "/v1/chat/completions", headers=auth, timeout=60,
                           json={"model": MODEL_NAME, "max_tokens": 4,
                                 "messages": [{"role": "user", "content": PROMPT_MARK}]})
        assert ok.status_code == 200, ok.text
        completion = requests.post(server.url + "/v1/completions", headers={"x-api-key": API_KEY}, timeout=60,
                                   json={"model": MODEL_NAME, "prompt": PROMPT_MARK, "max_tokens": 2})
        assert completion.status_code == 200, completion.text
        # A refused request (bad field) and a wrong key carry the prompt and a key too.
        bad = requests.post(server.url + "/v1/chat/completions", headers=auth, timeout=30,
                            json={"model": MODEL_NAME, "messages": [{"role": "user", "content": PROMPT_MARK}],
                                  "max_tokens": "many"})
        assert bad.status_code == 400
        wrong = requests.post(server.url + "/v1/completions", timeout=30, headers={"Authorization": f"Bearer {API_KEY}x"},
                              json={"model": MODEL_NAME, "prompt": PROMPT_MARK})
        assert wrong.status_code == 401
        reload = requests.post(server.url + "/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                               json={"model_path": "/no/such/model.gguf"}, timeout=30)
        assert reload.status_code >= 400
    finally:
        log = stopped_log(server)
    # The request lines are there (so the log is the one the requests went to) ...
    assert "openai chat 200" in log and "openai completions 200" in log, log
    # ... and no key or prompt is.
    assert API_KEY not in log and ADMIN_KEY not in log, log
    assert PROMPT_MARK not in log.replace("/no/such/model.gguf", ""), log


def test_keys_refuse_near_misses():
    """Prefixes, extensions and one-character changes of either key are refused (the keys are
    compared whole, in constant time)."""
    server = Server("--api-key", API_KEY, "--admin-key", ADMIN_KEY)
    try:
        for near in [API_KEY[:-1], API_KEY + "0", API_KEY[:-1] + "b", "", ADMIN_KEY]:
            r = requests.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {near}"}, timeout=10)
            assert r.status_code == 401, near
        assert requests.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {API_KEY}"},
                            timeout=10).status_code == 200
        for near in [ADMIN_KEY[:-1], ADMIN_KEY + "0", ADMIN_KEY[:-1] + "e", API_KEY]:
            r = requests.post(server.url + "/admin/reload", headers={"x-api-key": near}, timeout=10)
            assert r.status_code == 401, near
    finally:
        server.stop()


def test_warns_when_reachable_without_a_key():
    exposed = Server("--host", "0.0.0.0")
    log = stopped_log(exposed)
    assert WARNING in log and "0.0.0.0" in log, log


def test_no_warning_on_loopback_or_with_a_key():
    for args in [(), ("--host", "0.0.0.0", "--api-key", API_KEY)]:
        server = Server(*args)
        log = stopped_log(server)
        assert "swiftlm serve:" in log and WARNING not in log, (args, log)
