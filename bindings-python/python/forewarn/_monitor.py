"""The monitor: checks from a config, run on demand, and the incidents they open."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, List, Optional, Union

from . import _native
from ._model import CheckResult, Incident, MonitorStatus
from ._events import Events
from ._running import sigterm_stops

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

    # Running: in the foreground, in the background, and the events it tells of.

    def run(self) -> None:
        """Runs the monitor: every check on its interval, incidents, escalation and
        notifications, until it is stopped; then shuts down gracefully (in-flight checks
        finish, history and check states are written) and returns ``None``.

        It is stopped by :meth:`stop` from another thread, by Ctrl-C (the graceful stop is
        waited for, then ``KeyboardInterrupt`` is raised), or, when called in the main
        thread of a program that left SIGTERM's default action, by SIGTERM (then it returns
        normally). The GIL is released while it runs.

        Raises:
            ConflictError: this monitor is running already, or another running monitor (in
                this process or another) uses the same history.
            ForewarnError: a part of the monitor failed (it stopped the same graceful way).
        """
        with sigterm_stops(self._native):
            _native.run(self._native)

    def start(self) -> None:
        """Starts the monitor in the background (on the library's own threads) and returns
        at once; :meth:`stop` stops it. ``with Monitor.from_config(...) as monitor:`` does
        both. One still running when the interpreter exits is stopped the graceful way
        then (waiting at most 30 s).

        Raises:
            ConflictError: this monitor is running already, or another running monitor uses
                the same history.
        """
        _native.start_background(self._native)

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stops a monitor started with :meth:`start` (or running :meth:`run` in another
        thread) gracefully and waits for that: in-flight checks finish and states are
        written. Does nothing when it is not running.

        Args:
            timeout: Wait at most this many seconds (``None``: as long as it takes).

        Raises:
            TimeoutError: it had not stopped within ``timeout`` (it goes on stopping).
            ForewarnError: the run had failed.
        """
        _native.stop(self._native, timeout)

    @property
    def running(self) -> bool:
        """Whether the monitor is running (started and not yet stopped)."""
        return _native.is_running(self._native)

    def events(self, timeout: Optional[float] = None) -> Events:
        """Subscribes to the monitor's events from now on: check transitions
        (:class:`TransitionEvent`) and incidents opened, updated and resolved
        (:class:`IncidentEvent`), whether the monitor runs (:meth:`run`, :meth:`start`) or
        checks are run with :meth:`run_once`.

        Args:
            timeout: How long each wait for the next event may last, in seconds, before
                :class:`TimeoutError` (``None``: as long as it takes).

        Example::

            async with await forewarn.Monitor.from_config_async("forewarn.toml") as monitor:
                async for event in monitor.events():
                    print(event)
        """
        if timeout is not None and timeout < 0:
            raise ValueError("timeout is a number of seconds, 0 or more, or None")
        return Events(_native.subscribe(self._native), timeout)

    def __enter__(self) -> "Monitor":
        """Starts the monitor in the background (:meth:`start`)."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stops the monitor gracefully and waits for that (:meth:`stop`), also when the
        block raised."""
        self.stop()

    async def __aenter__(self) -> "Monitor":
        """Starts the monitor in the background (:meth:`start_async`)."""
        await self.start_async()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stops the monitor gracefully and waits for that (:meth:`stop_async`)."""
        await self.stop_async()

    # The async forms: the same calls, awaited under asyncio. Cancelling the awaiting task
    # cancels the work.

    @classmethod
    async def from_config_async(cls, path_or_toml: ConfigSource) -> "Monitor":
        """Async :meth:`from_config`."""
        source, is_path = _source(path_or_toml)
        return cls(await _native.from_config_async(source, is_path))

    async def run_once_async(self) -> List[CheckResult]:
        """Async :meth:`run_once`."""
        return [CheckResult._from_native(d) for d in await _native.run_once_async(self._native)]

    async def status_async(self) -> MonitorStatus:
        """Async :meth:`status`."""
        d = await _native.status_async(self._native)
        return MonitorStatus(
            checks=[CheckResult._from_native(c) for c in d["checks"]],
            sinks=d["sinks"],
            outbox=d["outbox"],
            scheduler=d["scheduler"],
        )

    async def incidents_async(
        self, active_only: bool = False, check: Optional[str] = None, limit: int = 0
    ) -> List[Incident]:
        """Async :meth:`incidents`."""
        if limit < 0:
            raise ValueError("limit is 0 (no limit) or more")
        found = await _native.incidents_async(self._native, active_only, check, limit)
        return [Incident._from_native(d) for d in found]

    async def acknowledge_async(self, id: int, by: str, note: Optional[str] = None) -> Incident:
        """Async :meth:`acknowledge`."""
        return Incident._from_native(await _native.acknowledge_async(self._native, id, by, note))

    async def note_async(self, id: int, by: str, text: str) -> Incident:
        """Async :meth:`note`."""
        return Incident._from_native(await _native.note_async(self._native, id, by, text))

    async def start_async(self) -> None:
        """Async :meth:`start`."""
        await _native.start_async(self._native)

    async def run_async(self) -> None:
        """Async :meth:`run`: runs the monitor until :meth:`stop_async` (or :meth:`stop`) is
        called. Cancelling the awaiting task (as ``asyncio.run`` does on Ctrl-C) stops the
        monitor gracefully, waits for that, and lets the cancellation through."""
        await _native.start_async(self._native)
        try:
            await _native.wait_async(self._native)
        except asyncio.CancelledError:
            await asyncio.shield(_native.stop_async(self._native, None))
            raise

    async def stop_async(self, timeout: Optional[float] = None) -> None:
        """Async :meth:`stop`."""
        await _native.stop_async(self._native, timeout)

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
