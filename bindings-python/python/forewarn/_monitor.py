"""The monitor: checks from a config, run on demand, and the incidents they open."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, List, Optional, Union

from . import _native
from ._model import CheckResult, Incident, MonitorStatus

if TYPE_CHECKING:
    from ._builder import MonitorBuilder

__all__ = ["Monitor", "validate_config", "ConfigSource"]

ConfigSource = Union[str, "os.PathLike[str]"]
"""A config file's path (``str`` or :class:`os.PathLike`), or TOML text (a ``str`` holding a
newline or an ``=``)."""


def _source(path_or_toml: ConfigSource) -> "tuple[str, bool]":
    """Tells a path from TOML text: a path-like is a path; a ``str`` is TOML text when it
    holds a newline or an ``=`` (no sensible file name does), else a path."""
    if isinstance(path_or_toml, os.PathLike):
        return os.fspath(path_or_toml), True
    if not isinstance(path_or_toml, str):
        raise TypeError(
            f"a config is a path or TOML text, not {type(path_or_toml).__name__}"
        )
    is_text = "\n" in path_or_toml or "=" in path_or_toml
    return path_or_toml, not is_text


def validate_config(path_or_toml: ConfigSource) -> int:
    """Reads and validates a config; returns its number of checks.

    ``path_or_toml`` is a file's path, or TOML text (a ``str`` holding a newline or ``=``).

    Raises:
        ConfigError: the config is invalid; ``file``, ``line``, ``column`` and ``key`` say
            where (``file`` is ``<string>`` for TOML text).
        ForewarnIOError: the file cannot be read.
    """
    source, is_path = _source(path_or_toml)
    return _native.validate_config(source, is_path)


class Monitor:
    """A monitor built from a forewarn config: its checks, sinks, escalation policies and
    history store.

    Build one with :meth:`Monitor.from_config`, then run every check with :meth:`run_once`
    and look at, acknowledge and annotate the incidents they open. Each call runs in Rust
    with the GIL released, so other Python threads keep running meanwhile.

    Example::

        monitor = forewarn.Monitor.from_config("forewarn.toml")
        for result in monitor.run_once():
            print(result.name, result.status, result.summary)
    """

    __slots__ = ("_native",)

    def __init__(self, native: "_native.Monitor") -> None:
        """Not called directly: use :meth:`Monitor.from_config`."""
        self._native = native

    @classmethod
    def from_config(cls, path_or_toml: ConfigSource) -> "Monitor":
        """Builds the monitor of a config.

        ``path_or_toml`` is a config file's path, or TOML text (a ``str`` holding a newline
        or ``=``). The history store named by ``[monitor] database`` (default
        ``forewarn.db``, relative to the working directory) is opened or created, and saved
        check states and open incidents are restored, so a new monitor resumes where the last
        one stopped.

        Raises:
            ConfigError: the config is invalid, with ``file``, ``line``, ``column``, ``key``.
            ForewarnIOError: the config file cannot be read.
            StoreError: the history store cannot be opened.
        """
        source, is_path = _source(path_or_toml)
        return cls(_native.Monitor.from_config(source, is_path))

    def run_once(self) -> List[CheckResult]:
        """Runs every check once, concurrently, through the state machine, incidents and
        escalation; writes the history, delivers due notifications, and returns every
        check's :class:`CheckResult` in definition order.

        A check that finds its target down is a result with a failing status, not an
        exception; an incident opens after the check's ``failure_threshold`` consecutive
        failures (default 2).
        """
        return [CheckResult._from_native(d) for d in self._native.run_once()]

    def status(self) -> MonitorStatus:
        """The current state of every check, the sinks, the outbox and the scheduler."""
        d = self._native.status()
        return MonitorStatus(
            checks=[CheckResult._from_native(c) for c in d["checks"]],
            sinks=d["sinks"],
            outbox=d["outbox"],
            scheduler=d["scheduler"],
        )

    def incidents(
        self, active_only: bool = False, check: Optional[str] = None, limit: int = 0
    ) -> List[Incident]:
        """Incidents, newest first.

        Args:
            active_only: Only open or acknowledged ones.
            check: Only this check's.
            limit: At most this many (0: no limit).
        """
        if limit < 0:
            raise ValueError("limit is 0 (no limit) or more")
        return [
            Incident._from_native(d)
            for d in self._native.incidents(active_only, check, limit)
        ]

    def acknowledge(self, id: int, by: str, note: Optional[str] = None) -> Incident:
        """Records that ``by`` has taken incident ``id``: escalation stops, and the sinks
        that were told of it hear who took it. Returns the updated :class:`Incident`.

        Raises:
            NotFoundError: there is no incident ``id``.
            ConflictError: it is resolved or already acknowledged.
        """
        return Incident._from_native(self._native.acknowledge(id, by, note))

    def note(self, id: int, by: str, text: str) -> Incident:
        """Adds a note by ``by`` to incident ``id``'s timeline (and to the outage of a
        service it keeps down). Returns the updated :class:`Incident`.

        Raises:
            NotFoundError: there is no incident ``id``.
            InvalidArgumentError: ``by`` or ``text`` is empty, or ``text`` is over 4,000 bytes.
        """
        return Incident._from_native(self._native.note(id, by, text))

    def __repr__(self) -> str:
        return "<forewarn.Monitor>"

    @staticmethod
    def builder() -> "MonitorBuilder":
        """Starts building a monitor in code: built-in probes and sinks from
        :mod:`forewarn.probes` and :mod:`forewarn.sinks`, probes and sinks written in Python
        (:class:`forewarn.Probe`, :class:`forewarn.AlertSink`), policies and the
        ``[monitor]`` settings, ending in :meth:`MonitorBuilder.build`::

            monitor = (
                forewarn.Monitor.builder()
                .database("forewarn.db")
                .check("sis", forewarn.probes.Http(url="https://sis.example.org/health"))
                .build()
            )
        """
        from ._builder import MonitorBuilder

        return MonitorBuilder()
