"""The chat page at /ui, driven in headless Chromium through Selenium: a message streams in, a
long reply is stopped (and the server frees its worker), a second turn, the conversation
survives a reload, model output cannot inject markup, and the page asks for the API key
when the server has one. Screenshots go to .build/test-output/."""

import json
import time
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import COUNTING, ROOT, Server, model_path

OUTPUT = ROOT / ".build" / "test-output"


@pytest.fixture(scope="module")
def page_server():
    s = Server("--max-workers", "1")
    yield s
    s.stop()


def chromium():
    """Debian's Chromium and its WebDriver (tools/setup --test installs both)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.fixture
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def wait_until(condition, timeout=60.0, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout} s")


def open_page(browser, url):
    browser.get(url + "/ui")
    wait_until(lambda: browser.find_element(By.ID, "model-name").text not in ("", "…"))


def send(browser, text):
    box = browser.find_element(By.ID, "prompt")
    box.clear()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


# The page redraws a streaming message on every chunk, so these read the DOM in one script
# call rather than through element handles that a redraw makes stale.
def generating(browser):
    return browser.execute_script("return !document.getElementById('stop').hidden")


def messages(browser):
    return browser.execute_script("return document.querySelectorAll('#messages .message').length")


def last_reply_text(browser):
    return browser.execute_script(
        "const r = document.querySelectorAll('#messages .message.assistant .text');"
        "return r.length ? r[r.length - 1].innerText : ''")


def set_setting(browser, element_id, value):
    browser.find_element(By.CSS_SELECTOR, "#settings summary").click()
    field = browser.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(str(value))
    browser.find_element(By.CSS_SELECTOR, "#settings summary").click()


def screenshot(browser, name):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(OUTPUT / f"{name}.png"))


def test_root_sends_browsers_to_the_page_and_ollama_clients_get_their_line(page_server):
    page = requests.get(page_server.url + "/", headers={"Accept": "text/html,application/xhtml+xml"},
                        allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"] == "/ui"
    plain = requests.get(page_server.url + "/")
    assert plain.status_code == 200 and plain.text == "Ollama is running"
    ui = requests.get(page_server.url + "/ui")
    assert ui.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in ui.headers["Content-Security-Policy"]
    assert "://" not in ui.text   # every asset comes from this server: no CDN
    for asset, kind in (("chat.js", "text/javascript"), ("markdown.js", "text/javascript"), ("chat.css", "text/css")):
        response = requests.get(f"{page_server.url}/ui/{asset}")
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind)


def test_a_reply_streams_a_second_turn_follows_and_a_reload_keeps_the_conversation(page_server, browser):
    open_page(browser, page_server.url)
    assert browser.find_element(By.ID, "model-name").text == "smollm2"
    set_setting(browser, "temperature", 0)
    set_setting(browser, "max-tokens", 120)
    send(browser, "Write a short poem about the sea.")
    # Streaming: the reply is seen growing while the generation is still running.
    lengths = set()
    wait_until(lambda: generating(browser))
    while generating(browser):
        text = last_reply_text(browser)
        if text:
            lengths.add(len(text))
        time.sleep(0.01)
    assert len(lengths) >= 2, f"the reply did not arrive in pieces: lengths seen {sorted(lengths)}"
    first_reply = last_reply_text(browser)
    assert first_reply
    assert "tokens/s" in browser.find_element(By.ID, "speed").text
    assert "context" in browser.find_element(By.ID, "context-use").text

    send(browser, "Now give it a title.")
    wait_until(lambda: messages(browser) == 4 and not generating(browser))
    assert last_reply_text(browser)
    screenshot(browser, "web-ui-two-turns")

    # The same conversation after a reload, listed in the sidebar.
    browser.refresh()
    wait_until(lambda: messages(browser) == 4)
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#conversations .title")]
    assert "Write a short poem about the sea." in titles
    assert browser.execute_script(
        "return document.querySelector('#messages .message.assistant .text').innerText") == first_reply

    # Regenerate the last reply: greedy, so the same text comes back.
    second_reply = last_reply_text(browser)
    browser.find_element(By.CSS_SELECTOR, "#messages .message:last-child [data-action=regenerate]").click()
    wait_until(lambda: not generating(browser) and messages(browser) == 4 and last_reply_text(browser))
    assert last_reply_text(browser) == second_reply

    # Edit the last question: it goes back to the composer and leaves the conversation.
    browser.find_element(By.CSS_SELECTOR, "#messages .message.user:nth-last-child(2) [data-action=edit]").click()
    assert browser.find_element(By.ID, "prompt").get_attribute("value") == "Now give it a title."
    assert messages(browser) == 2

    # Delete it: gone from the list and from storage.
    browser.find_element(By.CSS_SELECTOR, "#conversations li.current .delete").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#conversations li") == []
    assert json.loads(browser.execute_script("return localStorage.getItem('swiftlm.conversations')")) == []


def test_stop_ends_the_generation_on_the_server(page_server, browser):
    open_page(browser, page_server.url)
    set_setting(browser, "temperature", 0)
    set_setting(browser, "max-tokens", 1500)
    send(browser, f"Continue this list up to 1000: {COUNTING}")
    wait_until(lambda: len(last_reply_text(browser)) > 20)
    assert page_server.health()["workers"]["busy"] == 1
    browser.find_element(By.ID, "stop").click()
    wait_until(lambda: not generating(browser), timeout=5)
    note = browser.find_element(By.CSS_SELECTOR, "#messages .message:last-child .note").text
    assert note == "stopped"
    stopped_at = last_reply_text(browser)
    # The server saw the client go and freed its only worker at once.
    wait_until(lambda: page_server.health()["workers"]["busy"] == 0, timeout=5)
    time.sleep(0.5)
    assert last_reply_text(browser) == stopped_at
    screenshot(browser, "web-ui-stopped")


def test_deleting_another_conversation_keeps_the_reply_streaming(page_server, browser):
    old = {"id": "old", "title": "an older chat", "updated": 1,
           "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    browser.get(page_server.url + "/ui")
    browser.execute_script("localStorage.setItem('swiftlm.conversations', arguments[0]);"
                           "localStorage.removeItem('swiftlm.current');", json.dumps([old]))
    open_page(browser, page_server.url)
    set_setting(browser, "temperature", 0)
    set_setting(browser, "max-tokens", 1500)
    send(browser, f"Continue this list up to 1000: {COUNTING}")
    wait_until(lambda: len(last_reply_text(browser)) > 20)
    browser.execute_script("[...document.querySelectorAll('#conversations li')]"
                           ".find(li => li.textContent.includes('an older chat')).querySelector('.delete').click()")
    shown = len(last_reply_text(browser))
    wait_until(lambda: len(last_reply_text(browser)) > shown + 20, timeout=10)   # still drawn as it streams
    browser.find_element(By.ID, "stop").click()
    wait_until(lambda: not generating(browser), timeout=5)
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#conversations .title")]
    assert "an older chat" not in titles and len(titles) == 1


def test_model_output_cannot_inject_markup(page_server, browser):
    hostile = ("<img src=x onerror=\"window.pwned=1\"> <script>window.pwned=2</script>\n"
               "[click](javascript:window.pwned=3) and [docs](https://example.com/a\"onmouseover=\"x)\n"
               "**bold** and `<b>code</b>`\n\n```html\n<iframe src=\"/\"></iframe>\n```\n")
    conversation = {"id": "c1", "title": "hostile", "updated": 1,
                    "messages": [{"role": "user", "content": "<i>hi</i>"}, {"role": "assistant", "content": hostile}]}
    browser.get(page_server.url + "/ui")
    browser.execute_script("localStorage.setItem('swiftlm.conversations', arguments[0]);"
                           "localStorage.setItem('swiftlm.current', '\"c1\"');", json.dumps([conversation]))
    browser.refresh()
    wait_until(lambda: messages(browser) == 2)
    time.sleep(0.2)
    assert browser.execute_script("return window.pwned") is None
    box = browser.find_element(By.ID, "messages")
    for tag in ("img", "script", "iframe", "i", "b"):
        assert box.find_elements(By.TAG_NAME, tag) == [], f"a <{tag}> element came from message text"
    assert [a.get_attribute("href") for a in box.find_elements(By.TAG_NAME, "a")] == [
        "https://example.com/a%22onmouseover=%22x"]
    assert box.find_element(By.TAG_NAME, "strong").text == "bold"
    assert box.find_element(By.CSS_SELECTOR, "pre code").text == '<iframe src="/"></iframe>'
    assert "<img src=x" in box.text and "<i>hi</i>" in box.text


def test_the_page_asks_once_for_the_api_key():
    server = Server("--max-workers", "1", "--api-key", "sesame")
    try:
        assert requests.get(server.url + "/ui").status_code == 200
        assert requests.get(server.url + "/v1/models").status_code == 401
        browser = chromium()
        try:
            browser.get(server.url + "/ui")
            wait_until(lambda: browser.find_element(By.ID, "key-form").is_displayed())
            browser.find_element(By.ID, "api-key").send_keys("sesame", Keys.ENTER)
            wait_until(lambda: browser.find_element(By.ID, "model-name").text == "smollm2")
            send(browser, "Say hello.")
            wait_until(lambda: messages(browser) == 2 and not generating(browser))
            assert last_reply_text(browser)
            assert not browser.find_element(By.ID, "error").is_displayed()
            # Asked once: a reload finds the key in this browser's storage.
            browser.refresh()
            wait_until(lambda: browser.find_element(By.ID, "model-name").text == "smollm2")
            assert not browser.find_element(By.ID, "key-form").is_displayed()
        finally:
            browser.quit()
    finally:
        server.stop()


def test_reasoning_shows_apart_folded_and_stays_out_of_the_history(tmp_path_factory, browser):
    """A thinking model's reasoning (reasoning_content) is shown apart from the answer, folded
    once the answer comes, unfolded by a click; the next turn sends the answer only, as
    llama.cpp's page does. The model: Qwen2.5-Coder with the R1 template whose prompt ends in
    <think> and a reasoning budget that closes it (test_reasoning.py compares that split with
    llama-server); the reference for the page is the server's own non-streamed answer."""
    from test_reasoning import r1_tag_apart, template_file
    template = template_file(tmp_path_factory, "deepseek-r1-distill-qwen")
    Path(template).write_text(r1_tag_apart(Path(template).read_text()))
    server = Server("--max-workers", "1", "--chat-template-file", template, "--reasoning-budget", "4",
                    model=model_path("qwen2.5-coder-0.5b"), alias="coder")
    try:
        expected = requests.post(server.url + "/v1/chat/completions", json={
            "model": "coder", "messages": [{"role": "user", "content": "Say hello."}],
            "temperature": 0, "max_tokens": 24}, timeout=120).json()["choices"][0]["message"]
        assert expected["reasoning_content"].strip() and expected["content"].strip()

        open_page(browser, server.url)
        set_setting(browser, "temperature", 0)
        set_setting(browser, "max-tokens", 24)
        # Record what the page sends, to see the history of the next turn.
        browser.execute_script(
            "window.sent = []; const f = window.fetch;"
            "window.fetch = (url, init) => { if (init?.body) window.sent.push(JSON.parse(init.body)); return f(url, init); };")
        send(browser, "Say hello.")
        wait_until(lambda: messages(browser) == 2 and not generating(browser))
        # As JSON: WebDriver's own conversion of strings turns "\r\n" into "\n".
        shown = json.loads(browser.execute_script(
            "const m = document.querySelector('#messages .message.assistant');"
            "const d = m.querySelector('details.thinking');"
            "return JSON.stringify(d && {open: d.open, summary: d.querySelector('summary').textContent,"
            "  reasoning: d.querySelector('.reasoning').textContent, inText: !!m.querySelector('.text details'),"
            "  stored: JSON.parse(localStorage.getItem('swiftlm.conversations'))[0].messages[1]});"))
        assert shown, "no thinking block on the reply"
        assert shown["reasoning"] == expected["reasoning_content"] and not shown["inText"]
        assert shown["stored"]["content"] == expected["content"]
        assert shown["stored"]["reasoning"] == expected["reasoning_content"]
        assert shown["open"] is False and shown["summary"] == "Thoughts"
        browser.find_element(By.CSS_SELECTOR, "#messages .message.assistant details.thinking summary").click()
        assert browser.execute_script("return document.querySelector('details.thinking').open") is True
        screenshot(browser, "web-ui-reasoning")

        send(browser, "Another one.")
        wait_until(lambda: messages(browser) == 4 and not generating(browser))
        history = json.loads(browser.execute_script("return JSON.stringify(window.sent)"))[-1]["messages"]
        assert history[:2] == [{"role": "user", "content": "Say hello."},
                               {"role": "assistant", "content": expected["content"]}]
        # The first reply's block kept the reader's choice through the second turn's redraws.
        assert browser.execute_script("return document.querySelector('details.thinking').open") is True
    finally:
        server.stop()
