"""Probes and sinks written in Python: the protocols they follow, the values they take and
return, and the calls the native module makes into them.

A probe is any object with a ``check(context)`` method returning an :class:`Observation`; a
sink is any object with a ``send(notification)`` method. Either may be a plain method or an
``async def`` one. forewarn never calls them on its own worker threads: plain methods run on
a pool of threads of their own, coroutines on an asyncio event loop that the package runs in a
thread of its own (so an ``async def`` probe must not expect the caller's event loop).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Tuple,
    Protocol,
    Union,
    runtime_checkable,
)

from ._model import Metric, Status

__all__ = [
    "AlertSink",
    "CheckContext",
    "Notification",
    "NotificationKind",
    "Observation",
    "Probe",
]

MetricValue = Union[Metric, Tuple[float, str], float, int]
"""A metric as an :class:`Observation` takes it: a :class:`Metric`, a ``(value, unit)``
pair, or a bare number (no unit)."""


@dataclass(frozen=True)
class Observation:
    """What one run of a probe found.

    Attributes:
        status: The verdict, a :class:`Status` or its name (``"ok"``, ``"critical"``…).
        summary: One line a person can read ("queue has 3 jobs").
        metrics: Measured values by name: :class:`Metric`, ``(value, unit)`` or a number.
        latency: How long the check took, in seconds (or a ``timedelta``); ``None`` lets
            forewarn measure the call.

    Example::

        forewarn.Observation("warning", "12 jobs queued", metrics={"jobs": (12, "")})
    """

    status: Status
    summary: str = ""
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    latency: Optional[Union[float, timedelta]] = None

    def __post_init__(self) -> None:
        try:
            status = Status(self.status)
        except ValueError:
            raise ValueError(
                f"status is one of ok, warning, critical, unknown, not {self.status!r}"
            ) from None
        object.__setattr__(self, "status", status)
        if not isinstance(self.summary, str):
            raise TypeError(f"summary is a str, not {type(self.summary).__name__}")
        metrics: Dict[str, Metric] = {}
        for name, value in dict(self.metrics).items():
            if not isinstance(name, str):
                raise TypeError(f"metric names are str, not {type(name).__name__}")
            metrics[name] = _metric(name, value)
        object.__setattr__(self, "metrics", metrics)
        latency = self.latency
        if isinstance(latency, timedelta):
            latency = latency.total_seconds()
        if latency is not None:
            if isinstance(latency, bool) or not isinstance(latency, (int, float)):
                raise TypeError(f"latency is seconds, not {type(latency).__name__}")
            if not latency >= 0:
                raise ValueError(f"latency is 0 seconds or more, not {latency}")
            latency = float(latency)
        object.__setattr__(self, "latency", latency)


def _metric(name: str, value: Any) -> Metric:
    if isinstance(value, Metric):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        number, unit = value
    else:
        number, unit = value, ""
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise TypeError(
            f"metric `{name}` is a number or (number, unit), not {type(value).__name__}"
        )
    if not isinstance(unit, str):
        raise TypeError(f"the unit of metric `{name}` is a str, not {type(unit).__name__}")
    return Metric(float(number), unit)


@dataclass(frozen=True)
class CheckContext:
    """What a probe is told when it runs.

    Attributes:
        check: The check's name.
        timeout: The time budget of this run, in seconds; an ``async`` probe still running
            then is cancelled, and the check reads "timed out".
        now: When the run started (timezone-aware, UTC).
    """

    check: str
    timeout: float
    now: datetime


class NotificationKind(str, enum.Enum):
    """Why a notification is sent."""

    OPENED = "opened"
    """Something broke."""
    UPDATED = "updated"
    """It changed while broken (worse, flapping, stable again)."""
    REMINDER = "reminder"
    """Still broken and nobody has taken it."""
    ACKNOWLEDGED = "acknowledged"
    """A person took it."""
    RESOLVED = "resolved"
    """It works again."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Notification:
    """One message for one sink about one incident (or a broadcast to people outside ICT).

    Attributes:
        id: Stable id: a redelivery of the same message has the same one, so a sink can
            drop repeats.
        sink: The sink's name.
        key: The escalation step that made it (``"opened"``, ``"update:2"``…).
        kind: Why it is sent (:class:`NotificationKind`).
        incident_id: The incident's id (0 for a broadcast).
        check: The check's name.
        group: The check's group, or ``None``.
        status: The check's status when it was made.
        subject: One line: ``"[CRITICAL] db-main: connection refused"``.
        summary: The observation summary that triggered it.
        opened_at: When the incident opened (timezone-aware, UTC).
        at: When the notification was made (timezone-aware, UTC).
        labels: Extra labels (owner, location, who acknowledged…).
        broadcast: For a broadcast: its audience, thread, first, subject, text and html.
    """

    id: str
    sink: str
    key: str
    kind: NotificationKind
    incident_id: int
    check: str
    group: Optional[str]
    status: Status
    subject: str
    summary: str
    opened_at: datetime
    at: datetime
    labels: Mapping[str, str]
    broadcast: Optional[Mapping[str, Any]] = None

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "Notification":
        return cls(
            id=d["id"],
            sink=d["sink"],
            key=d["key"],
            kind=NotificationKind(d["kind"]),
            incident_id=d["incident_id"],
            check=d["check"],
            group=d["group"],
            status=Status(d["status"]),
            subject=d["subject"],
            summary=d["summary"],
            opened_at=d["opened_at"],
            at=d["at"],
            labels=d["labels"],
            broadcast=d["broadcast"],
        )


