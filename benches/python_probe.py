"""Benchmark: probes written in Python, and built-in checks driven from Python.

Run with the installed package (``bash bindings-python/test.sh`` installs it into
``target/py-venv``)::

    target/py-venv/bin/python benches/python_probe.py [--checks 200] [--seconds 5]
        [--tcp-checks 1000] [--forewarn target/release/forewarn]

It measures, in one run:

1. **Python probe calls per second**: ``--checks`` checks of a trivial Python probe (plain
   and ``async def``), counted inside the probe. Through the scheduler (``Monitor.run`` at a
   1 s interval, stopped with ``Monitor.stop``) when the package has them, and through
   back-to-back ``run_once()`` calls (every check concurrently, the state machine and the
   history behind each call) always.
2. **1,000 built-in TCP checks**: ``Monitor.from_config`` and ``run_once()`` from Python over
   ``--tcp-checks`` checks of a loopback listener, against the same through Rust (the
   ``run_once`` example: ``cargo build -p forewarn --example run_once``) on the same config,
   each step and the whole processes, and against ``forewarn check --config`` (the program).
   The ratios are Python / Rust. ``forewarn check`` only probes (no history, no state
   machine), so it does less work than either ``run_once``; Python's ``run_once`` also reads
   each check's latest metrics back from the history to return them.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Optional

import forewarn

ROOT = Path(__file__).resolve().parents[1]


class Counting:
    """A trivial probe: counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def check(self, context: forewarn.CheckContext) -> forewarn.Observation:
        with self.lock:
            self.calls += 1
        return forewarn.Observation(forewarn.Status.OK, "fine")


class AsyncCounting(Counting):
    """The same, as a coroutine."""

    async def check(self, context: forewarn.CheckContext) -> forewarn.Observation:  # type: ignore[override]
        self.calls += 1  # one event loop thread: no lock needed
        return forewarn.Observation(forewarn.Status.OK, "fine")


def python_probe_monitor(db: str, probe: Counting, checks: int) -> forewarn.Monitor:
    b = forewarn.Monitor.builder().database(db)
    for i in range(checks):
        b = b.check(f"py-{i}", probe, interval="1s", timeout="800ms")
    return b.build()


