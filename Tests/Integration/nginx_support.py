"""The real nginx, run in the foreground by a test, in front of real `swiftlm serve` replicas.

nginx reads contrib/nginx/swiftlm.conf itself: the shipped file with only the replica addresses,
the listen address and the access log path substituted (`render_shipped_config`). Each nginx
gets its own prefix and temporary directories in a fresh directory and listens on loopback.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT, free_port, stop_process

SHIPPED_CONFIG = ROOT / "contrib" / "nginx" / "swiftlm.conf"
SERVER_LINE = re.compile(r"^(\s*)server\s+(\S+:\d+)((?:\s+[^;\s]+)*);\s*$", re.MULTILINE)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        raise RuntimeError("nginx is not installed: `tools/setup --test` installs it (tools/test runs that)")
    return found


def render_shipped_config(replica_ports: list[int], listen_port: int, access_log: Path) -> str:
    """contrib/nginx/swiftlm.conf for these replicas: its upstream's `server` lines replaced by
    one per replica (with the shipped lines' parameters), `listen` bound to loopback on
    `listen_port`, the access log in `access_log`. Everything else is the shipped text."""
    text = SHIPPED_CONFIG.read_text()
    servers = list(SERVER_LINE.finditer(text))
    assert servers, "no `server host:port …;` lines in the shipped upstream block"
    indent, parameters = servers[0].group(1), servers[0].group(3)
    replacement = "\n".join(f"{indent}server 127.0.0.1:{port}{parameters};" for port in replica_ports)
    text = text[:servers[0].start()] + replacement + text[servers[-1].end():]
    text, n = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\g<1>listen 127.0.0.1:{listen_port};", text, flags=re.MULTILINE)
    assert n == 1, f"expected one `listen` line in the shipped config, found {n}"
    text, n = re.subn(r"^(\s*)access_log\s+\S+\s+swiftlm;", rf"\g<1>access_log {access_log} swiftlm;", text,
                      flags=re.MULTILINE)
    assert n == 1, f"expected one `access_log … swiftlm;` line in the shipped config, found {n}"
    return text


@dataclass
class LogLine:
    """One request in the access log (the shipped `swiftlm` log_format)."""
    status: int
    session: str
    upstreams: list[str]          # addresses tried, in order ("127.0.0.1:port")
    upstream_statuses: list[str]  # their answers ("503", "200", "502" for a refused connection, …)

    @property
    def final_port(self) -> int | None:
        """The replica that gave the answer; None when nginx found none to try."""
        ports = self.ports
        return ports[-1] if ports and len(ports) == len(self.upstreams) else None

    @property
    def ports(self) -> list[int]:
        return [int(u.rsplit(":", 1)[1]) for u in self.upstreams if ":" in u]


LOG_LINE = re.compile(r'" (\d{3}) \d+ session="([^"]*)" upstream="([^"]*)" upstream_status="([^"]*)"')


class Nginx:
    """nginx in the foreground (`daemon off`, the test's child) with the shipped config."""

    def __init__(self, replica_ports: list[int], worker_processes: int = 2, edit=None):
        """`edit`, for control experiments only: a function applied to the rendered text."""
        self.binary = nginx_binary()
        # Not pytest's tmp_path: nginx's workers drop root privileges (to nobody) and must be
        # able to reach their temporary directories, which pytest makes private to the user.
        self.dir = Path(tempfile.mkdtemp(prefix="swiftlm-nginx-"))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = self.dir / "access.log"
        self.error_log = self.dir / "error.log"
        config = render_shipped_config(replica_ports, self.port, self.access_log)
        (self.dir / "swiftlm.conf").write_text(edit(config) if edit else config)
        temp_paths = "\n".join(f"    {name}_temp_path {self.dir / name};"
                               for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.dir / "nginx.conf").write_text(f"""
worker_processes {worker_processes};
error_log {self.error_log} notice;
pid {self.dir / 'nginx.pid'};
events {{ worker_connections 512; }}
http {{
{temp_paths}
    include {self.dir / 'swiftlm.conf'};
}}
""")
        command = [self.binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"), "-e", str(self.error_log)]
        check = subprocess.run(command + ["-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered config:\n{check.stderr}")
        self.process = subprocess.Popen(command + ["-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("nginx did not listen within 10 s")
                time.sleep(0.05)

    def log_lines(self, at_least: int = 0, timeout: float = 5) -> list[LogLine]:
        """The access log; waits (up to `timeout`) for `at_least` lines, since nginx writes a
        request's line just after the client has its answer."""
        deadline = time.time() + timeout
        while True:
            raw_lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            if len(raw_lines) >= at_least or time.time() > deadline:
                break
            time.sleep(0.02)
        lines = []
        for raw in raw_lines:
            m = LOG_LINE.search(raw)
            assert m, f"access log line not in the shipped format: {raw}"
            session = "" if m.group(2) == "-" else m.group(2)  # nginx logs an absent header as "-"
            lines.append(LogLine(int(m.group(1)), session, [u.strip() for u in m.group(3).split(",")],
                                 [s.strip() for s in m.group(4).split(",")]))
        assert len(lines) >= at_least, f"{len(lines)} lines in the access log after {timeout} s, expected {at_least}"
        return lines

    def stop(self):
        stop_process(self.process, signal.SIGTERM, timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
