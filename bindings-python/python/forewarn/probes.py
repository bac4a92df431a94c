"""The built-in probes, made from keyword arguments.

Each class takes exactly the keys of its ``[[checks]]`` entry in a config file (``type`` set
by the class, ``name`` given when the check is added to a monitor), probe keys and check
keys alike, and is checked when it is made by the same validation as a config, with the same
messages::

    from forewarn import probes

    sis = probes.Http(url="https://sis.example.org/health", interval="5s", timeout="3s")
    core_switch = probes.Tcp(target="10.0.0.1:22", failure_threshold=1)

Durations are written as in a config (``"5s"``, ``"2m"``) or given as ``timedelta``. A
``depends_on`` or ``policy`` naming another check or policy is checked when the monitor is
built. An invalid value raises :class:`forewarn.ConfigError` naming the key.

The check keys every probe takes: ``interval``, ``timeout``, ``group``, ``depends_on``,
``policy``, ``failure_threshold``, ``success_threshold``, ``flapping``, ``owner`` and
``location``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, FrozenSet

from . import _native
from ._settings import Settings

__all__ = [
    "BuiltinProbe",
    "Host",
    "Http",
    "Mysql",
    "Postgres",
    "Printer",
    "Process",
    "Redis",
    "Smart",
    "Tcp",
    "CHECK_KEYS",
]

CHECK_KEYS: FrozenSet[str] = frozenset(
    {
        "interval",
        "timeout",
        "group",
        "depends_on",
        "policy",
        "failure_threshold",
        "success_threshold",
        "flapping",
        "owner",
        "location",
    }
)
"""The keys of a ``[[checks]]`` entry besides its name, its ``type`` and its probe's own."""

# Checked against the other checks and policies when the monitor is built.
_CHECKED_AT_BUILD = frozenset({"depends_on", "policy"})


class BuiltinProbe(Settings):
    """A built-in probe and its check's settings; add it with
    :meth:`forewarn.MonitorBuilder.check`."""

    _module = "probes"
    __slots__ = ()

    def _validate(self, table: Dict[str, Any]) -> None:
        alone = {k: v for k, v in table.items() if k not in _CHECKED_AT_BUILD}
        _native.validate_probe(self._what(), json.dumps(alone))


class Tcp(BuiltinProbe):
    """A TCP connect, optionally with a banner exchange (``type = "tcp"``).

    Keys: ``target`` (``"host:port"``) or ``host`` and ``port``; ``send``, ``expect``
    (a text the banner must start with), ``latency`` (``{"warning": "200ms",
    "critical": "1s"}``), plus the check keys.
    """

    _type = "tcp"
    __slots__ = ()


class Http(BuiltinProbe):
    """An HTTP(S) request (``type = "http"``).

    Keys: ``url``, ``method``, ``body``, ``headers`` (secret), ``expect_status``,
    ``body_contains``, ``body_regex``, ``body_not_contains``, ``latency``,
    ``follow_redirects``, ``insecure``, ``cert_expiry``, ``basic_auth`` (secret),
    ``bearer_token`` (secret), plus the check keys.
    """

    _type = "http"
    _secrets = frozenset({"headers", "basic_auth", "bearer_token"})
    _urls = frozenset({"url"})
    __slots__ = ()


class Host(BuiltinProbe):
    """This machine's health: CPU, load, memory, swap, disks, temperatures, reboots
    (``type = "host"``).

    Keys: ``cpu``, ``load_per_core``, ``memory_available``, ``swap_used``, ``disk_free``,
    ``disk_free_bytes``, ``mounts``, ``ignore_mounts``, ``temperature_margin``,
    ``battery_health``, ``reboot``, ``sustained``, ``disk_full_within``, ``standard``,
    ``root``, plus the check keys.
    """

    _type = "host"
    __slots__ = ()


class Postgres(BuiltinProbe):
    """A PostgreSQL query (``type = "postgres"``).

    Keys: ``host``, ``port``, ``socket``, ``database``, ``user``, ``password`` (secret),
    ``tls``, ``tls_ca_file``, ``query``, ``statement_timeout``, ``expect``, ``latency``,
    ``connections``, ``replication_lag``, ``database_size``, ``growth_per_hour``,
    ``keep_connection``, plus the check keys.
    """

    _type = "postgres"
    _secrets = frozenset({"password"})
    __slots__ = ()


class Mysql(BuiltinProbe):
    """A MariaDB or MySQL query (``type = "mysql"``).

    Keys: ``host``, ``port``, ``socket``, ``database``, ``user``, ``password`` (secret),
    ``tls``, ``tls_ca_file``, ``query``, ``statement_timeout``, ``expect``, ``latency``,
    ``connections``, ``replication_lag``, ``keep_connection``, plus the check keys.
    """

    _type = "mysql"
    _secrets = frozenset({"password"})
    __slots__ = ()


class Redis(BuiltinProbe):
    """A Redis command (``type = "redis"``).

    Keys: ``host``, ``port``, ``socket``, ``username``, ``password`` (secret),
    ``database``, ``tls``, ``command``, ``expect``, ``latency``, ``memory``, ``clients``,
    ``replication``, ``keep_connection``, plus the check keys.
    """

    _type = "redis"
    _secrets = frozenset({"password"})
    __slots__ = ()


class Process(BuiltinProbe):
    """A named process on this machine (``type = "process"``).

    Keys: ``name_is``, ``pattern``, ``min``, ``max``, ``restart_warning``, plus the check
    keys.
    """

    _type = "process"
    __slots__ = ()


class Printer(BuiltinProbe):
    """A printer over SNMP (Printer-MIB): supplies, trays, jams, doors
    (``type = "printer"``).

    Keys: ``host``, ``port``, ``version``, ``community`` (secret), ``user``,
    ``auth_protocol``, ``auth_password`` (secret), ``privacy_protocol``,
    ``privacy_password`` (secret), ``context``, ``request_timeout``, ``retries``,
    ``max_repetitions``, ``thresholds``, ``low_paper_percent``, ``bypass_trays``,
    ``waste_level``, ``forecast``, ``full_poll_every``, ``full_poll_max_age``, plus the
    check keys.
    """

    _type = "printer"
    _secrets = frozenset({"community", "auth_password", "privacy_password"})
    __slots__ = ()


class Smart(BuiltinProbe):
    """This machine's disks read with smartctl (``type = "smart"``).

    Keys: ``devices``, ``smartctl``, ``wear_warning``, ``wear_horizon``, ``trend_window``,
    plus the check keys.
    """

    _type = "smart"
    __slots__ = ()
