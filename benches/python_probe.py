"""Benchmark: probes written in Python, and built-in checks driven from Python.

``benches/python.sh`` builds everything in release mode and runs it; by hand, with the
package installed::

    python benches/python_probe.py [--checks 200] [--seconds 5] [--scheduler-checks 25000]
        [--warmup 5] [--tcp-checks 1000] [--forewarn target/release/forewarn]
        [--example target/release/examples/run_once]

It measures, in one run:

1. **Python probe calls per second**: ``--checks`` checks of a trivial Python probe (plain
   and ``async def``), counted inside the probe, through back-to-back ``run_once()`` calls
   (every check concurrently, the state machine and the history behind each call).
1b. **Capacity through the scheduler**: ``--scheduler-checks`` (25,000) checks of the trivial
   probe at a 1 s interval under ``Monitor.start``/``stop``, an offered load of that many
   calls per second; the calls served per second are counted inside the probe over
   ``--seconds`` after ``--warmup``, with the process's CPU time (``getrusage``, every
   thread) → calls per CPU-second, the capacity of one core. Against the same probe method
   called in a plain Python loop (the Python side's floor) in the same run.
2. **1,000 built-in TCP checks**: ``Monitor.from_config`` and ``run_once()`` from Python over
   ``--tcp-checks`` checks of a loopback listener, against the same through Rust (the
   ``run_once`` example: ``cargo build -p forewarn --example run_once``) on the same config,
   each step and the whole processes, and against ``forewarn check --config`` (the program).
   The ratios are Python / Rust. ``forewarn check`` only probes (no history, no state
   machine), so it does less work than either ``run_once``.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import resource
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


def cpu_seconds() -> float:
    """User and system CPU time of the whole process (every thread) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Rate:
    """Calls counted over a window: per second of wall time and per CPU-second."""

    def __init__(self, calls: int, elapsed: float, cpu: float) -> None:
        self.calls, self.elapsed, self.cpu = calls, elapsed, cpu

    @property
    def per_second(self) -> float:
        return self.calls / self.elapsed

    @property
    def per_cpu_second(self) -> float:
        return self.calls / self.cpu if self.cpu > 0 else float("inf")

    @property
    def cores(self) -> float:
        return self.cpu / self.elapsed

    def __str__(self) -> str:
        return (f"{self.per_second:10,.0f} calls/s, {self.per_cpu_second:10,.0f} calls per "
                f"CPU-second ({self.cpu / max(self.calls, 1) * 1e6:.1f} µs CPU per call, "
                f"{self.cores:.2f} cores busy)")


def measure(probe: Counting, seconds: float) -> Rate:
    """Counts ``probe``'s calls over the next ``seconds``, with the process's CPU time."""
    calls, started, cpu = probe.calls, time.perf_counter(), cpu_seconds()
    time.sleep(seconds)
    return Rate(probe.calls - calls, time.perf_counter() - started, cpu_seconds() - cpu)


def scheduler_capacity(
    probe: Counting, checks: int, warmup: float, seconds: float
) -> Optional[Rate]:
    """``checks`` checks of ``probe`` at a 1 s interval under ``Monitor.start``/``stop``: the
    offered load is ``checks`` calls per second; what is served is counted after ``warmup``."""
    if getattr(forewarn.Monitor, "start", None) is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        monitor = python_probe_monitor(os.path.join(d, "h.db"), probe, checks)
        with monitor:
            time.sleep(warmup)  # the first round, the store's first writes
            return measure(probe, seconds)


def plain_loop(probe: Counting, seconds: float) -> Rate:
    """The same probe method called in a plain Python loop: the Python side's floor."""
    context = forewarn.CheckContext(
        check="py-0", timeout=0.8, now=datetime.datetime.now(datetime.timezone.utc)
    )
    check = probe.check
    calls, started, cpu = 0, time.perf_counter(), cpu_seconds()
    while True:
        for _ in range(1000):
            check(context)
        calls += 1000
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return Rate(calls, elapsed, cpu_seconds() - cpu)


def plain_loop_async(probe: AsyncCounting, seconds: float) -> Rate:
    """The ``async def`` probe awaited in a plain loop on one event loop."""
    context = forewarn.CheckContext(
        check="py-0", timeout=0.8, now=datetime.datetime.now(datetime.timezone.utc)
    )

    async def loop() -> Rate:
        check = probe.check
        calls, started, cpu = 0, time.perf_counter(), cpu_seconds()
        while True:
            for _ in range(1000):
                await check(context)
            calls += 1000
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                return Rate(calls, elapsed, cpu_seconds() - cpu)

    return asyncio.run(loop())


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
    ap.add_argument("--scheduler-checks", type=int, default=25_000,
                    help="checks of the trivial probe at 1 s for the capacity measure")
    ap.add_argument("--scheduler-kinds", default="plain,async",
                    help="which probes to measure through the scheduler (plain,async)")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds the scheduler runs before the count starts")
    ap.add_argument("--forewarn", help="the forewarn program (default: target/{release,debug})")
    ap.add_argument("--example", help="the run_once example (default: target/*/examples)")
    args = ap.parse_args()

    print(f"forewarn {forewarn.version()}, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"\n1. A trivial Python probe, {args.checks} checks, run_once back to back, "
          f"{args.seconds:.0f} s each")
    for label, make in (("plain", Counting), ("async", AsyncCounting)):
        rate = calls_per_second_run_once(make(), args.checks, args.seconds)
        print(f"   {label:5}  run_once back to back: {rate:10,.0f} calls/s")

    print(f"\n1b. Capacity: {args.scheduler_checks:,} checks of the trivial probe at a 1 s "
          f"interval under Monitor.start/stop (offered: {args.scheduler_checks:,} calls/s), "
          f"counted over {args.seconds:.0f} s after {args.warmup:.0f} s; CPU time of the whole "
          f"process")
    loops = {"plain": plain_loop(Counting(), args.seconds),
             "async": plain_loop_async(AsyncCounting(), args.seconds)}
    for label, make in (("plain", Counting), ("async", AsyncCounting)):
        if label not in args.scheduler_kinds.split(","):
            continue
        loop = loops[label]
        print(f"   {label:5}  plain Python loop:  {loop}")
        sched = scheduler_capacity(make(), args.scheduler_checks, args.warmup, args.seconds)
        if sched is None:
            print(f"   {label:5}  scheduler: Monitor.start/stop not in this package")
            continue
        print(f"   {label:5}  through the scheduler: {sched}")
        print(f"   {label:5}  served / offered: {sched.per_second / args.scheduler_checks:.2f}; "
              f"scheduler / plain loop: {sched.per_second / loop.per_second:.3f} per second, "
              f"{sched.per_cpu_second / loop.per_cpu_second:.3f} per CPU-second; "
              f"target 20,000 calls per CPU-second "
              f"{'met' if sched.per_cpu_second >= 20_000 else 'missed'}")

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
