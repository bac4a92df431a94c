"""The exceptions forewarn raises.

Every error of the Rust core becomes one of these, mapped in one place: catch
:class:`ForewarnError` for all of them, or a subclass for one kind.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

__all__ = [
    "ForewarnError",
    "ConfigError",
    "InvalidArgumentError",
    "ProbeError",
    "StoreError",
    "NotFoundError",
    "ConflictError",
    "SinkError",
    "ForewarnIOError",
]


class ForewarnError(Exception):
    """The base of every forewarn error; ``str(error)`` says what and where."""


class ConfigError(ForewarnError, ValueError):
    """A configuration could not be parsed or is invalid.

    The message reads ``file:line:col: `key`: message``, the way compilers report, and the
    parts are attributes:

    - ``file``: the config file, or ``<string>`` for TOML text;
    - ``line``, ``column``: 1-based, 0 when unknown;
    - ``key``: the offending key, or ``None``.
    """

    def __init__(
        self,
        message: str,
        file: str = "",
        line: int = 0,
        column: int = 0,
        key: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column
        self.key = key

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:  # keeps the attributes when pickled
        return (type(self), (str(self), self.file, self.line, self.column, self.key))


class InvalidArgumentError(ForewarnError, ValueError):
    """A value given to a method is invalid (an empty note, a nameless acknowledger)."""


class ProbeError(ForewarnError):
    """A probe could not be run at all.

    A check that finds its target down is not an error: it is a result with a failing
    status. This is for a probe that cannot be run, and is reserved for probes written in
    Python, which a later release adds.
    """


class StoreError(ForewarnError):
    """The history store (SQLite) failed."""


class NotFoundError(ForewarnError, LookupError):
    """What was asked for does not exist (an unknown incident id)."""


class ConflictError(ForewarnError):
    """A state change was refused: acknowledging an incident already acknowledged or
    resolved, for instance."""


class SinkError(ForewarnError):
    """Delivering a notification failed, or a sink's rate limit is reached."""


class ForewarnIOError(ForewarnError, OSError):
    """Reading or writing a file failed (a config file that does not exist, for instance)."""
