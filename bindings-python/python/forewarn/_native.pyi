"""Type stubs of the native module ``forewarn._native`` (private: use the ``forewarn``
package). Its functions return plain dicts that the package turns into typed objects."""

from typing import Any, Awaitable, Dict, List, Optional, Tuple

def version() -> str:
    """The library version."""

def validate_config(source: str, is_path: bool) -> int:
    """Validates a config (a file when ``is_path``, else TOML text); returns its number of
    checks. Raises ``forewarn.errors.ConfigError`` naming file, line, column and key."""

class Monitor:
    """A monitor built from a config; ``forewarn.Monitor`` wraps it."""

    @staticmethod
    def from_config(source: str, is_path: bool) -> "Monitor":
        """Builds the monitor of a config (a file when ``is_path``, else TOML text)."""
    def run_once(self) -> List[Dict[str, Any]]:
        """Runs every check once; returns each check's state as a dict."""
    def status(self) -> Dict[str, Any]:
        """The checks, sinks, outbox and scheduler, as a dict."""
    def incidents(
        self, active_only: bool, check: Optional[str], limit: int
    ) -> List[Dict[str, Any]]:
        """Incidents, newest first, as dicts."""
    def acknowledge(self, id: int, by: str, note: Optional[str]) -> Dict[str, Any]:
        """Acknowledges incident ``id`` for ``by``; returns the incident as a dict."""
    def note(self, id: int, by: str, text: str) -> Dict[str, Any]:
        """Adds a note by ``by`` to incident ``id``; returns the incident as a dict."""

# Help-desk mining (forewarn.tickets).
from datetime import date  # noqa: E402
from typing import Callable  # noqa: E402

def tickets_analyze(
    paths: List[str],
    calendar: Optional[str],
    out: Optional[str],
    json: Optional[str],
    kb: Optional[str],
    incidents: Optional[str],
    time_zone: Optional[str],
    faq_drafts: Optional[str],
    profile: Optional[str],
    salt: Optional[str],
    day_first: Optional[bool],
    dates_from: Optional[date],
    dates_until: Optional[date],
    taxonomy: Optional[str],
    k: Optional[int],
    cluster_all: bool,
    seed: Optional[int],
    title: str,
    progress: Optional[Callable[[str], object]],
) -> Dict[str, Any]:
    """Reads help-desk exports (files or directories), analyses them and, when ``out`` is
    given, writes the HTML report and its JSON twin; returns the ingest summary and the
    analysis as plain dicts (outage times as aware datetimes). ``progress``, when given, is
    called with each stage's name. ``forewarn.tickets.analyze`` wraps it."""

def tickets_generate(
    out: str,
    rows: Optional[int],
    seed: Optional[int],
    effects: Optional[bool],
    start_year: Optional[int],
    years: Optional[int],
    calendar_out: Optional[str],
) -> Dict[str, Any]:
    """Writes a synthetic export to ``out`` (and its calendar to ``calendar_out``); returns
    what was planted as a dict. ``forewarn.tickets.generate`` wraps it."""

# Running a monitor (the package's Monitor.run, start, stop…), and the async forms.

def run(monitor: Monitor) -> None:
    """Runs the monitor until stopped; on Ctrl-C stops it gracefully, then raises
    ``KeyboardInterrupt``. Raises the monitor's failure."""
def start_background(monitor: Monitor) -> None:
    """Starts the monitor in the background and returns at once."""
def request_stop(monitor: Monitor) -> bool:
    """Asks the monitor's run to stop gracefully; whether it was running."""
def is_running(monitor: Monitor) -> bool:
    """Whether the monitor is running."""
def stop(monitor: Monitor, timeout: Optional[float] = None) -> None:
    """Stops the monitor gracefully and waits (``TimeoutError`` after ``timeout`` s)."""
def stop_all(timeout: Optional[float] = None) -> None:
    """Stops every monitor running in the background gracefully (at most ``timeout`` s)."""
def start_async(monitor: Monitor) -> Awaitable[None]:
    """Async ``start_background``."""
def wait_async(monitor: Monitor) -> Awaitable[None]:
    """Waits for the monitor's run to end; raises its failure."""
def stop_async(monitor: Monitor, timeout: Optional[float] = None) -> Awaitable[None]:
    """Async ``stop``."""
def from_config_async(source: str, is_path: bool) -> Awaitable[Monitor]:
    """Async ``Monitor.from_config``."""
def run_once_async(monitor: Monitor) -> Awaitable[List[Dict[str, Any]]]:
    """Async ``Monitor.run_once``."""
def status_async(monitor: Monitor) -> Awaitable[Dict[str, Any]]:
    """Async ``Monitor.status``."""
def incidents_async(
    monitor: Monitor, active_only: bool, check: Optional[str], limit: int
) -> Awaitable[List[Dict[str, Any]]]:
    """Async ``Monitor.incidents``."""
def acknowledge_async(
    monitor: Monitor, id: int, by: str, note: Optional[str]
) -> Awaitable[Dict[str, Any]]:
    """Async ``Monitor.acknowledge``."""
def note_async(monitor: Monitor, id: int, by: str, text: str) -> Awaitable[Dict[str, Any]]:
    """Async ``Monitor.note``."""

# Events.

def subscribe(monitor: Monitor) -> Subscription:
    """Subscribes to the monitor's events from now on."""

class Subscription:
    """A subscription to a monitor's events; ``forewarn.Events`` wraps it."""

    def next(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """The next event as a dict (``TimeoutError`` after ``timeout`` s); ``None`` once
        closed."""
    def next_async(self, timeout: Optional[float] = None) -> Awaitable[Optional[Dict[str, Any]]]:
        """Async ``next``."""
    def close(self) -> None:
        """Ends the subscription."""
    @property
    def closed(self) -> bool:
        """Whether it is closed."""
def validate_probe(what: str, table: str) -> None:
    """Checks a built-in probe's settings (a ``[[checks]]`` entry without its name, as JSON
    text) as a config is checked; raises ``forewarn.errors.ConfigError`` naming ``what`` as
    its file and the key."""

def validate_sink(what: str, table: str) -> None:
    """Checks a built-in sink's settings (a ``[sinks.NAME]`` section, as JSON text) as a
    config is checked; raises ``forewarn.errors.ConfigError`` naming ``what`` and the key."""

def build_monitor(
    config: str,
    probes: List[Tuple[str, Any, str, str]],
    sinks: List[Tuple[str, Any]],
) -> Monitor:
    """Builds the monitor of a config given as its tables in JSON text, the checks named in
    ``probes`` (``(check, probe, kind, target)``) run by Python probes and the sinks named in
    ``sinks`` (``(name, sink)``) delivered by Python sinks; opens the history store and
    restores saved states."""
