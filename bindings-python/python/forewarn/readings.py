"""Structured readings: what a probe learnt beyond its status and metrics, as typed objects.

Every :class:`~forewarn.CheckResult` whose probe has more to say carries one in ``reading``: a
printer's every supply and tray (:class:`PrinterReading`), each disk's SMART health
(:class:`DiskReading`), this machine's health (:class:`HostReading`), an HTTP response
(:class:`HttpReading`), a database's role and replication (:class:`DatabaseReading`), or what a
check of your own kept (:class:`CustomReading`). They are the same structures ``forewarn check
--json`` prints and the history keeps; ``to_dict()`` gives that plain form back, whole (fields
this version of the package does not name included).

Example — every supply below 20 %::

    for result in monitor.run_once():
        if isinstance(result.reading, forewarn.readings.PrinterReading):
            for supply in result.reading.supplies:
                if supply.percent is not None and supply.percent < 20:
                    print(result.name, supply.name, f"{supply.percent:.0f} %")
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ._model import Status

__all__ = [
    "Reading",
    "HttpReading",
    "DatabaseReading",
    "Filesystem",
    "Temperature",
    "Battery",
    "HostReading",
    "PrinterIdentity",
    "Supply",
    "Tray",
    "PrinterReading",
    "AtaAttribute",
    "Disk",
    "DiskReading",
    "CustomReading",
    "AnyReading",
]


def _time(v: Optional[str]) -> Optional[datetime]:
    """An RFC 3339 time as an aware datetime (Python 3.9's ``fromisoformat`` takes neither
    ``Z`` nor more than six digits of fraction)."""
    if v is None:
        return None
    s = v.replace("Z", "+00:00")
    if "." in s:
        head, _, rest = s.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        s = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    t = datetime.fromisoformat(s)
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _status(v: Optional[str]) -> Status:
    return Status(v) if v is not None else Status.UNKNOWN


@dataclass(frozen=True)
class Reading:
    """The base of every reading.

    Attributes:
        kind: ``"http"``, ``"database"``, ``"host"``, ``"printer"``, ``"disk"`` or
            ``"custom"``.
    """

    kind: str
    _raw: Mapping[str, Any] = field(repr=False, compare=False)

    def to_dict(self) -> Dict[str, Any]:
        """The reading as plain dicts and lists, as ``forewarn check --json`` prints it."""
        return copy.deepcopy(dict(self._raw))


@dataclass(frozen=True)
class HttpReading(Reading):
    """An HTTP(S) check's response.

    Attributes:
        status_code: The response's status code.
        cert_not_after: When the server's certificate expires (HTTPS), aware UTC.
        cert_days_left: Days until then.
        body_bytes: The size of the body read.
    """

    status_code: int = 0
    cert_not_after: Optional[datetime] = None
    cert_days_left: Optional[float] = None
    body_bytes: Optional[int] = None


@dataclass(frozen=True)
class DatabaseReading(Reading):
    """A database check's view of the server (PostgreSQL, MariaDB/MySQL, Redis).

    Attributes:
        engine: ``"postgres"``, ``"mysql"`` or ``"redis"``.
        rows: Rows the check's query returned.
        role: ``"primary"`` or ``"replica"``, when known.
        replication_lag_seconds: How far a replica is behind.
        replication_running: Whether a replica's replication runs.
        connections_used: Connections in use.
        connections_max: The server's limit.
        size_bytes: The database's (or the data set's) size.
    """

    engine: str = ""
    rows: Optional[int] = None
    role: Optional[str] = None
    replication_lag_seconds: Optional[float] = None
    replication_running: Optional[bool] = None
    connections_used: Optional[int] = None
    connections_max: Optional[int] = None
    size_bytes: Optional[int] = None


@dataclass(frozen=True)
class Filesystem:
    """One file system of a host check.

    Attributes:
        mount: Where it is mounted.
        total_bytes: Its size.
        available_bytes: Space left to ordinary users.
        status: The verdict against the check's (or its standard's) thresholds.
        full_at: When it is full at the recent rate, when the history tells (aware UTC).
    """

    mount: str
    total_bytes: int
    available_bytes: int
    status: Status
    full_at: Optional[datetime]

    @property
    def percent_free(self) -> float:
        """Free space as a percentage of the size."""
        return 100.0 * self.available_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class Temperature:
    """One temperature sensor against its own limits (°C)."""

    sensor: str
    celsius: float
    high_celsius: Optional[float]
    critical_celsius: Optional[float]
    status: Status


@dataclass(frozen=True)
class Battery:
    """A laptop's battery: health is full capacity as a percentage of design capacity."""

    name: str
    health_percent: Optional[float]
    cycle_count: Optional[int]
    state: Optional[str]
    status: Status


