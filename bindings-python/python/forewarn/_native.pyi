"""Type stubs of the native module ``forewarn._native`` (private: use the ``forewarn``
package). Its functions return plain dicts that the package turns into typed objects."""

from typing import Any, Dict, List, Optional, Tuple

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
