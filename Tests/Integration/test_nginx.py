"""contrib/nginx/swiftlm.conf with the real nginx in front of three real `swiftlm serve` replicas.

nginx runs the shipped file (see nginx_support.render_shipped_config); which replica served a
request is read from nginx's own access log (the shipped `swiftlm` log_format names every
replica tried and its answer). Clients are the official openai and ollama packages, with their
own retries off, so every retry seen is nginx's.
"""
import re
import signal
import subprocess
import threading
import time

import ollama
import openai
import pytest
import requests

from conftest import BINARY, COUNTING, MODEL_NAME, HeldStream, Server
from nginx_support import SHIPPED_CONFIG, Nginx

THREADS = 6
REQUESTS_PER_THREAD = 10      # 60 non-streaming requests in all
STREAM_AFTER = 3              # each thread's stream comes after its third request
KILL_AFTER = 20               # a third of the way through


def start_replicas(count: int, *args: str) -> list[Server]:
    """`count` replicas loading in parallel, one thread each (2 cores are shared by all)."""
    replicas = [Server("--threads", "1", *args, wait=False) for _ in range(count)]
    for r in replicas:
        r.wait_healthy(60)
    return replicas


def openai_client(url: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=120,
                         default_headers=headers or None)


def session_homes(proxy: Nginx, candidates: list[str]) -> dict[str, int]:
    """The replica port each session id lands on (one tiny request each)."""
    client = openai_client(proxy.url)
    for session in candidates:
        client.chat.completions.create(model=MODEL_NAME, max_tokens=1, messages=[{"role": "user", "content": "Hi"}],
                                       extra_headers={"X-Session-Id": session})
    homes = {}
    for line in proxy.log_lines(at_least=len(candidates)):
        if line.session in candidates:
            assert line.status == 200 and len(line.upstreams) == 1, line
            homes[line.session] = line.final_port
    return homes