@dataclass(frozen=True)
class HostReading(Reading):
    """This machine's health, as a ``host`` check read it.

    The thermal throttling, memory-controller (EDAC) errors, pressure stalls, sustained load
    and boot parts are in :meth:`to_dict` (``thermal_throttle``, ``memory_controllers``,
    ``pressure``, ``sustained``, ``boot``).

    Attributes:
        cpu_percent: CPU busy over the check.
        cores: Logical CPUs.
        load: The 1, 5 and 15 minute load averages, where the system has them.
        memory_total_bytes, memory_available_bytes: Memory.
        swap_total_bytes, swap_used_bytes: Swap.
        filesystems: Every file system checked.
        temperatures: Every temperature sensor.
        batteries: Every battery.
        rebooted: Whether the machine restarted since the previous check.
        not_available: What this machine cannot tell (no sensors in a virtual machine …).
    """

    cpu_percent: float = 0.0
    cores: int = 0
    load: Optional[Tuple[float, float, float]] = None
    memory_total_bytes: int = 0
    memory_available_bytes: int = 0
    swap_total_bytes: int = 0
    swap_used_bytes: int = 0
    filesystems: Tuple[Filesystem, ...] = ()
    temperatures: Tuple[Temperature, ...] = ()
    batteries: Tuple[Battery, ...] = ()
    rebooted: bool = False
    not_available: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PrinterIdentity:
    """Who a printer is, as it says (SNMP system and Printer-MIB names)."""

    sys_name: Optional[str]
    sys_descr: Optional[str]
    location: Optional[str]
    model: Optional[str]
    serial: Optional[str]
    printer_name: Optional[str]


@dataclass(frozen=True)
class Supply:
    """One marker supply (toner, ink, drum, fuser, waste box …) with its verdict.

    Attributes:
        index: prtMarkerSuppliesIndex.
        name: The name a person uses ("Cyan toner", else the printer's description).
        kind: Its type (``"toner"``, ``"opc"``, ``"waste_toner"``, ``"fuser"`` …), given by
            the printer or found from its description (``classified_by`` says which).
        classified_by: The rule that typed it: ``"type_column"``, ``"description"``
            (``classified_word`` is the word), ``"marker_colour_fallback"`` or
            ``"unclassified"``.
        classified_word: The description's word that typed it, for ``"description"``.
        supply_class: ``"consumed"``, ``"receptacle"`` (a waste box) or ``"other"``.
        colour: Its colour, for marker supplies.
        description: The printer's own text.
        part_number: The part to order, when the printer says.
        level, max: The raw level and capacity (negative: -1 unrestricted, -2 unknown, -3
            some remaining).
        level_kind: ``"known"`` (``percent`` is set), ``"some_remaining"``, ``"unknown"`` or
            ``"unrestricted"``.
        percent: What is left (a receptacle: space left), when known.
        percent_full: How full a receptacle is, when known.
        days_left: Days until empty at the recent rate, when the history tells.
        verdict: Its :class:`~forewarn.Status` against the check's thresholds.
    """

    index: int
    name: str
    kind: str
    classified_by: str
    classified_word: Optional[str]
    supply_class: str
    colour: Optional[str]
    description: str
    part_number: Optional[str]
    level: Optional[int]
    max: Optional[int]
    level_kind: str
    percent: Optional[float]
    percent_full: Optional[float]
    days_left: Optional[float]
    verdict: Status


@dataclass(frozen=True)
class Tray:
    """One paper input with its verdict.

    Attributes:
        index: prtInputIndex.
        name: Its name ("Tray 2", "MP Tray").
        media: The paper it holds, when the printer says.
        level, max: Sheets in it and its capacity (negative: as for supplies).
        state: ``"empty"``, ``"known"``, ``"some_remaining"``, ``"unknown"`` or
            ``"unrestricted"``.
        percent: How full it is, when known.
        bypass_reason: Why it is taken for a bypass (multipurpose) tray: ``"name"``,
            ``"manual_feed"``, ``"one_sheet"``, ``"small_unnamed"``, or ``None``.
        treated_as_bypass: Whether it is treated as one (its empty state is normal).
        verdict: Its :class:`~forewarn.Status`.
    """

    index: int
    name: str
    media: Optional[str]
    level: Optional[int]
    max: Optional[int]
    state: str
    percent: Optional[float]
    bypass_reason: Optional[str]
    treated_as_bypass: bool
    verdict: Status


