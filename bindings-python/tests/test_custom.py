"""Probes and sinks written in Python, plain and async, through a built monitor."""

import asyncio
import threading
import time
from pathlib import Path
from typing import List

import pytest

import forewarn
from forewarn import NotificationKind, Observation, Status


def named(results, name):
    [result] = [r for r in results if r.name == name]
    return result


class Queue:
    """A plain probe: its status is whatever the test sets."""

    kind = "print-queue"

    def __init__(self, status: Status = Status.OK) -> None:
        self.status = status
        self.contexts: List[forewarn.CheckContext] = []
        self.threads: List[str] = []

    def target(self) -> str:
        return "printsrv-01"

    def check(self, context: forewarn.CheckContext) -> Observation:
        self.contexts.append(context)
        self.threads.append(threading.current_thread().name)
        return Observation(self.status, f"queue is {self.status}", metrics={"jobs": (3, "")})


class AsyncQueue(Queue):
    """The same, as a coroutine."""

    async def check(self, context: forewarn.CheckContext) -> Observation:  # type: ignore[override]
        await asyncio.sleep(0.01)
        return super().check(context)


def build(tmp_path: Path, probe, **settings):
    return (forewarn.Monitor.builder().database(tmp_path / "h.db")
            .check("queue", probe, **settings).build())


@pytest.mark.parametrize("make", [Queue, AsyncQueue])
def test_a_python_probes_status_flows_through_run_once(tmp_path: Path, make):
    probe = make(Status.OK)
    monitor = build(tmp_path, probe, failure_threshold=1, timeout="3s")
    ok = named(monitor.run_once(), "queue")
    assert (ok.status, ok.summary) == (Status.OK, "queue is ok")
    assert (ok.kind, ok.target) == ("print-queue", "printsrv-01")
    assert ok.metrics["jobs"] == (3.0, "")
    [context] = probe.contexts
    assert context.check == "queue" and context.timeout == 3.0
    assert context.now.tzinfo is not None
    assert probe.threads[0] != threading.main_thread().name

    probe.status = Status.WARNING
    warn = named(monitor.run_once(), "queue")
    assert warn.status is Status.WARNING and warn.incident is not None
    assert monitor.incidents()[0].check == "queue"


def test_async_probes_run_on_the_packages_event_loop(tmp_path: Path):
    probe = AsyncQueue()
    monitor = build(tmp_path, probe)
    monitor.run_once()
    assert probe.threads == ["forewarn-asyncio"]


class Raising:
    def check(self, context):
        return self.deeper()

    def deeper(self):
        raise ValueError("the print server said no")


class AsyncRaising:
    async def check(self, context):
        raise KeyError("spooler")


def test_a_raising_probe_is_unknown_with_its_traceback(tmp_path: Path):
    monitor = (forewarn.Monitor.builder().database(tmp_path / "h.db")
               .check("plain", Raising()).check("async", AsyncRaising()).build())
    results = monitor.run_once()
    plain = named(results, "plain")
    assert plain.status is Status.UNKNOWN
    assert plain.summary.startswith(
        "probe `plain` raised ValueError: the print server said no\n")
    assert "Traceback (most recent call last)" in plain.summary
    assert "in deeper" in plain.summary
    assert plain.kind == "custom"
    asynchronous = named(results, "async")
    assert asynchronous.status is Status.UNKNOWN
    assert "raised KeyError: 'spooler'" in asynchronous.summary
    assert "Traceback" in asynchronous.summary


def test_a_wrong_answer_is_unknown(tmp_path: Path):
    class Wrong:
        def check(self, context):
            return 42

    result = named(build(tmp_path, Wrong()).run_once(), "queue")
    assert result.status is Status.UNKNOWN
    assert result.summary == "probe `queue` returned int, not forewarn.Observation"


def test_an_async_probe_over_its_timeout_is_cancelled(tmp_path: Path):
    cancelled = threading.Event()

    class Slow:
        async def check(self, context):
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return Observation(Status.OK, "never")

    started = time.monotonic()
    result = named(build(tmp_path, Slow(), interval="2s", timeout="1s").run_once(), "queue")
    assert time.monotonic() - started < 10
    assert result.status is Status.CRITICAL
    assert "timed out" in result.summary
    assert cancelled.wait(5)