def calls_per_second_run_once(probe: Counting, checks: int, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as d:
        monitor = python_probe_monitor(os.path.join(d, "h.db"), probe, checks)
        monitor.run_once()  # warm: the store, the event loop
        probe.calls = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            monitor.run_once()
        return probe.calls / (time.perf_counter() - started)


def calls_per_second_scheduler(probe: Counting, checks: int, seconds: float) -> Optional[float]:
    run = getattr(forewarn.Monitor, "run", None)
    stop = getattr(forewarn.Monitor, "stop", None)
    if run is None or stop is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        monitor = python_probe_monitor(os.path.join(d, "h.db"), probe, checks)
        thread = threading.Thread(target=monitor.run, daemon=True)  # type: ignore[attr-defined]
        thread.start()
        time.sleep(1.5)  # every check has started once
        before, started = probe.calls, time.perf_counter()
        time.sleep(seconds)
        calls = probe.calls - before
        elapsed = time.perf_counter() - started
        monitor.stop()  # type: ignore[attr-defined]
        thread.join(timeout=30)
        return calls / elapsed


class Listener:
    """A loopback TCP listener that accepts and closes, in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


def tcp_config(db: str, port: int, checks: int) -> str:
    lines = ["[monitor]", f"database = {json.dumps(db)}", ""]
    for i in range(checks):
        lines += [
            "[[checks]]",
            f'name = "tcp-{i}"',
            'type = "tcp"',
            f'target = "127.0.0.1:{port}"',
            'timeout = "5s"',
            "",
        ]
    return "\n".join(lines)


PYTHON_PASS = """
import sys, time, forewarn
started = time.perf_counter()
monitor = forewarn.Monitor.from_config(sys.argv[1])
built = time.perf_counter()
results = monitor.run_once()
done = time.perf_counter()
ok = sum(1 for r in results if r.name.startswith("tcp-") and r.status is forewarn.Status.OK)
print(built - started, done - built, ok)
"""


def timed(cmd: List[str], statuses: "tuple[int, ...]" = (0,)) -> "tuple[float, str]":
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode not in statuses:
        raise RuntimeError(f"{cmd[0]} failed: {out.stderr.strip()}")
    return elapsed, out.stdout


def find_program(given: Optional[str], name: str, on_path: Optional[str]) -> Optional[str]:
    """``given``, else target/{release,debug}/``name``, else ``on_path`` on PATH."""
    if given:
        return given
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        candidate = target / profile / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(on_path) if on_path else None


def best(runs: int, f: Callable[[], Any]) -> Any:
    return min((f() for _ in range(runs)), key=lambda r: r[0] if isinstance(r, tuple) else r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--tcp-checks", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--forewarn", help="the forewarn program (default: target/{release,debug})")
    ap.add_argument("--example", help="the run_once example (default: target/*/examples)")
    args = ap.parse_args()

    print(f"forewarn {forewarn.version()}, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"\n1. A trivial Python probe, {args.checks} checks, {args.seconds:.0f} s each")
    for label, make in (("plain", Counting), ("async", AsyncCounting)):
        rate = calls_per_second_run_once(make(), args.checks, args.seconds)
        print(f"   {label:5}  run_once back to back: {rate:10,.0f} calls/s")
        sched = calls_per_second_scheduler(make(), args.checks, args.seconds)
        if sched is None:
            print(f"   {label:5}  scheduler: Monitor.run/stop not in this package")
        else:
            print(f"   {label:5}  scheduler, 1 s interval: {sched:10,.0f} calls/s "
                  f"(the most is {args.checks} calls/s)")

    print(f"\n2. {args.tcp_checks} built-in TCP checks of a loopback listener, "
          f"best of {args.runs}")
    listener = Listener()
    try:
        with tempfile.TemporaryDirectory() as d:
            config = Path(d, "tcp.toml")
            # The program's one-shot check keeps its store in memory; Python's is a file.
            config.write_text(tcp_config(str(Path(d, "h.db")), listener.port, args.tcp_checks))
            script = Path(d, "pass.py")
            script.write_text(PYTHON_PASS)

            def python_run() -> "tuple[float, float, float]":
                total, out = timed([sys.executable, str(script), str(config)])
                build, one_pass, ok = out.split()
                assert int(ok) == args.tcp_checks, f"only {ok} checks ok"
                return total, float(build), float(one_pass)

            py_total, py_build, py_pass = best(args.runs, python_run)
            print(f"   Python process: {py_total * 1000:8.1f} ms "
                  f"(from_config {py_build * 1000:.1f} ms, run_once {py_pass * 1000:.1f} ms)")
            example = find_program(args.example, "examples/run_once", None)
            if example is None:
                print("   the run_once example not found "
                      "(build it: cargo build -p forewarn --example run_once)")
            else:
                def rust_run() -> "tuple[float, float, float]":
                    total, out = timed([example, str(config)])
                    build, one_pass, ok = out.split()
                    assert int(ok) == args.tcp_checks, f"only {ok} checks ok"
                    return total, float(build), float(one_pass)

                rs_total, rs_build, rs_pass = best(args.runs, rust_run)
                print(f"   Rust process:   {rs_total * 1000:8.1f} ms "
                      f"(from_config {rs_build * 1000:.1f} ms, run_once {rs_pass * 1000:.1f} ms)"
                      f" ({example})")
                print(f"   ratio Python / Rust, run_once alone: {py_pass / rs_pass:.2f}; "
                      f"from_config: {py_build / rs_build:.2f}; "
                      f"whole processes: {py_total / rs_total:.2f}")
            program = find_program(args.forewarn, "forewarn", "forewarn")
            if program is None:
                print("   forewarn program not found (build it: cargo build --release)")
                return
            rust_total, _ = best(
                args.runs, lambda: timed([program, "check", "--config", str(config), "--json"], (0, 1, 2, 3))
            )
            print(f"   forewarn check: {rust_total * 1000:8.1f} ms, probing only ({program})")
            print(f"   ratio Python process / forewarn check: {py_total / rust_total:.2f}")
    finally:
        listener.close()


if __name__ == "__main__":
    main()
