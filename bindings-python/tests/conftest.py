"""Shared helpers: configs of one TCP check against a loopback port, with the history store in
the test's own temporary directory."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

import pytest


def tcp_config(db: Path, port: int, failure_threshold: int = 1) -> str:
    """One TCP check `svc` of 127.0.0.1:`port`, its history in `db`."""
    return (
        "[monitor]\n"
        f"database = {json.dumps(str(db))}\n\n"
        "[[checks]]\n"
        'name = "svc"\n'
        'type = "tcp"\n'
        f'target = "127.0.0.1:{port}"\n'
        'timeout = "800ms"\n'
        f"failure_threshold = {failure_threshold}\n"
    )


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket listening on a free loopback port, closed at the end."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        yield s
    finally:
        s.close()


# The real peers' fixtures, for every test module.
from peers import postgres, smtp  # noqa: E402,F401