@dataclass(frozen=True)
class PrinterReading(Reading):
    """A printer as one poll read it. Covers and the alert table are in :meth:`to_dict`.

    Attributes:
        identity: Names, model, serial, location.
        device_status: hrDeviceStatus (``"running"``, ``"warning"``, ``"down"`` …).
        printer_status: hrPrinterStatus (``"idle"``, ``"printing"`` …).
        errors: The error bits set (``"no_toner"``, ``"jammed"``, ``"door_open"`` …).
        supplies: Every supply.
        trays: Every tray.
        page_count: The page counter.
    """

    identity: PrinterIdentity = field(
        default_factory=lambda: PrinterIdentity(None, None, None, None, None, None)
    )
    device_status: Optional[str] = None
    printer_status: Optional[str] = None
    errors: Tuple[str, ...] = ()
    supplies: Tuple[Supply, ...] = ()
    trays: Tuple[Tray, ...] = ()
    page_count: Optional[int] = None

    def lowest(self) -> Optional[Supply]:
        """The consumed supply with the least left (by percent), or ``None``."""
        known = [s for s in self.supplies if s.percent is not None and s.supply_class != "receptacle"]
        return min(known, key=lambda s: s.percent or 0.0) if known else None


@dataclass(frozen=True)
class AtaAttribute:
    """One ATA SMART attribute, as smartctl decodes it."""

    id: int
    name: str
    value: Optional[int]
    worst: Optional[int]
    thresh: Optional[int]
    when_failed: str
    prefailure: bool
    raw: Optional[int]


@dataclass(frozen=True)
class Disk:
    """One disk as smartctl read it, with its verdict. NVMe and SCSI health logs are in
    :meth:`DiskReading.to_dict`.

    Attributes:
        device: The device (``/dev/sda``).
        device_type: smartctl's ``-d`` type, when one was given or found.
        status: The verdict.
        reasons: Why, in words ("reallocated sectors 0 → 8 → 24 in 3 days").
        protocol: ``"ata"``, ``"nvme"`` or ``"scsi"``.
        model, serial, firmware: Who it is.
        capacity_bytes: Its size.
        passed: smartctl's overall assessment.
        temperature, temperature_limit: °C now, and the drive's own limit.
        power_on_hours: Hours powered on.
        percentage_used: Wear (NVMe percentage used, or the SSD's wear attribute).
        attributes: ATA attributes.
        messages: smartctl's own messages (why a disk cannot be read).
    """

    device: str
    device_type: Optional[str]
    status: Status
    reasons: Tuple[str, ...]
    protocol: Optional[str]
    model: Optional[str]
    serial: Optional[str]
    firmware: Optional[str]
    capacity_bytes: Optional[int]
    passed: Optional[bool]
    temperature: Optional[int]
    temperature_limit: Optional[int]
    power_on_hours: Optional[int]
    percentage_used: Optional[int]
    attributes: Tuple[AtaAttribute, ...]
    messages: Tuple[str, ...]


@dataclass(frozen=True)
class DiskReading(Reading):
    """Every disk a ``smart`` check read."""

    disks: Tuple[Disk, ...] = ()


@dataclass(frozen=True)
class CustomReading(Reading):
    """What a check of your own kept (any JSON value)."""

    value: Any = None


AnyReading = Union[
    HttpReading, DatabaseReading, HostReading, PrinterReading, DiskReading, CustomReading, Reading
]
"""Any reading; an unknown kind (from a newer core) is a plain :class:`Reading`."""


def _supply(d: Mapping[str, Any]) -> Supply:
    rule = d.get("classified_by") or {}
    return Supply(
        index=d["index"],
        name=d["name"],
        kind=_variant(d.get("kind")),
        classified_by=rule.get("rule", "unclassified"),
        classified_word=rule.get("word"),
        supply_class=d.get("class", "other"),
        colour=d.get("colour"),
        description=d.get("description", ""),
        part_number=d.get("part_number"),
        level=d.get("level"),
        max=d.get("max"),
        level_kind=d.get("level_kind", "unknown"),
        percent=d.get("percent"),
        percent_full=d.get("percent_full"),
        days_left=d.get("days_left"),
        verdict=_status(d.get("verdict")),
    )


def _variant(v: Any) -> str:
    """A Rust enum's serde form as a word: ``"toner"``, or ``{"other": 1}`` → ``"other"``,
    ``{"known": 50.0}`` → ``"known"``."""
    if isinstance(v, dict) and len(v) == 1:
        return str(next(iter(v)))
    return str(v) if v is not None else "unknown"


def _tray(d: Mapping[str, Any]) -> Tray:
    state = d.get("state")
    percent = state.get("known") if isinstance(state, dict) else None
    return Tray(
        index=d["index"],
        name=d.get("name", ""),
        media=d.get("media"),
        level=d.get("level"),
        max=d.get("max"),
        state=_variant(state),
        percent=percent,
        bypass_reason=d.get("bypass_reason"),
        treated_as_bypass=bool(d.get("treated_as_bypass")),
        verdict=_status(d.get("verdict")),
    )


