"""forewarn: proactive IT support for school districts — find the failure before a teacher does.

The Python package of the forewarn monitoring library (written in Rust). Build a
:class:`Monitor` from a config file or TOML text, run its checks, and work its incidents::

    import forewarn

    monitor = forewarn.Monitor.from_config("forewarn.toml")
    for result in monitor.run_once():
        print(result.name, result.status, result.summary)
    for incident in monitor.incidents(active_only=True):
        monitor.acknowledge(incident.id, by="ict-oncall", note="on it")

Every error is a :class:`ForewarnError`; see :mod:`forewarn.errors` for the kinds.
"""

from __future__ import annotations

from . import _native, readings
from ._model import (
    Acknowledgement,
    CheckResult,
    Incident,
    IncidentState,
    IncidentUpdate,
    Metric,
    MonitorStatus,
    Status,
    UpdateKind,
)
from ._monitor import ConfigSource, Monitor, validate_config
from ._events import (
    Event,
    Events,
    IncidentEvent,
    IncidentEventKind,
    MissedEventsWarning,
    TransitionEvent,
    TransitionKind,
)
from . import probes, sinks
from ._builder import MonitorBuilder
from ._custom import (
    AlertSink,
    CheckContext,
    Notification,
    NotificationKind,
    Observation,
    Probe,
)
from .errors import (
    ConfigError,
    ConflictError,
    ForewarnError,
    ForewarnIOError,
    InvalidArgumentError,
    NotFoundError,
    ProbeError,
    SinkError,
    StoreError,
)

__version__: str = _native.version()


def version() -> str:
    """The version of the forewarn library inside this package."""
    return _native.version()


__all__ = [
    "Acknowledgement",
    "CheckResult",
    "ConfigError",
    "ConfigSource",
    "ConflictError",
    "ForewarnError",
    "ForewarnIOError",
    "Incident",
    "IncidentState",
    "IncidentUpdate",
    "InvalidArgumentError",
    "Metric",
    "Monitor",
    "MonitorStatus",
    "NotFoundError",
    "ProbeError",
    "SinkError",
    "Status",
    "StoreError",
    "UpdateKind",
    "__version__",
    "readings",
    "validate_config",
    "version",
    "Event",
    "Events",
    "IncidentEvent",
    "IncidentEventKind",
    "MissedEventsWarning",
    "TransitionEvent",
    "TransitionKind",
    "AlertSink",
    "CheckContext",
    "MonitorBuilder",
    "Notification",
    "NotificationKind",
    "Observation",
    "Probe",
    "probes",
    "sinks",
]

from . import tickets  # noqa: E402  (help-desk mining: forewarn.tickets)

__all__ += ["tickets"]
