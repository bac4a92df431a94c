"""What a running monitor tells its subscribers: check transitions and incident changes, as
typed, immutable objects, and the subscription that delivers them (:meth:`Monitor.events`)."""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Dict, Optional, Type

from . import _native
from ._model import Incident, Status

__all__ = [
    "TransitionKind",
    "TransitionEvent",
    "IncidentEventKind",
    "IncidentEvent",
    "Event",
    "Events",
    "MissedEventsWarning",
]


class MissedEventsWarning(RuntimeWarning):
    """A subscriber read its events too slowly and the monitor dropped some for it; the next
    event's ``missed`` says how many."""


class TransitionKind(str, enum.Enum):
    """How a check's state machine moved."""

    OPENED = "opened"
    """The failure threshold was reached: an incident opens."""
    WORSENED = "worsened"
    """Still failing, worse than before."""
    IMPROVED = "improved"
    """Still failing, better than before."""
    RECOVERED = "recovered"
    """The success threshold was reached: the incident is resolved."""
    SUPPRESSED = "suppressed"
    """The failure threshold was reached, but a dependency or maintenance silences it."""
    RELEASED = "released"
    """A suppressed failure ended."""
    FLAPPING_STARTED = "flapping_started"
    """Too many ok↔failing changes in the window."""
    FLAPPING_STOPPED = "flapping_stopped"
    """Stable again after flapping."""

    def __str__(self) -> str:
        return self.value


class IncidentEventKind(str, enum.Enum):
    """What happened to an incident."""

    OPENED = "opened"
    UPDATED = "updated"
    """Worse, better, flapping, acknowledged, a note…"""
    RESOLVED = "resolved"

    def __str__(self) -> str:
        return self.value


def _status(value: Optional[str]) -> Optional[Status]:
    return Status(value) if value is not None else None


class Event:
    """One event of a monitor: a :class:`TransitionEvent` or an :class:`IncidentEvent`.

    Every event has ``missed``: how many events this subscriber missed just before it,
    because it read too slowly (0 normally).
    """

    __slots__ = ()
    missed: int


@dataclass(frozen=True)
class TransitionEvent(Event):
    """A check's state machine moved.

    Attributes:
        check: The check's name.
        kind: How it moved (:class:`TransitionKind`).
        at: When (timezone-aware, UTC).
        status: The status it failed with or settled on (``opened``, ``suppressed``,
            ``flapping_started``, ``flapping_stopped``), else ``None``.
        from_status: The status before (``worsened``, ``improved``), else ``None``.
        to_status: The status now (``worsened``, ``improved``), else ``None``.
        reason: Why it is suppressed (``suppressed``), e.g.
            ``{"reason": "dependency", "parent": "core-switch"}`` or
            ``{"reason": "maintenance", "window": "saturday"}``, else ``None``.
        changes: How many changes were counted (``flapping_started``), else ``None``.
        missed: How many events this subscriber missed just before this one, because it
            read too slowly (0 normally).
    """

    check: str
    kind: TransitionKind
    at: datetime
    status: Optional[Status] = None
    from_status: Optional[Status] = None
    to_status: Optional[Status] = None
    reason: Optional[Dict[str, str]] = None
    changes: Optional[int] = None
    missed: int = 0


@dataclass(frozen=True)
class IncidentEvent(Event):
    """An incident opened, changed or was resolved.

    Attributes:
        kind: What happened (:class:`IncidentEventKind`).
        incident: The incident as it is now.
        missed: How many events this subscriber missed just before this one (0 normally).
    """

    kind: IncidentEventKind
    incident: Incident
    missed: int = 0




def _event(d: Dict[str, Any]) -> Event:
    missed: int = d["missed"]
    if missed:
        warnings.warn(
            f"this subscriber to the monitor's events fell behind and missed {missed} of them",
            MissedEventsWarning,
            stacklevel=3,
        )
    if d["event"] == "transition":
        t: Dict[str, Any] = d["transition"]
        return TransitionEvent(
            check=d["check"],
            kind=TransitionKind(t["kind"]),
            at=d["at"],
            status=_status(t.get("status")),
            from_status=_status(t.get("from")),
            to_status=_status(t.get("to")),
            reason=t.get("reason"),
            changes=t.get("changes"),
            missed=missed,
        )
    return IncidentEvent(
        kind=IncidentEventKind(d["kind"]),
        incident=Incident._from_native(d["incident"]),
        missed=missed,
    )


class Events:
    """A subscription to a monitor's events from the moment it was made: read it with
    ``for`` or ``async for``.

    Each wait for the next event lasts at most the ``timeout`` given to
    :meth:`Monitor.events` (then :class:`TimeoutError`), or for ever. Sync waits release the
    GIL and let Ctrl-C through. The iteration ends once :meth:`close` is called (from any
    thread or task) or the monitor is gone. A subscriber that reads too slowly loses the
    oldest events: the next event it gets says how many in ``missed``, and a
    :class:`MissedEventsWarning` is issued.

    Example::

        with forewarn.Monitor.from_config("forewarn.toml") as monitor:
            for event in monitor.events():
                if isinstance(event, forewarn.IncidentEvent):
                    print(event.kind, event.incident.check, event.incident.summary)
    """

    __slots__ = ("_native", "_timeout")

    def __init__(self, native: "_native.Subscription", timeout: Optional[float]) -> None:
        """Not called directly: use :meth:`Monitor.events`."""
        self._native = native
        self._timeout = timeout

    def get(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting at most ``timeout`` seconds (``None``: as long as it
        takes); ``None`` when none came in time or the subscription is closed."""
        try:
            d = self._native.next(timeout)
        except TimeoutError:
            return None
        return _event(d) if d is not None else None

    def close(self) -> None:
        """Ends the subscription: iterations and waits in progress end, now and later."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native.closed

    def __iter__(self) -> "Events":
        """The subscription is its own iterator."""
        return self

    def __next__(self) -> Event:
        """The next event; ``StopIteration`` once closed, ``TimeoutError`` after the
        subscription's ``timeout``."""
        d = self._native.next(self._timeout)
        if d is None:
            raise StopIteration
        return _event(d)

    def __aiter__(self) -> "Events":
        """The subscription is its own async iterator."""
        return self

    async def __anext__(self) -> Event:
        """The next event; ``StopAsyncIteration`` once closed, ``TimeoutError`` after the
        subscription's ``timeout``. Cancelling the wait takes no event."""
        d = await self._native.next_async(self._timeout)
        if d is None:
            raise StopAsyncIteration
        return _event(d)

    def __enter__(self) -> "Events":
        """Returns the subscription, closed at the end of the block."""
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Closes the subscription."""
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<forewarn.Events {state}>"