def test_observations_check_their_values():
    with pytest.raises(ValueError):
        Observation("fine", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Observation(Status.OK, "x", metrics={"jobs": "three"})  # type: ignore[dict-item]
    o = Observation("critical", "x", metrics={"a": 1, "b": (2.5, "s")}, latency=0.25)  # type: ignore[arg-type]
    assert o.status is Status.CRITICAL
    assert o.metrics == {"a": (1.0, ""), "b": (2.5, "s")}


class Recording:
    def __init__(self) -> None:
        self.received: List[forewarn.Notification] = []

    def send(self, notification: forewarn.Notification) -> None:
        self.received.append(notification)


class AsyncRecording(Recording):
    async def send(self, notification: forewarn.Notification) -> None:  # type: ignore[override]
        await asyncio.sleep(0.01)
        super().send(notification)


@pytest.mark.parametrize("make", [Recording, AsyncRecording])
def test_a_python_sink_hears_of_an_opened_incident(tmp_path: Path, make):
    sink = make()
    probe = Queue(Status.CRITICAL)
    monitor = (forewarn.Monitor.builder().database(tmp_path / "h.db")
               .sink("ict", sink)
               .check("queue", probe, failure_threshold=1, location="Building A")
               .build())
    result = named(monitor.run_once(), "queue")
    assert result.status is Status.CRITICAL
    [n] = sink.received
    assert isinstance(n, forewarn.Notification)
    assert (n.kind, n.check, n.status, n.sink) == (
        NotificationKind.OPENED, "queue", Status.CRITICAL, "ict")
    assert n.incident_id == result.incident
    assert n.subject == "[CRITICAL] queue: queue is critical"
    assert n.opened_at.tzinfo is not None and n.at.tzinfo is not None
    assert n.labels["location"] == "Building A"
    [status] = monitor.status().sinks
    assert status["name"] == "ict"
    assert monitor.status().outbox["delivered"] == 1


def test_a_raising_sink_fails_the_delivery_which_waits_for_a_retry(tmp_path: Path):
    class Broken:
        def send(self, notification):
            raise ConnectionError("the pager gateway is down")

    monitor = (forewarn.Monitor.builder().database(tmp_path / "h.db")
               .sink("pager", Broken())
               .check("queue", Queue(Status.CRITICAL), failure_threshold=1)
               .build())
    monitor.run_once()
    status = monitor.status()
    assert status.outbox["delivered"] == 0
    assert status.outbox["pending"] == 1 and status.outbox["retrying"] == 1
    [sink] = status.sinks
    assert sink["name"] == "pager"
    assert sink["health"] != "ok"
    assert "ConnectionError: the pager gateway is down" in sink["error"]
    assert "Traceback" in sink["error"]


def test_python_and_builtin_checks_depend_on_each_other(tmp_path: Path):
    monitor = (forewarn.Monitor.builder().database(tmp_path / "h.db")
               .check("switch", Queue(Status.OK))
               .check("sis", forewarn.probes.Tcp(target="127.0.0.1:1", depends_on=["switch"]))
               .build())
    assert {r.name for r in monitor.run_once()} >= {"switch", "sis"}


def test_protocols_are_runtime_checkable():
    assert isinstance(Queue(), forewarn.Probe)
    assert isinstance(Recording(), forewarn.AlertSink)
    assert not isinstance(object(), forewarn.Probe)


def test_a_policy_picks_which_python_sinks_hear(tmp_path: Path):
    told, not_told = Recording(), Recording()
    monitor = (forewarn.Monitor.builder().database(tmp_path / "h.db")
               .sink("ict", told, rate_limit="5/min")
               .sink("principals", not_told)
               .policy("ict-only", type="notify", sinks=["ict"])
               .default_policy("ict-only")
               .check("queue", Queue(Status.CRITICAL), failure_threshold=1)
               .build())
    monitor.run_once()
    assert [n.sink for n in told.received] == ["ict"]
    assert not_told.received == []
    [incident] = monitor.incidents()
    assert incident.policy == "ict-only"
