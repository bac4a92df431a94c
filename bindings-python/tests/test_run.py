"""Running a monitor: in the background and as a context manager, in the foreground until
stopped from another thread, and stopped by Ctrl-C or SIGTERM in a program of its own."""

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import forewarn
from forewarn import Status

from running import closed_port, eventually, fast_config


def svc_checked(monitor: forewarn.Monitor) -> bool:
    [svc] = [c for c in monitor.status().checks if c.name == "svc"]
    return svc.at is not None


def test_context_manager_starts_in_the_background_and_stops(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", port))
    assert not monitor.running
    with monitor as same:
        assert same is monitor
        assert monitor.running
        eventually(lambda: svc_checked(monitor))
        # Other calls work while it runs.
        [svc] = [c for c in monitor.status().checks if c.name == "svc"]
        assert svc.status is Status.OK
    assert not monitor.running
    monitor.stop()  # stopping a stopped monitor does nothing


def test_the_context_manager_stops_on_an_exception(tmp_path: Path):
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    with pytest.raises(RuntimeError, match="boom"):
        with monitor:
            assert monitor.running
            raise RuntimeError("boom")
    assert not monitor.running
    # It can run again.
    with monitor:
        eventually(lambda: svc_checked(monitor))
    assert not monitor.running


def test_a_second_run_is_refused(tmp_path: Path):
    db = tmp_path / "h.db"
    monitor = forewarn.Monitor.from_config(fast_config(db, closed_port()))
    monitor.start()
    try:
        with pytest.raises(forewarn.ConflictError, match="already running"):
            monitor.start()
        with pytest.raises(forewarn.ConflictError, match="already running"):
            monitor.run()
        # Another monitor on the same history is refused by the history's claim.
        other = forewarn.Monitor.from_config(fast_config(db, closed_port()))
        with pytest.raises(forewarn.ConflictError, match="in use by another running forewarn"):
            other.start()
        with pytest.raises(forewarn.ConflictError, match="in use by another running forewarn"):
            other.run()
        assert not other.running
    finally:
        monitor.stop(timeout=10)
    assert not monitor.running


def test_run_until_stopped_from_another_thread(tmp_path: Path):
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    stopper = threading.Timer(1.5, monitor.stop)
    stopper.start()
    started = time.monotonic()
    monitor.run()
    took = time.monotonic() - started
    stopper.join()
    assert 1.0 < took < 10.0
    assert not monitor.running
    # The failing check opened an incident, and its state was written.
    [incident] = monitor.incidents()
    assert incident.check == "svc" and incident.is_active
    [svc] = [c for c in monitor.status().checks if c.name == "svc"]
    assert svc.status is Status.CRITICAL


def test_stop_arguments(tmp_path: Path):
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    with pytest.raises(ValueError, match="timeout"):
        monitor.stop(timeout=-1)
    monitor.start()
    monitor.stop(timeout=10.0)
    assert not monitor.running


PROGRAM = """
import sys
import forewarn

monitor = forewarn.Monitor.from_config(sys.argv[1])
print("running", flush=True)
try:
    monitor.run()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("returned", flush=True)
"""


def run_and_signal(tmp_path: Path, signum: int) -> "tuple[subprocess.CompletedProcess[str], float]":
    """Runs PROGRAM on a failing check, sends it `signum` once the monitor has run a while;
    returns its outcome and how long it took to end after the signal."""
    config = tmp_path / "forewarn.toml"
    config.write_text(fast_config(tmp_path / "h.db", closed_port()))
    child = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running"
        time.sleep(2.0)  # inside run(), the check has run at least once
        child.send_signal(signum)
        sent = time.monotonic()
        out, err = child.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err), took


def written(tmp_path: Path) -> None:
    """The stopped program's history holds the check's state and its incident, and the
    states of all its checks: a graceful stop writes them all, where a sudden end leaves those
    that had not changed (the monitor's own `history-store` check) unwritten."""
    with contextlib.closing(sqlite3.connect(tmp_path / "h.db")) as db:
        [(saved,)] = db.execute("SELECT count(*) FROM check_states").fetchall()
    assert saved == 2
    again = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    [incident] = again.incidents()
    assert incident.check == "svc" and incident.severity is Status.CRITICAL
    # The check's saved state: alerting, with its incident (its latest result shows after
    # its next run).
    [svc] = [c for c in again.status().checks if c.name == "svc"]
    assert svc.alert["state"] == "open" and svc.alert["status"] == "critical"
    assert svc.incident == incident.id


@pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")
def test_ctrl_c_stops_run_gracefully_and_raises_keyboard_interrupt(tmp_path: Path):
    done, took = run_and_signal(tmp_path, signal.SIGINT)
    assert (done.returncode, done.stdout.strip()) == (3, "interrupted"), done.stderr
    assert took < 5.0
    written(tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")
def test_sigterm_stops_run_gracefully_and_it_returns(tmp_path: Path):
    done, took = run_and_signal(tmp_path, signal.SIGTERM)
    assert (done.returncode, done.stdout.strip()) == (0, "returned"), done.stderr
    assert took < 5.0
    written(tmp_path)


WAITING = """
import sys
import forewarn

monitor = forewarn.Monitor.from_config(sys.argv[1])
events = monitor.events()
print("waiting", flush=True)
try:
    events.get()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
"""


@pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")
def test_ctrl_c_interrupts_a_waiting_call(tmp_path: Path):
    config = tmp_path / "forewarn.toml"
    config.write_text(fast_config(tmp_path / "h.db", closed_port()))
    child = subprocess.Popen(
        [sys.executable, "-c", WAITING, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert (child.returncode, out.strip()) == (3, "interrupted"), err


BACKGROUND = """
import sys
import time
import forewarn

monitor = forewarn.Monitor.from_config(sys.argv[1])
monitor.start()
time.sleep(2.0)
print("exiting", flush=True)
"""


def test_a_background_monitor_is_stopped_gracefully_at_exit(tmp_path: Path):
    config = tmp_path / "forewarn.toml"
    config.write_text(fast_config(tmp_path / "h.db", closed_port()))
    done = subprocess.run(
        [sys.executable, "-c", BACKGROUND, str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "exiting"), done.stderr
    written(tmp_path)
