"""How plain Python probes are called: in batches on the library's threads, yet a probe that
blocks does not hold up the others."""

import threading
import time
from pathlib import Path

import forewarn
from forewarn import Observation, Status


class Blocking:
    """A plain probe that blocks (as one waiting on the network would) for `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def check(self, context: forewarn.CheckContext) -> Observation:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self.lock:
            self.in_flight -= 1
        return Observation(Status.OK, "answered", metrics={"slept": (self.seconds, "s")})


def test_blocking_probes_run_side_by_side(tmp_path: Path):
    probe = Blocking(1.0)
    b = forewarn.Monitor.builder().database(tmp_path / "h.db")
    for i in range(4):
        b = b.check(f"slow-{i}", probe, timeout="3s")
    monitor = b.build()
    started = time.monotonic()
    results = [r for r in monitor.run_once() if r.name.startswith("slow-")]
    elapsed = time.monotonic() - started
    # One after the other they would take 4 s, and the last ones would time out after 3 s.
    assert [(r.status, r.summary) for r in results] == [(Status.OK, "answered")] * 4
    assert all(r.metrics["slept"] == (1.0, "s") for r in results)
    assert probe.most_in_flight >= 2, "the blocked calls ran beside each other"
    assert elapsed < 3.0, f"a pass of four 1 s probes took {elapsed:.1f} s"


class Counting:
    """A trivial plain probe."""

    def __init__(self) -> None:
        self.calls = 0

    def check(self, context: forewarn.CheckContext) -> Observation:
        self.calls += 1
        return Observation(Status.OK, "fine")


def test_many_quick_probes_are_each_called_once_per_pass(tmp_path: Path):
    probe = Counting()
    b = forewarn.Monitor.builder().database(tmp_path / "h.db")
    for i in range(2000):
        b = b.check(f"quick-{i}", probe)
    monitor = b.build()
    for passes in (1, 2):
        results = [r for r in monitor.run_once() if r.name.startswith("quick-")]
        assert probe.calls == 2000 * passes
        assert len(results) == 2000
        assert all(r.status is Status.OK for r in results)