def conversation_cached_tokens(proxy: Nginx, session: str | None) -> list[int]:
    """Three turns sharing a long system prompt, one after the other: the prompt tokens each
    turn found in the prefix cache of the replica that served it."""
    system = f"This is conversation {session}. " + " ".join(f"Rule {i}: answer briefly." for i in range(40))
    headers = {"X-Session-Id": session} if session else {}
    cached = []
    for turn in range(3):
        reply = openai_client(proxy.url).chat.completions.create(
            model=MODEL_NAME, max_tokens=2, temperature=0, extra_headers=headers,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": f"Question {turn}?"}])
        assert reply.usage.prompt_tokens > 250, reply.usage
        cached.append(reply.usage.prompt_tokens_details.cached_tokens)
    return cached


class StreamRecord:
    def __init__(self, kind: str, session: str):
        self.kind, self.session = kind, session
        self.sent = 0.0
        self.arrivals: list[float] = []
        self.completed = False
        self.error: Exception | None = None


def run_stream(url: str, record: StreamRecord):
    """One long stream through nginx (SSE from the openai client, NDJSON from the ollama client),
    noting when each event with text arrives."""
    headers = {"X-Session-Id": record.session} if record.session else {}
    record.sent = time.time()
    try:
        if record.kind == "sse":
            stream = openai_client(url, **headers).completions.create(
                model=MODEL_NAME, prompt=COUNTING, max_tokens=160, temperature=0, stream=True)
            for chunk in stream:
                if chunk.choices and chunk.choices[0].text:
                    record.arrivals.append(time.time())
                if chunk.choices and chunk.choices[0].finish_reason:
                    record.completed = True
        else:
            client = ollama.Client(host=url, headers=headers, timeout=120)
            for part in client.generate(model=MODEL_NAME, prompt=COUNTING, raw=True, stream=True,
                                        options={"num_predict": 160, "temperature": 0}):
                if part.response:
                    record.arrivals.append(time.time())
                if part.done:
                    record.completed = True
    except Exception as e:  # a stream on the replica that gets killed is cut: noted, judged later
        record.error = e


def assert_unbuffered(record: StreamRecord):
    """Events came one by one as they were generated, not in bursts held back by a buffer: the
    first arrived well before the last, and most arrived apart from the one before."""
    assert len(record.arrivals) >= 60, (record.kind, len(record.arrivals))
    first, last = record.arrivals[0] - record.sent, record.arrivals[-1] - record.sent
    assert first < 0.5 * last, f"{record.kind} stream: first event after {first:.2f} s, last after {last:.2f} s"
    gaps = [b - a for a, b in zip(record.arrivals, record.arrivals[1:])]
    apart = sum(g > 0.002 for g in gaps) / len(gaps)
    assert apart > 0.5, f"{record.kind} stream: only {apart:.0%} of events arrived apart (bursts: buffered)"


def test_replica_killed_under_load_loses_no_request_and_sessions_stay_put():
    replicas = start_replicas(3)
    proxy = Nginx([r.port for r in replicas])
    try:
        ports = [r.port for r in replicas]
        # Session ids for the conversations and for the streams, spread over the replicas (where
        # an id lands depends on the replicas' addresses, which are free ports, so ask nginx).
        homes = session_homes(proxy, [f"conversation-{i}" for i in range(24)])
        by_port = {p: [s for s, h in homes.items() if h == p] for p in ports}
        assert sum(1 for p in ports if by_port[p]) >= 2, f"24 session ids all hashed to one replica: {homes}"

        def spread(count: int) -> list[str]:
            chosen = []
            while len(chosen) < count:
                for p in ports:
                    if by_port[p] and len(chosen) < count:
                        chosen.append(by_port[p].pop())
            return chosen
        sessions, stream_sessions = spread(THREADS), spread(THREADS)
        # Why the affinity: a conversation that keeps its session header finds its prompt in
        # its replica's prefix cache turn after turn; without the header the next turn goes
        # round-robin to a replica that has never seen it.
        with_session = conversation_cached_tokens(proxy, "prefix-check")
        assert min(with_session[1:]) >= 200, with_session
        without = conversation_cached_tokens(proxy, None)
        assert min(without[1:]) < 40, without
        # The replica to kill: one that is home to conversations, and to the fewest streams but
        # one (most streams run on survivors and get judged; one may be cut by the kill).
        streams_on = {p: sum(homes[s] == p for s in stream_sessions) for p in ports}
        victim_port = min({homes[s] for s in sessions}, key=lambda p: (streams_on[p] == 0, streams_on[p]))
        victim = replicas[ports.index(victim_port)]
        survivors = [p for p in ports if p != victim_port]
        log_start = len(proxy.log_lines())

        done = 0
        lock = threading.Lock()
        failures: list[str] = []
        streams = [StreamRecord("sse" if i % 3 else "ndjson", stream_sessions[i]) for i in range(THREADS)]

        def worker(i: int):
            nonlocal done
            client = openai_client(proxy.url)
            for k in range(REQUESTS_PER_THREAD):
                if k == STREAM_AFTER:
                    run_stream(proxy.url, streams[i])
                # Even requests carry the thread's session (affinity); odd ones none (round-robin).
                headers = {"X-Session-Id": sessions[i]} if k % 2 == 0 else {}
                try:
                    reply = client.chat.completions.create(
                        model=MODEL_NAME, max_tokens=12, temperature=0, extra_headers=headers,
                        messages=[{"role": "user", "content": f"Name a colour, request {i}-{k}."}])
                    assert reply.choices[0].finish_reason in ("stop", "length"), reply
                    assert reply.choices[0].message.content, reply
                except Exception as e:
                    with lock:
                        failures.append(f"request {i}-{k}: {e!r}")
                with lock:
                    done += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        start = time.time()
        for t in threads:
            t.start()
        while True:
            with lock:
                if done >= KILL_AFTER:
                    break
            time.sleep(0.005)
        victim.process.send_signal(signal.SIGKILL)
        with lock:
            done_at_kill = done
        log_at_kill = len(proxy.log_lines())
        for t in threads:
            t.join(timeout=180)
        elapsed = time.time() - start

        # 1. No non-streaming request failed, and the kill came early enough to matter.
        assert not failures, failures
        assert done == THREADS * REQUESTS_PER_THREAD
        assert done - done_at_kill >= 30, f"the kill came after {done_at_kill} of {done} requests"
        lines = proxy.log_lines(at_least=log_start + THREADS * (REQUESTS_PER_THREAD + 1))
        load = lines[log_start:]
        before, after = lines[log_start:log_at_kill], lines[log_at_kill:]
        chat = [l for l in load if l.session not in stream_sessions]
        assert len(chat) == THREADS * REQUESTS_PER_THREAD and all(l.status == 200 for l in chat), \
            [l for l in chat if l.status != 200]
        # …because nginx retried on another replica what the dead one refused or dropped.
        retried = [l for l in after if victim_port in l.ports and l.final_port != victim_port]
        assert retried, "no request was retried after the kill: the failover was not exercised"

        # 2. Sessions: each lands on one replica while it lives; each of the killed replica's
        #    then lands on one other (the next on the hash ring for its key).
        for session in sessions:
            served = [l.final_port for l in chat if l.session == session]
            assert len(served) == REQUESTS_PER_THREAD // 2
            home = homes[session]
            early = [l.final_port for l in before if l.session == session]
            assert set(early) <= {home}, (session, home, early)
            if home != victim_port:
                assert set(served) == {home}, (session, home, served)
            else:
                moved = {p for p in served if p != home}
                assert len(moved) <= 1 and victim_port not in moved, (session, home, served)
                assert moved, f"{session}: none of its requests after the kill reached another replica"

        # 3. Requests without a session are spread round-robin: all replicas served some
        #    before the kill, both survivors after it.
        plain_before = [l.final_port for l in before if l.session == ""]
        plain_after = [l.final_port for l in after if l.session == ""]
        assert set(plain_before) == set(ports), (plain_before, ports)
        assert set(survivors) <= set(plain_after), (plain_after, survivors)

        # 4. Streams: every stream on a surviving replica completed, unbuffered.
        judged = 0
        for record in streams:
            line = next(l for l in load if l.session == record.session)
            if line.final_port == victim_port and not record.completed:
                continue  # cut by the kill, as nginx must (it had sent part of the answer)
            assert record.completed and record.error is None, (record.session, record.error, line)
            assert_unbuffered(record)
            judged += 1
        assert judged >= 3, f"only {judged} streams judged"
        print(f"60 requests in {elapsed:.1f} s; kill after {done_at_kill}; {len(retried)} retried; "
              f"{judged} streams judged; cached prompt tokens by turn: {with_session} with a session, "
              f"{without} without")
    finally:
        proxy.stop()
        for r in replicas:
            r.stop()


def busy_ports(replicas: list[Server]) -> set[int]:
    return {r.port for r in replicas if r.health()["workers"]["busy"] > 0}


def wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def serve_help_default(flag: str) -> str:
    """The default `swiftlm serve --help` states for a flag."""
    text = subprocess.run([str(BINARY), "serve", "--help"], check=True, capture_output=True, text=True).stdout
    m = re.search(rf"--{flag}\b[^\n]*(?:\n(?!\s*-)[^\n]*)*?\(default: ([^)]+)\)", text)
    assert m, f"--{flag} has no stated default in `swiftlm serve --help`:\n{text}"
    return m.group(1)


def nginx_size(value: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert m, value
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]


def test_full_replicas_spill_over_and_bodies_pass_up_to_the_server_limit():
    """Replicas of one worker and no queue: a second request for the same session gets the busy
    replica's 503 and nginx serves it from another; with every replica busy the client gets a
    503 with Retry-After, never a 502; bodies up to --max-body-bytes reach the server."""
    replicas = start_replicas(3, "--max-workers", "1", "--queue-size", "0")
    proxy = Nginx([r.port for r in replicas])
    held: list[HeldStream] = []
    try:
        # Request bodies: nginx takes exactly what the server takes (its default limit).
        limit = int(serve_help_default("max-body-bytes"))
        shipped = re.search(r"^\s*client_max_body_size\s+(\S+);", SHIPPED_CONFIG.read_text(), re.MULTILINE)
        assert shipped and nginx_size(shipped.group(1)) == limit, (shipped, limit)
        prefix = b'{"model": "smollm2", "messages": "'
        at_limit = requests.post(proxy.url + "/v1/chat/completions", data=prefix + b"a" * (limit - len(prefix)),
                                 headers={"Content-Type": "application/json"}, timeout=60)
        assert at_limit.status_code == 400, at_limit.text[:300]  # the server's own answer: not valid JSON
        assert "JSON" in at_limit.json()["error"]["message"]
        over = requests.post(proxy.url + "/v1/chat/completions", data=prefix + b"a" * (limit + 1 - len(prefix)),
                             headers={"Content-Type": "application/json"}, timeout=60)
        assert over.status_code == 413

        # The server marks its streams for nginx (nginx consumes the header, so ask a replica).
        direct = requests.post(replicas[0].url + "/v1/chat/completions", stream=True, timeout=60,
                               json={"model": MODEL_NAME, "max_tokens": 2, "stream": True,
                                     "messages": [{"role": "user", "content": "Hi"}]})
        assert direct.headers["X-Accel-Buffering"] == "no"
        direct.close()
        wait_for(lambda: not busy_ports(replicas), 10, "replicas idle")
        ndjson = requests.post(replicas[0].url + "/api/generate", stream=True, timeout=60,
                               json={"model": MODEL_NAME, "prompt": "Hi", "options": {"num_predict": 2}})
        assert ndjson.headers["X-Accel-Buffering"] == "no"
        ndjson.close()
        wait_for(lambda: not busy_ports(replicas), 10, "replicas idle")

        # A session's replica is busy: its own 503 (asked directly)...
        held.append(HeldStream(proxy.url, headers={"X-Session-Id": "spill"}))
        wait_for(lambda: len(busy_ports(replicas)) == 1, 10, "one replica busy")
        (home,) = busy_ports(replicas)
        refused = requests.post(f"http://127.0.0.1:{home}/v1/chat/completions", timeout=10,
                                json={"model": MODEL_NAME, "messages": [{"role": "user", "content": "Hi"}]})
        assert refused.status_code == 503
        # ...spills over: through nginx the same session is served by another replica.
        lines_before = len(proxy.log_lines())
        reply = openai_client(proxy.url).chat.completions.create(
            model=MODEL_NAME, max_tokens=4, messages=[{"role": "user", "content": "Hi"}],
            extra_headers={"X-Session-Id": "spill"})
        assert reply.choices[0].message.content
        line = proxy.log_lines(at_least=lines_before + 1)[lines_before]
        assert line.session == "spill" and line.status == 200, line
        assert line.ports[0] == home and line.upstream_statuses[0] == "503", line
        assert line.final_port != home and line.upstream_statuses[-1] == "200", line

        # Every replica busy: the client gets 503 and Retry-After, first a replica's own (all
        # tried), then nginx's once it has set them all aside; never a 502.
        held.append(HeldStream(proxy.url))
        held.append(HeldStream(proxy.url))
        wait_for(lambda: len(busy_ports(replicas)) == 3, 10, "three replicas busy")
        lines_before = len(proxy.log_lines())
        for _ in range(6):
            r = requests.post(proxy.url + "/v1/chat/completions", timeout=10,
                              json={"model": MODEL_NAME, "messages": [{"role": "user", "content": "Hi"}]})
            assert r.status_code == 503, (r.status_code, r.text)
            assert int(r.headers["Retry-After"]) >= 1
            assert r.json()["error"]["message"]
        lines = proxy.log_lines(at_least=lines_before + 6)[lines_before:]
        for l in lines:
            assert l.status == 503 and len(l.upstreams) <= 3, l  # proxy_next_upstream_tries 3
            assert all(s == "503" for s, u in zip(l.upstream_statuses, l.upstreams) if ":" in u), l
        assert any(l.final_port is not None for l in lines), lines  # a replica's own 503
        assert any(l.final_port is None for l in lines), lines  # nginx's own 503: all set aside

        # Freed, they serve again once nginx gives them another chance (fail_timeout).
        for h in held:
            h.close()
        held.clear()
        wait_for(lambda: not busy_ports(replicas), 10, "replicas idle")
        client = openai_client(proxy.url)

        def served() -> bool:
            try:
                client.chat.completions.create(model=MODEL_NAME, max_tokens=2,
                                               messages=[{"role": "user", "content": "Hi"}])
                return True
            except openai.InternalServerError:
                time.sleep(0.25)
                return False
        wait_for(served, 15, "a request served after the replicas were freed")
    finally:
        for h in held:
            h.close()
        proxy.stop()
        for r in replicas:
            r.stop()


def test_server_header_alone_keeps_streams_flowing_through_a_buffering_compressing_nginx():
    """The server's `X-Accel-Buffering: no` keeps streams flowing through an nginx that buffers
    and compresses them (proxy_buffering on, gzip on for event streams: nginx then flushes each
    chunk through the compressor). Control: the same nginx told to ignore that header holds the
    whole stream back until it ends, and the unbuffered check fails."""
    (replica,) = start_replicas(1)

    def buffering(text: str) -> str:
        assert "proxy_buffering off;" in text and "gzip off;" in text
        return text.replace("proxy_buffering off;", "proxy_buffering on;").replace(
            "gzip off;", "gzip on; gzip_types text/event-stream application/x-ndjson;")

    def ignoring(text: str) -> str:
        return buffering(text).replace("proxy_buffering on;",
                                       "proxy_buffering on;\n        proxy_ignore_headers X-Accel-Buffering;")
    try:
        for edit, should_flow in ((buffering, True), (ignoring, False)):
            proxy = Nginx([replica.port], edit=edit)
            try:
                record = StreamRecord("sse", "")
                run_stream(proxy.url, record)
                assert record.completed, record.error
                if should_flow:
                    assert_unbuffered(record)
                else:
                    with pytest.raises(AssertionError):
                        assert_unbuffered(record)
            finally:
                proxy.stop()
    finally:
        replica.stop()
