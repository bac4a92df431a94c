"""Monitors made in code: :meth:`forewarn.Monitor.builder`."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from . import _native
from ._custom import _describe
from ._settings import _plain
from .probes import CHECK_KEYS, BuiltinProbe
from .sinks import BuiltinSink

if TYPE_CHECKING:
    from ._custom import AlertSink, Probe
    from ._monitor import Monitor

__all__ = ["MonitorBuilder"]

Duration = Union[str, timedelta]
"""A duration as a config writes it (``"5s"``, ``"2m"``) or a ``timedelta``."""

# What a probe or sink written in Python stands for in the assembled config: a valid built-in
# that is never built, so the check and sink keep every setting and name check of the config.
_STAND_IN_PROBE = {"type": "tcp", "target": "127.0.0.1:9"}
_STAND_IN_SINK = {"type": "log"}


class MonitorBuilder:
    """Builds a :class:`forewarn.Monitor` from code, as a config file would describe it.

    Every method returns the builder, so calls chain; :meth:`build` ends the chain. What is
    added is checked as a config is, with the same rules and messages (an error names
    ``<builder>`` as its file)::

        monitor = (
            forewarn.Monitor.builder()
            .database("forewarn.db")
            .time_zone("America/Chicago")
            .sink("ict", forewarn.sinks.Webhook(url="https://hooks.example.org/ict"))
            .check("sis", forewarn.probes.Http(url="https://sis.example.org/health"))
            .check("print-queue", MyQueueProbe(), interval="1m")
            .build()
        )
    """

    __slots__ = ("_monitor", "_checks", "_sinks", "_policies", "_groups", "_probes", "_py_sinks")

    def __init__(self) -> None:
        """An empty builder: use :meth:`forewarn.Monitor.builder`."""
        self._monitor: Dict[str, Any] = {}
        self._checks: List[Dict[str, Any]] = []
        self._sinks: Dict[str, Dict[str, Any]] = {}
        self._policies: Dict[str, Dict[str, Any]] = {}
        self._groups: Dict[str, Dict[str, Any]] = {}
        self._probes: List[Tuple[str, Any, str, str]] = []
        self._py_sinks: List[Tuple[str, Any]] = []

    def check(
        self, name: str, probe: Union[BuiltinProbe, "Probe"], **settings: Any
    ) -> "MonitorBuilder":
        """Adds check ``name`` run by ``probe``: a built-in from :mod:`forewarn.probes`, or
        any object with a ``check(context)`` method (:class:`forewarn.Probe`).

        ``settings`` are the check keys of a ``[[checks]]`` entry (``interval``,
        ``timeout``, ``group``, ``depends_on``, ``policy``, ``failure_threshold``,
        ``success_threshold``, ``flapping``, ``owner``, ``location``); for a built-in they
        add to, and win over, the ones it was made with.
        """
        if not isinstance(name, str):
            raise TypeError(f"a check's name is a str, not {type(name).__name__}")
        unknown = sorted(set(settings) - CHECK_KEYS)
        if unknown:
            raise TypeError(
                f"check `{name}`: `{unknown[0]}` is not a check key "
                f"(the check keys: {', '.join(sorted(CHECK_KEYS))})"
            )
        extra = {k: _plain(k, v) for k, v in settings.items() if v is not None}
        if isinstance(probe, BuiltinProbe):
            entry = {"name": name, **probe.settings, **extra}
        elif callable(getattr(probe, "check", None)):
            kind, target = _describe(probe)
            self._probes.append((name, probe, kind, target))
            entry = {"name": name, **_STAND_IN_PROBE, **extra}
        else:
            raise TypeError(
                f"check `{name}`: a probe is a forewarn.probes built-in or an object with a "
                f"check(context) method, not {type(probe).__name__}"
            )
        self._checks.append(entry)
        return self

    def sink(
        self,
        name: str,
        sink: Union[BuiltinSink, "AlertSink"],
        *,
        rate_limit: Optional[str] = None,
    ) -> "MonitorBuilder":
        """Adds sink ``name``: a built-in from :mod:`forewarn.sinks`, or any object with a
        ``send(notification)`` method (:class:`forewarn.AlertSink`). ``rate_limit``
        (``"20/min"``) lets at most so many notifications through per period; the rest wait
        in the outbox.

        Without a :meth:`policy`, every sink is told of every incident.
        """
        if not isinstance(name, str):
            raise TypeError(f"a sink's name is a str, not {type(name).__name__}")
        self._py_sinks = [s for s in self._py_sinks if s[0] != name]
        if isinstance(sink, BuiltinSink):
            table = sink.settings
        elif callable(getattr(sink, "send", None)):
            self._py_sinks.append((name, sink))
            table = dict(_STAND_IN_SINK)
        else:
            raise TypeError(
                f"sink `{name}`: a sink is a forewarn.sinks built-in or an object with a "
                f"send(notification) method, not {type(sink).__name__}"
            )
        if rate_limit is not None:
            table["rate_limit"] = rate_limit
        self._sinks[name] = table
        return self

    def policy(self, name: str, **settings: Any) -> "MonitorBuilder":
        """Adds escalation policy ``name``, with the keys of a ``[policies.NAME]`` section:
        ``type="notify", sinks=[...]``, or ``type="tiered", tiers=[{"after": "0s",
        "sinks": [...]}, ...], repeat="1h"``."""
        self._policies[name] = {k: _plain(k, v) for k, v in settings.items() if v is not None}
        return self

    def default_policy(self, name: str) -> "MonitorBuilder":
        """The policy of checks that name none (default: the one named ``default``, or the
        only one)."""
        self._monitor["default_policy"] = name
        return self

    def group(self, name: str, **settings: Any) -> "MonitorBuilder":
        """Adds group ``name`` with the keys of a ``[groups.NAME]`` section
        (``depends_on``, ``policy``, ``interval``, ``description``, ``standard``)."""
        self._groups[name] = {k: _plain(k, v) for k, v in settings.items() if v is not None}
        return self

    def database(self, path: Union[str, "os.PathLike[str]"]) -> "MonitorBuilder":
        """The SQLite history file (default ``forewarn.db`` in the working directory)."""
        self._monitor["database"] = os.fspath(path)
        return self

    def time_zone(self, name: str) -> "MonitorBuilder":
        """The district's time zone, an IANA name (``"America/Chicago"``): times shown to
        people are in it (default: the system's)."""
        self._monitor["time_zone"] = name
        return self

    def concurrency(self, n: int) -> "MonitorBuilder":
        """How many checks may run at once (default 1024)."""
        self._monitor["concurrency"] = n
        return self

    def default_interval(self, interval: Duration) -> "MonitorBuilder":
        """The interval of checks that set none (default 30 s)."""
        self._monitor["default_interval"] = _plain("default_interval", interval)
        return self

    def default_timeout(self, timeout: Duration) -> "MonitorBuilder":
        """The timeout of checks that set none (default 10 s, at most four fifths of the
        check's interval)."""
        self._monitor["default_timeout"] = _plain("default_timeout", timeout)
        return self

    def retention(self, retention: Duration) -> "MonitorBuilder":
        """How long observations and resolved incidents are kept (default 30 days)."""
        self._monitor["retention"] = _plain("retention", retention)
        return self

    def build(self) -> "Monitor":
        """Checks everything added, as a config is checked, opens the history store and
        restores saved states; returns the :class:`forewarn.Monitor`.

        Raises:
            ConfigError: a setting is invalid (the file is ``<builder>``; ``key`` names it).
            StoreError: the history store cannot be opened.
        """
        from ._monitor import Monitor

        config: Dict[str, Any] = {"monitor": self._monitor}
        if self._sinks:
            config["sinks"] = self._sinks
        if self._policies:
            config["policies"] = self._policies
        if self._groups:
            config["groups"] = self._groups
        if self._checks:
            config["checks"] = self._checks
        native = _native.build_monitor(json.dumps(config), self._probes, self._py_sinks)
        return Monitor(native)

    def __repr__(self) -> str:
        return (
            f"<forewarn.MonitorBuilder: {len(self._checks)} checks, "
            f"{len(self._sinks)} sinks>"
        )
