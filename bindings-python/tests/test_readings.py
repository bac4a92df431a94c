"""Structured readings come back typed: a printer's supplies and trays from a real SNMP agent
(snmpsim serving the project's own recordings), a disk's SMART health through a stand-in
smartctl replaying a real recording, an HTTP response from a real server, this machine's
health."""

from __future__ import annotations

import http.server
import json
import os
import stat
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

import forewarn
from forewarn.readings import (
    DiskReading,
    HostReading,
    HttpReading,
    PrinterReading,
    from_dict,
)
from peers import ROOT, start_snmpsim


def monitor_of(tmp_path: Path, checks: str) -> forewarn.Monitor:
    db = json.dumps(str(tmp_path / "history.db"))
    return forewarn.Monitor.from_config(f"[monitor]\ndatabase = {db}\n\n{checks}")


def only(results: List[forewarn.CheckResult]) -> forewarn.CheckResult:
    """The one result that is not the history store's own check."""
    (result,) = [r for r in results if r.name != "history-store"]
    return result


def printer_check(name: str, port: int, community: str, extra: str = "") -> str:
    return (
        "[[checks]]\n"
        f'name = "{name}"\n'
        'type = "printer"\n'
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        f'community = "{community}"\n'
        'timeout = "9s"\n'
        f"{extra}\n"
    )


@pytest.fixture(scope="module")
def printers() -> Iterator[int]:
    """snmpsim serving the project's own printer fixtures; its port."""
    sim = start_snmpsim(["untyped_hp", "bypass_trays", "unknown_level"])
    try:
        yield sim.port
    finally:
        sim.stop()


def test_an_untyped_hp_supply_table_is_typed_by_description(tmp_path: Path, printers: int) -> None:
    monitor = monitor_of(tmp_path, printer_check("hp", printers, "untyped_hp"))
    result = only(monitor.run_once())
    reading = result.reading
    assert isinstance(reading, PrinterReading), result
    assert reading.kind == "printer"
    assert reading.supplies, reading
    by_rule = {s.classified_by for s in reading.supplies}
    # The fixture gives no prtMarkerSuppliesType: every supply was typed another way.
    assert "type_column" not in by_rule, by_rule
    black = [s for s in reading.supplies if "Black Cartridge" in s.description]
    assert black and black[0].kind in ("toner", "toner_cartridge"), reading.supplies
    assert black[0].classified_by == "description", black
    assert black[0].classified_word, black
    for s in reading.supplies:
        assert isinstance(s.verdict, forewarn.Status)
        if s.level_kind == "known":
            assert s.percent is not None and 0 <= s.percent <= 100
    # The plain form is the whole structure, as check --json prints it.
    plain = reading.to_dict()
    assert plain["kind"] == "printer"
    assert len(plain["supplies"]) == len(reading.supplies)
    assert from_dict(plain) == reading


def test_a_level_of_unknown_capacity_reads_unknown_not_empty(tmp_path: Path, printers: int) -> None:
    monitor = monitor_of(tmp_path, printer_check("unknown", printers, "unknown_level"))
    result = only(monitor.run_once())
    reading = result.reading
    assert isinstance(reading, PrinterReading)
    unknown = [s for s in reading.supplies if s.max == -2]
    assert unknown, reading.supplies
    assert all(s.level_kind == "unknown" and s.percent is None for s in unknown)
    assert result.status is not forewarn.Status.CRITICAL, result.summary


def test_small_unnamed_trays_are_bypass_trays(tmp_path: Path, printers: int) -> None:
    monitor = monitor_of(tmp_path, printer_check("trays", printers, "bypass_trays"))
    result = only(monitor.run_once())
    reading = result.reading
    assert isinstance(reading, PrinterReading)
    bypass = [t for t in reading.trays if t.treated_as_bypass]
    assert bypass, reading.trays
    assert all(t.bypass_reason is not None for t in bypass)
    empty_bypass = [t for t in bypass if t.state == "empty"]
    assert empty_bypass and all(t.verdict is forewarn.Status.OK for t in empty_bypass), bypass
    # Only the fixture's removable cassettes (2 and 5) are trays to fill.
    assert result.status is forewarn.Status.WARNING
    assert result.summary == "trays: Tray 2 empty, Tray 5 empty", result.summary
    assert all(t.name not in result.summary for t in empty_bypass)


def stand_in_smartctl(tmp_path: Path, recording: Path) -> Path:
    """A `smartctl` that prints `recording` and exits with the status it records."""
    code = json.loads(recording.read_text())["smartctl"].get("exit_status", 0)
    program = tmp_path / "smartctl"
    program.write_text(f"#!/bin/sh\ncat '{recording}'\nexit {code}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return program


def test_a_failing_nvme_disk_reads_as_a_typed_disk(tmp_path: Path) -> None:
    recording = ROOT / "tests" / "data" / "smart" / "nvme_failing.json"
    program = stand_in_smartctl(tmp_path, recording)
    monitor = monitor_of(
        tmp_path,
        "[[checks]]\n"
        'name = "disks"\n'
        'type = "smart"\n'
        f"smartctl = {json.dumps(str(program))}\n"
        'devices = ["/dev/nvme0"]\n',
    )
    result = only(monitor.run_once())
    reading = result.reading
    assert isinstance(reading, DiskReading), result
    (disk,) = reading.disks
    assert disk.device == "/dev/nvme0"
    assert disk.protocol == "nvme"
    assert disk.status is forewarn.Status.CRITICAL
    assert result.status is forewarn.Status.CRITICAL
    assert disk.reasons, disk
    assert reading.to_dict()["disks"][0]["health"]["nvme"]["critical_warning"] != 0


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_http_and_host_readings(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        monitor = monitor_of(
            tmp_path,
            "[[checks]]\n"
            'name = "portal"\n'
            'type = "http"\n'
            f'url = "http://127.0.0.1:{port}/health"\n\n'
            "[[checks]]\n"
            'name = "this-machine"\n'
            'type = "host"\n',
        )
        results: List[forewarn.CheckResult] = monitor.run_once()
    finally:
        server.shutdown()
    by_name = {r.name: r for r in results}
    http_reading = by_name["portal"].reading
    assert isinstance(http_reading, HttpReading), by_name["portal"]
    assert http_reading.status_code == 200
    assert http_reading.cert_not_after is None
    host = by_name["this-machine"].reading
    assert isinstance(host, HostReading), by_name["this-machine"]
    assert host.cores == os.cpu_count()
    assert host.memory_total_bytes > host.memory_available_bytes > 0
    assert any(f.mount == "/" for f in host.filesystems), host.filesystems
    root = next(f for f in host.filesystems if f.mount == "/")
    assert 0 < root.percent_free <= 100
    assert isinstance(root.status, forewarn.Status)


def test_times_in_readings_are_aware() -> None:
    reading = from_dict(
        {
            "kind": "http",
            "status_code": 200,
            "cert_not_after": "2027-01-31T23:59:59.123456789Z",
            "cert_days_left": 57.5,
        }
    )
    assert isinstance(reading, HttpReading)
    assert reading.cert_not_after is not None
    assert reading.cert_not_after.utcoffset() is not None
    assert reading.cert_not_after.year == 2027 and reading.cert_not_after.microsecond == 123456
    # A kind this package does not know stays whole.
    other = from_dict({"kind": "future", "x": 1})
    assert other is not None and other.kind == "future" and other.to_dict() == {
        "kind": "future",
        "x": 1,
    }