def _disk(d: Mapping[str, Any]) -> Disk:
    h: Mapping[str, Any] = d.get("health") or {}
    return Disk(
        device=d.get("device", ""),
        device_type=d.get("device_type"),
        status=_status(d.get("status")),
        reasons=tuple(d.get("reasons", ())),
        protocol=h.get("protocol"),
        model=h.get("model"),
        serial=h.get("serial"),
        firmware=h.get("firmware"),
        capacity_bytes=h.get("capacity_bytes"),
        passed=h.get("passed"),
        temperature=h.get("temperature"),
        temperature_limit=h.get("temperature_limit"),
        power_on_hours=h.get("power_on_hours"),
        percentage_used=h.get("percentage_used"),
        attributes=tuple(
            AtaAttribute(
                id=a["id"],
                name=a.get("name", ""),
                value=a.get("value"),
                worst=a.get("worst"),
                thresh=a.get("thresh"),
                when_failed=a.get("when_failed", "never"),
                prefailure=bool(a.get("prefailure")),
                raw=a.get("raw"),
            )
            for a in h.get("attributes", ())
        ),
        messages=tuple(h.get("messages", ())),
    )


def from_dict(d: Optional[Mapping[str, Any]]) -> Optional[AnyReading]:
    """The typed reading of its plain form (as ``to_dict()`` and ``check --json`` give it)."""
    if d is None:
        return None
    kind = d.get("kind", "")
    if kind == "http":
        return HttpReading(
            kind,
            d,
            status_code=d.get("status_code", 0),
            cert_not_after=_time(d.get("cert_not_after")),
            cert_days_left=d.get("cert_days_left"),
            body_bytes=d.get("body_bytes"),
        )
    if kind == "database":
        return DatabaseReading(
            kind,
            d,
            engine=d.get("engine", ""),
            rows=d.get("rows"),
            role=d.get("role"),
            replication_lag_seconds=d.get("replication_lag_seconds"),
            replication_running=d.get("replication_running"),
            connections_used=d.get("connections_used"),
            connections_max=d.get("connections_max"),
            size_bytes=d.get("size_bytes"),
        )
    if kind == "host":
        load = d.get("load")
        return HostReading(
            kind,
            d,
            cpu_percent=d.get("cpu_percent", 0.0),
            cores=d.get("cores", 0),
            load=(load[0], load[1], load[2]) if load else None,
            memory_total_bytes=d.get("memory_total_bytes", 0),
            memory_available_bytes=d.get("memory_available_bytes", 0),
            swap_total_bytes=d.get("swap_total_bytes", 0),
            swap_used_bytes=d.get("swap_used_bytes", 0),
            filesystems=tuple(
                Filesystem(
                    mount=f["mount"],
                    total_bytes=f.get("total_bytes", 0),
                    available_bytes=f.get("available_bytes", 0),
                    status=_status(f.get("status")),
                    full_at=_time(f.get("full_at")),
                )
                for f in d.get("filesystems", ())
            ),
            temperatures=tuple(
                Temperature(
                    sensor=t.get("sensor", ""),
                    celsius=t.get("celsius", 0.0),
                    high_celsius=t.get("high_celsius"),
                    critical_celsius=t.get("critical_celsius"),
                    status=_status(t.get("status")),
                )
                for t in d.get("temperatures", ())
            ),
            batteries=tuple(
                Battery(
                    name=b.get("name", ""),
                    health_percent=b.get("health_percent"),
                    cycle_count=b.get("cycle_count"),
                    state=b.get("state"),
                    status=_status(b.get("status")),
                )
                for b in d.get("batteries", ())
            ),
            rebooted=bool((d.get("boot") or {}).get("rebooted")),
            not_available=tuple(d.get("not_available", ())),
        )
    if kind == "printer":
        ident: Mapping[str, Any] = d.get("identity") or {}
        return PrinterReading(
            kind,
            d,
            identity=PrinterIdentity(
                sys_name=ident.get("sys_name"),
                sys_descr=ident.get("sys_descr"),
                location=ident.get("location"),
                model=ident.get("model"),
                serial=ident.get("serial"),
                printer_name=ident.get("printer_name"),
            ),
            device_status=_variant(d["device_status"]) if d.get("device_status") else None,
            printer_status=_variant(d["printer_status"]) if d.get("printer_status") else None,
            errors=tuple(_variant(e) for e in d.get("errors", ())),
            supplies=tuple(_supply(s) for s in d.get("supplies", ())),
            trays=tuple(_tray(t) for t in d.get("trays", ())),
            page_count=d.get("page_count"),
        )
    if kind == "disk":
        return DiskReading(kind, d, disks=tuple(_disk(x) for x in d.get("disks", ())))
    if kind == "custom":
        return CustomReading(kind, d, value=d.get("value"))
    return Reading(kind, d)
