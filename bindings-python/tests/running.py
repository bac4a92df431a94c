"""Helpers of the tests that run monitors: a config whose checks run every second, a free
loopback port nothing listens on, and waiting for a condition."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Callable


def fast_config(db: Path, port: int, failure_threshold: int = 1) -> str:
    """One TCP check `svc` of 127.0.0.1:`port` every second, its history in `db`."""
    return (
        "[monitor]\n"
        f"database = {json.dumps(str(db))}\n\n"
        "[[checks]]\n"
        'name = "svc"\n'
        'type = "tcp"\n'
        f'target = "127.0.0.1:{port}"\n'
        'interval = "1s"\n'
        'timeout = "500ms"\n'
        f"failure_threshold = {failure_threshold}\n"
    )


def closed_port() -> int:
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Waits until `condition()` holds; fails the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)
