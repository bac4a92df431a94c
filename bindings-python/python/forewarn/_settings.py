"""Settings given as keyword arguments, as the tables of a config: the shared base of
:mod:`forewarn.probes` and :mod:`forewarn.sinks`."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from typing import Any, ClassVar, Dict, FrozenSet

__all__ = ["Settings"]

REDACTED = "<redacted>"


def _plain(key: str, value: Any) -> Any:
    """A keyword argument's value as the config writes it: durations as ``"1500ms"``, paths
    as text, tuples and sets as lists, mappings as tables."""
    if isinstance(value, timedelta):
        ms = round(value.total_seconds() * 1000)
        return f"{ms}ms"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): _plain(f"{key}.{k}", v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(key, v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(
        f"`{key}` takes text, numbers, booleans, durations, lists or tables, "
        f"not {type(value).__name__}"
    )


def _shown_url(url: str) -> str:
    """A URL without user info, query and fragment, as the core shows it."""
    url = re.split(r"[?#]", url, maxsplit=1)[0]
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1", url)


class Settings:
    """Keyword arguments checked by the core as one table of a config.

    Subclasses name their ``type`` and the keys whose values are secret (never shown)."""

    _type: ClassVar[str]
    _module: ClassVar[str]
    _secrets: ClassVar[FrozenSet[str]] = frozenset()
    _urls: ClassVar[FrozenSet[str]] = frozenset()

    __slots__ = ("_table",)

    def __init__(self, **settings: Any) -> None:
        if "type" in settings:
            raise TypeError(
                f"{self._what()} sets `type` itself (\"{self._type}\"); leave it out"
            )
        table: Dict[str, Any] = {"type": self._type}
        for key, value in settings.items():
            # A secret of the wrong type is refused here: the config's message would show it.
            if key in self._secrets and value is not None and not isinstance(value, (str, dict)):
                raise TypeError(
                    f"{self._what()}: `{key}` is a str, not {type(value).__name__}"
                )
            if value is not None:
                table[key] = _plain(key, value)
        self._validate(table)
        self._table = table

    @classmethod
    def _what(cls) -> str:
        return f"forewarn.{cls._module}.{cls.__name__}"

    def _validate(self, table: Dict[str, Any]) -> None:
        raise NotImplementedError

    @property
    def settings(self) -> Dict[str, Any]:
        """The settings as the config table holds them (``type`` included). Secret values
        are in it: do not log it."""
        copy: Dict[str, Any] = json.loads(json.dumps(self._table))
        return copy

    def _shown(self, key: str, value: Any) -> str:
        if key in self._secrets:
            return REDACTED
        if key in self._urls and isinstance(value, str):
            return repr(_shown_url(value))
        return repr(value)

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={self._shown(k, v)}" for k, v in self._table.items() if k != "type"
        )
        return f"{self._what()}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and type(other) is type(self) and (
            other._table == self._table
        )

    def __hash__(self) -> int:
        return hash((type(self), json.dumps(self._table, sort_keys=True)))
