"""A forked child: its parent's monitor refuses clearly instead of hanging, and a monitor the
child builds itself works."""

import os
import time
import traceback
from pathlib import Path

import pytest

import forewarn
from forewarn import Status

from running import closed_port, fast_config

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def in_child(body) -> str:
    """Runs `body()` in a forked child; returns what it wrote (``ok`` or the failure), or
    fails when the child does not end within 20 s."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            body()
            message = "ok"
        except BaseException:
            message = traceback.format_exc()
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 20
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    with os.fdopen(read, "rb") as r:
        return r.read().decode()


def test_a_forked_child_must_build_its_own_monitor(tmp_path: Path):
    parent = forewarn.Monitor.from_config(fast_config(tmp_path / "parent.db", closed_port()))
    events = parent.events()
    assert parent.run_once()
    parent_pid = os.getpid()

    def child() -> None:
        for call in (
            parent.run_once,
            parent.status,
            parent.incidents,
            parent.events,
            parent.start,
            lambda: events.get(timeout=0.1),
        ):
            with pytest.raises(forewarn.ForewarnError) as e:
                call()
            assert f"made in process {parent_pid}" in str(e.value)
            assert "forked child must build its own Monitor" in str(e.value)
        # Its own monitor works, on the child's own runtime.
        own = forewarn.Monitor.from_config(fast_config(tmp_path / "child.db", closed_port()))
        [svc] = [r for r in own.run_once() if r.name == "svc"]
        assert svc.status is Status.CRITICAL
        with own:
            assert own.running
        assert not own.running

    assert in_child(child) == "ok"
    # The parent goes on as before.
    [svc] = [r for r in parent.run_once() if r.name == "svc"]
    assert svc.status is Status.CRITICAL
    # It has its events still (the first run's).
    assert isinstance(events.get(timeout=5), forewarn.IncidentEvent)


def test_a_forked_child_exits_promptly_while_its_parent_runs_a_monitor(tmp_path: Path):
    parent = forewarn.Monitor.from_config(fast_config(tmp_path / "parent.db", closed_port()))
    with parent:

        def child() -> None:
            assert parent.running  # in the parent
            started = time.monotonic()
            # What the interpreter's exit runs: it leaves the parent's monitor alone.
            forewarn._native.stop_all(None)
            assert time.monotonic() - started < 2

        assert in_child(child) == "ok"
        assert parent.running
    assert not parent.running
