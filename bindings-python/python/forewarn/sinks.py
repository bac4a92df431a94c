"""The built-in sinks, made from keyword arguments.

Each class takes exactly the keys of its ``[sinks.NAME]`` section in a config file (``type``
set by the class, the name given when the sink is added to a monitor), ``rate_limit``
(``"20/min"``) included, and is checked when it is made by the same validation as a config,
with the same messages::

    from forewarn import sinks

    ict = sinks.Email(host="smtp.example.org", from_="forewarn@example.org",
                      to=["ict@example.org"], password="…")

``from`` is a Python keyword: write it ``from_``. Secrets (passwords, webhook URLs and
headers, the acknowledgement secret) never appear in a repr.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from . import _native
from ._settings import Settings

__all__ = ["BuiltinSink", "Email", "File", "Log", "Webhook"]


class BuiltinSink(Settings):
    """A built-in sink; add it with :meth:`forewarn.MonitorBuilder.sink`."""

    _module = "sinks"
    __slots__ = ()

    def __init__(self, **settings: Any) -> None:
        if "from_" in settings:
            settings["from"] = settings.pop("from_")
        super().__init__(**settings)

    def _validate(self, table: Dict[str, Any]) -> None:
        _native.validate_sink(self._what(), json.dumps(table))


class Log(BuiltinSink):
    """Structured log lines (``type = "log"``).

    Keys: ``path`` (default standard output), ``format``, ``rate_limit``.
    """

    _type = "log"
    __slots__ = ()


class File(BuiltinSink):
    """A local outbox file of JSON lines (``type = "file"``).

    Keys: ``path``, ``rate_limit``.
    """

    _type = "file"
    __slots__ = ()


class Webhook(BuiltinSink):
    """A JSON POST: generic, Slack or Teams (``type = "webhook"``).

    Keys: ``url`` (secret: it often holds a token), ``format``, ``headers`` (secret),
    ``timeout``, ``rate_limit``.
    """

    _type = "webhook"
    _secrets = frozenset({"url", "headers"})
    __slots__ = ()


class Email(BuiltinSink):
    """E-mail over SMTP to addresses and distribution lists (``type = "email"``).

    Keys: ``host``, ``port``, ``tls``, ``allow_plaintext``, ``username``, ``password``
    (secret), ``from_`` (the config's ``from``), ``reply_to``, ``to``, ``lists``,
    ``subject_prefix``, ``status_page_url``, ``ack_url_base``, ``ack_secret`` (secret),
    ``ack_valid_for``, ``timeout``, ``ca_file``, ``insecure``, ``rate_limit``.
    """

    _type = "email"
    _secrets = frozenset({"password", "ack_secret"})
    __slots__ = ()
