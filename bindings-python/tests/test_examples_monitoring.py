"""The monitoring examples under examples/python, run as a user runs them: the critical-server
check e-mailing a list (a real SMTP server on loopback, a server that is down, Ctrl-C), and the
custom probe of a district web app (a real HTTP server in each state the probe tells apart)."""

from __future__ import annotations

import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from peers import ROOT, Smtp

EXAMPLES = ROOT / "examples" / "python"


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def test_critical_servers_emails_the_list_and_stops_on_ctrl_c(tmp_path: Path, smtp: Smtp) -> None:
    up = socket.socket()
    up.bind(("127.0.0.1", 0))
    up.listen(64)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "critical_servers.py"),
            "--smtp", f"127.0.0.1:{smtp.port}",
            "--tls", "none",
            "--oncall", "ana@district.example",
            "--oncall", "bo@district.example",
            "--team", "director@district.example",
            "--server", f"Student Information System=127.0.0.1:{closed_port()}",
            "--server", f"Library catalogue=127.0.0.1:{up.getsockname()[1]}",
            "--database", str(tmp_path / "critical.db"),
            "--time-zone", "America/Chicago",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Two failed checks 5 s apart open the incident; the list hears at once.
        (mail,) = smtp.wait_for(1, timeout=30)
        assert "Student Information System" in str(mail["Subject"]), mail["Subject"]
        assert sorted(a.strip() for a in str(mail["To"]).split(",")) == [
            "ana@district.example",
            "bo@district.example",
        ]
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        up.close()
    assert proc.returncode == 0, (out, err)
    assert out.startswith("checking 2 servers every 5 s"), out
    assert "incident #1 opened: Student Information System" in out, out
    # Shown in the district's zone, not UTC.
    assert " CST " in out or " CDT " in out, out
    assert out.rstrip().endswith("stopped"), out
    assert "Library catalogue" not in out
    # The team (after 10 minutes) has not been told.
    assert all("director@" not in str(m["To"]) for m in smtp.messages)


def test_critical_servers_names_a_bad_setting(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "critical_servers.py"),
            "--smtp", "127.0.0.1:25",
            "--oncall", "ana@district.example",
            "--server", "web=127.0.0.1:80",
            "--team", "director@district.example",
            "--team-after", "ten minutes",
            "--database", str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out
    # The policy and the value, as the config would name them.
    assert out.stderr.startswith("<builder>: `policies.oncall`: `ten minutes`: "), out.stderr


class Portal(http.server.BaseHTTPRequestHandler):
    """The district portal: its health as the class attribute says."""

    health: Dict[str, Any] = {"database": "up", "report_queue": 3}
    code = 200

    def do_GET(self) -> None:
        body = json.dumps(self.health).encode()
        self.send_response(self.code if self.path == "/api/health" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def portal() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        Portal.health = {"database": "up", "report_queue": 3}
        Portal.code = 200


def run_portal(url: str, tmp_path: Path, *extra: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_probe.py"), url, "--database",
         str(tmp_path / "portal.db"), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_custom_probe_tells_each_state_of_the_portal(tmp_path: Path, portal: str) -> None:
    out = run_portal(portal, tmp_path)
    assert out.returncode == 0, out
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    assert lines["gradebook"].startswith("ok — gradebook up in "), lines
    assert "report_queue=3" in lines["gradebook"] and "response_time=" in lines["gradebook"]
    assert lines["portal-login"].startswith("ok"), lines

    Portal.health = {"database": "up", "report_queue": 25}
    out = run_portal(portal, tmp_path, "--queue-warning", "20")
    assert out.returncode == 1, out
    assert "gradebook: warning — 25 report cards waiting to be made" in out.stdout

    Portal.health = {"database": "down", "report_queue": 0}
    out = run_portal(portal, tmp_path)
    assert out.returncode == 2, out
    assert "gradebook: critical — the gradebook database is down" in out.stdout

    Portal.code = 503
    out = run_portal(portal, tmp_path)
    assert "gradebook: critical — the portal answers HTTP 503" in out.stdout


def test_custom_probe_of_a_portal_that_is_gone(tmp_path: Path) -> None:
    out = run_portal(f"http://127.0.0.1:{closed_port()}", tmp_path)
    assert out.returncode == 2, out
    assert "gradebook: critical — the portal does not answer: " in out.stdout, out.stdout
    assert "portal-login: critical" in out.stdout
