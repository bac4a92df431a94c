"""Events of a monitor: read with `for` (sync) and `async for`, an incident opening when a
loopback listener goes down, timeouts, closing, and a subscriber that falls behind."""

import asyncio
import gc
import json
import socket
import threading
import time
from pathlib import Path
from typing import List

import pytest

import forewarn
from forewarn import (
    IncidentEvent,
    IncidentEventKind,
    Status,
    TransitionEvent,
    TransitionKind,
)

from running import closed_port, fast_config


def test_an_incident_event_arrives_when_the_listener_goes_down(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", port))
    seen: List[forewarn.Event] = []
    with monitor, monitor.events(timeout=15) as events:
        time.sleep(1.2)  # it is up for a first run
        listener.close()
        # The incident opens, then the transition that opened it is told.
        for event in events:
            seen.append(event)
            if isinstance(event, TransitionEvent) and event.check == "svc":
                break
    assert all(isinstance(e, forewarn.Event) for e in seen)
    opened = seen[-1]
    assert isinstance(opened, TransitionEvent)
    assert opened.kind is TransitionKind.OPENED
    assert opened.status is Status.CRITICAL
    assert opened.at.tzinfo is not None
    assert opened.missed == 0
    [incident_event] = [e for e in seen if isinstance(e, IncidentEvent)]
    assert incident_event.kind is IncidentEventKind.OPENED
    assert incident_event.incident.check == "svc"
    assert incident_event.incident.is_active
    assert monitor.incidents() == [incident_event.incident]


def test_async_for_gets_the_incident_event(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    config = fast_config(tmp_path / "h.db", port)

    async def main() -> IncidentEvent:
        monitor = await forewarn.Monitor.from_config_async(config)
        async with monitor:
            await asyncio.sleep(1.2)
            listener.close()
            async for event in monitor.events(timeout=15):
                if isinstance(event, IncidentEvent):
                    assert monitor.running
                    return event
        raise AssertionError("the events ended")

    event = asyncio.run(main())
    assert event.kind is IncidentEventKind.OPENED
    assert event.incident.check == "svc"


def test_run_once_tells_its_transitions(tmp_path: Path):
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    events = monitor.events()
    monitor.run_once()
    first = events.get(timeout=5)
    second = events.get(timeout=5)
    assert isinstance(first, IncidentEvent) and first.kind is IncidentEventKind.OPENED
    assert isinstance(second, TransitionEvent) and second.kind is TransitionKind.OPENED
    assert (second.check, second.status) == ("svc", Status.CRITICAL)
    assert first.incident == monitor.incidents()[0]
    assert events.get(timeout=0.2) is None


def test_timeout_and_close(tmp_path: Path):
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    events = monitor.events(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        next(events)
    assert time.monotonic() - started < 3
    with pytest.raises(ValueError, match="timeout"):
        monitor.events(timeout=-1)

    # Closing from another thread ends an iteration that waits.
    waiting = monitor.events()
    closer = threading.Timer(0.3, waiting.close)
    closer.start()
    started = time.monotonic()
    assert list(waiting) == []
    assert time.monotonic() - started < 3
    assert waiting.closed
    assert waiting.get() is None
    assert "closed" in repr(waiting)


def test_the_events_end_when_the_monitor_is_gone(tmp_path: Path):
    monitor = forewarn.Monitor.from_config(fast_config(tmp_path / "h.db", closed_port()))
    events = monitor.events(timeout=5)
    del monitor
    gc.collect()
    started = time.monotonic()
    assert list(events) == []  # ended, not timed out
    assert time.monotonic() - started < 3


def many_checks_config(db: Path, n: int) -> str:
    port = closed_port()
    checks = "".join(
        f'[[checks]]\nname = "svc-{i}"\ntype = "tcp"\ntarget = "127.0.0.1:{port}"\n'
        'timeout = "800ms"\nfailure_threshold = 1\n\n'
        for i in range(n)
    )
    return f"[monitor]\ndatabase = {json.dumps(str(db))}\n\n{checks}"


def test_a_subscriber_that_falls_behind_is_told_how_many_it_missed(tmp_path: Path):
    # Each failing check opens: a transition and an incident, 1,200 events for 600 checks,
    # more than the monitor keeps for a slow subscriber (1,024).
    monitor = forewarn.Monitor.from_config(many_checks_config(tmp_path / "h.db", 600))
    events = monitor.events(timeout=5)
    monitor.run_once()
    with pytest.warns(forewarn.MissedEventsWarning, match="missed"):
        first = next(events)
    assert first.missed > 0
    rest = 0
    while events.get(timeout=0.5) is not None:
        rest += 1
    assert first.missed + 1 + rest >= 1200
