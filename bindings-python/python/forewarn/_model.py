"""The values forewarn returns: check results and incidents, as typed, immutable objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

if TYPE_CHECKING:
    from .readings import AnyReading

__all__ = [
    "Status",
    "IncidentState",
    "UpdateKind",
    "Metric",
    "CheckResult",
    "Acknowledgement",
    "IncidentUpdate",
    "Incident",
    "MonitorStatus",
]


class Status(str, enum.Enum):
    """How a checked thing is doing, in the monitoring-plugins convention.

    A ``str`` enum: ``Status.CRITICAL == "critical"``.
    """

    OK = "ok"
    """Working as expected."""
    WARNING = "warning"
    """Working, but something needs attention soon."""
    CRITICAL = "critical"
    """Not working."""
    UNKNOWN = "unknown"
    """The probe could not tell (misconfiguration, unsupported)."""

    def __str__(self) -> str:
        return self.value


class IncidentState(str, enum.Enum):
    """Where an incident is in its life."""

    OPEN = "open"
    """Failing, nobody has taken it yet."""
    ACKNOWLEDGED = "acknowledged"
    """Failing, a person has taken it."""
    RESOLVED = "resolved"
    """Over."""

    def __str__(self) -> str:
        return self.value


class UpdateKind(str, enum.Enum):
    """What happened to an incident, in one entry of its timeline."""

    OPENED = "opened"
    WORSENED = "worsened"
    IMPROVED = "improved"
    FLAPPING = "flapping"
    STABLE = "stable"
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    RESOLVED = "resolved"

    def __str__(self) -> str:
        return self.value


class Metric(NamedTuple):
    """One measured value with its unit (``"s"``, ``"%"``, ``"B"``; empty for counts)."""

    value: float
    unit: str


@dataclass(frozen=True)
class CheckResult:
    """The state of one check after its latest run.

    Attributes:
        name: The check's name.
        kind: The probe's kind (``"tcp"``, ``"http"``, ``"host"``, …).
        target: What it probes.
        group: Its group, or ``None``.
        status: The latest :class:`Status` (``UNKNOWN`` before the first run).
        summary: One line a person can read ("connected in 3 ms").
        latency: How long the latest run took, in seconds.
        at: When it last ran (timezone-aware, UTC), or ``None``.
        metrics: The latest run's measured values by name.
        reading: What the probe knows beyond status and metrics, typed
            (:mod:`forewarn.readings`: a printer's supplies and trays, each disk's SMART
            health, this machine's health, an HTTP response, a database's role), or ``None``;
            ``reading.to_dict()`` gives it as plain dicts and lists.
        alert: Where alerting stands, e.g. ``{"state": "clear"}``.
        flapping: Whether the check is flapping.
        incident: The id of its active incident, or ``None``.
    """

    name: str
    kind: str
    target: str
    group: Optional[str]
    status: Status
    summary: str
    latency: float
    at: Optional[datetime]
    metrics: Mapping[str, Metric]
    reading: Optional["AnyReading"]
    alert: Dict[str, Any]
    flapping: bool
    incident: Optional[int]

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "CheckResult":
        from .readings import from_dict

        metrics = {name: Metric(*vu) for name, vu in d["metrics"].items()}
        return cls(
            name=d["name"],
            kind=d["kind"],
            target=d["target"],
            group=d["group"],
            status=Status(d["status"]),
            summary=d["summary"],
            latency=d["latency"],
            at=d["at"],
            metrics=metrics,
            reading=from_dict(d["reading"]),
            alert=d["alert"],
            flapping=d["flapping"],
            incident=d["incident"],
        )


@dataclass(frozen=True)
class Acknowledgement:
    """A person taking an incident: who, when (UTC) and what they said."""

    by: str
    at: datetime
    note: Optional[str]


@dataclass(frozen=True)
class IncidentUpdate:
    """One entry in an incident's timeline.

    Attributes:
        seq: Position in the timeline, from 0 (the opening).
        at: When (timezone-aware, UTC).
        kind: What happened (:class:`UpdateKind`).
        status: The check's status at that moment.
        message: Human text (the observation summary, or a person's note).
        by: Who, for acknowledgements and notes.
    """

    seq: int
    at: datetime
    kind: UpdateKind
    status: Status
    message: str
    by: Optional[str]


@dataclass(frozen=True)
class Incident:
    """One outage of one check, from opened to resolved.

    Attributes:
        id: The store's id (1, 2, …).
        check: The failing check's name.
        group: The check's group, or ``None``.
        policy: The escalation policy that handles it.
        state: Where it is in its life (:class:`IncidentState`).
        severity: The worst status seen while open.
        status: The latest status.
        summary: The latest observation's summary.
        flapping: Whether the check is flapping.
        opened_at: When it opened (timezone-aware, UTC).
        resolved_at: When it was resolved, or ``None``.
        acknowledgement: Who took it, or ``None``.
        updates: The timeline, oldest first.
    """

    id: int
    check: str
    group: Optional[str]
    policy: str
    state: IncidentState
    severity: Status
    status: Status
    summary: str
    flapping: bool
    opened_at: datetime
    resolved_at: Optional[datetime]
    acknowledgement: Optional[Acknowledgement]
    updates: Tuple[IncidentUpdate, ...] = field(default=())

    @property
    def is_active(self) -> bool:
        """Whether it is still open or acknowledged."""
        return self.state is not IncidentState.RESOLVED

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "Incident":
        ack = d["acknowledgement"]
        return cls(
            id=d["id"],
            check=d["check"],
            group=d["group"],
            policy=d["policy"],
            state=IncidentState(d["state"]),
            severity=Status(d["severity"]),
            status=Status(d["status"]),
            summary=d["summary"],
            flapping=d["flapping"],
            opened_at=d["opened_at"],
            resolved_at=d["resolved_at"],
            acknowledgement=Acknowledgement(**ack) if ack is not None else None,
            updates=tuple(
                IncidentUpdate(
                    seq=u["seq"],
                    at=u["at"],
                    kind=UpdateKind(u["kind"]),
                    status=Status(u["status"]),
                    message=u["message"],
                    by=u["by"],
                )
                for u in d["updates"]
            ),
        )


@dataclass(frozen=True)
class MonitorStatus:
    """The monitor's own health.

    Attributes:
        checks: Every check's :class:`CheckResult`, in definition order.
        sinks: Every sink, whether it can deliver (plain dicts).
        outbox: Outbox depth and failures (a plain dict).
        scheduler: Scheduler counters: runs, overruns, schedule lag (a plain dict).
    """

    checks: List[CheckResult]
    sinks: List[Dict[str, Any]]
    outbox: Dict[str, Any]
    scheduler: Dict[str, Any]