@runtime_checkable
class Probe(Protocol):
    """A probe written in Python: anything with this method.

    ``check`` may be a plain method (run on a thread of forewarn's pool) or ``async def`` (run
    on forewarn's own event loop). An exception it raises makes the observation ``unknown``
    with the traceback in its summary. Optional attributes (or methods) ``kind`` and
    ``target`` name the probe's kind (default ``"custom"``) and what it probes in listings.
    """

    def check(self, context: CheckContext) -> Union[Observation, Awaitable[Observation]]:
        """Runs the check once."""
        ...


@runtime_checkable
class AlertSink(Protocol):
    """A sink written in Python: anything with this method.

    ``send`` (plain or ``async def``) delivers one notification; returning means the other
    side took it, raising means it failed and the outbox retries it later. An optional
    ``healthcheck()`` method (plain or ``async def``) raises when the sink cannot deliver.
    """

    def send(self, notification: Notification) -> Union[None, Awaitable[None]]:
        """Delivers one notification."""
        ...


# ---------------------------------------------------------------------------------------
# The calls the native module makes. Each answers ("ok", value), ("error", message), or
# ("pending", concurrent.futures.Future) for a coroutine, whose answer goes to `done`.
# ---------------------------------------------------------------------------------------

Answer = Tuple[str, Any]

_loop_lock = threading.Lock()
_loop_ref: Optional[asyncio.AbstractEventLoop] = None


def _event_loop() -> asyncio.AbstractEventLoop:
    """The package's event loop for ``async def`` probes and sinks, started on first use in
    a daemon thread of its own."""
    global _loop_ref
    with _loop_lock:
        loop = _loop_ref
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="forewarn-asyncio", daemon=True
            )
            thread.start()
            _loop_ref = loop
        return loop


def _raised(what: str, e: BaseException) -> str:
    """``what`` raised ``e``: its first line, then the traceback."""
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip()
    return f"{what} raised {type(e).__name__}: {e}\n{tb}"


def _start(
    what: str,
    call: Callable[[], Any],
    convert: Callable[[Any], Answer],
    done: Callable[[Answer], None],
) -> Answer:
    try:
        result = call()
    except Exception as e:
        return ("error", _raised(what, e))
    if not inspect.isawaitable(result):
        return convert(result)

    async def finish() -> None:
        try:
            answer = convert(await result)
        except asyncio.CancelledError:
            answer = ("error", f"{what} was cancelled")
            done(answer)
            raise
        except Exception as e:
            answer = ("error", _raised(what, e))
        done(answer)

    return ("pending", asyncio.run_coroutine_threadsafe(finish(), _event_loop()))


def _run_probe(
    probe: Any, check: str, timeout: float, now: datetime, done: Callable[[Answer], None]
) -> Answer:
    what = f"probe `{check}`"

    def convert(obs: Any) -> Answer:
        if not isinstance(obs, Observation):
            return (
                "error",
                f"{what} returned {type(obs).__name__}, not forewarn.Observation",
            )
        metrics: List[Tuple[str, float, str]] = [
            (name, *_metric(name, value)) for name, value in obs.metrics.items()
        ]
        return ("ok", (obs.status.value, obs.summary, metrics, obs.latency))

    context = CheckContext(check=check, timeout=timeout, now=now)
    return _start(what, lambda: probe.check(context), convert, done)


def _delivered(_: Any) -> Answer:
    return ("ok", None)


def _send(sink: Any, notification: Dict[str, Any], done: Callable[[Answer], None]) -> Answer:
    n = Notification._from_native(notification)
    return _start(f"sink `{n.sink}`", lambda: sink.send(n), _delivered, done)


def _healthcheck(sink: Any, done: Callable[[Answer], None]) -> Answer:
    check = getattr(sink, "healthcheck", None)
    if check is None:
        return ("ok", None)
    return _start(f"the health check of {type(sink).__name__}", check, _delivered, done)


def _describe(probe: Any) -> Tuple[str, str]:
    """A Python probe's kind (default ``"custom"``) and target (default empty), read once."""
    out = []
    for attr, default in (("kind", "custom"), ("target", "")):
        value = getattr(probe, attr, default)
        if callable(value):
            value = value()
        if not isinstance(value, str):
            raise TypeError(
                f"a probe's {attr} is a str, not {type(value).__name__}"
            )
        out.append(value)
    return out[0], out[1]
