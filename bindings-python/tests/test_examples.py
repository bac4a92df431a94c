"""The Python examples under examples/python, run as a user runs them (the installed package,
a real peer on loopback)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from peers import ROOT, Snmpsim, start_snmpsim

EXAMPLES = ROOT / "examples" / "python"

SHARED = [
    "brother",
    "canonprinter_tm",
    "epson",
    "fujifilmprinter_c7580",
    "jetdirect_m880",
    "konica_c250i",
    "okilan_9450g",
    "ricoh_mpc3002",
    "samsungprinter_m4080fx",
    "xerox",
]
"""The shared recordings of real printers, by community."""


@pytest.fixture(scope="module")
def district() -> Iterator[Snmpsim]:
    """snmpsim serving the ten real printers."""
    sim = start_snmpsim(SHARED)
    try:
        yield sim
    finally:
        sim.stop()


def run(script: str, *args: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_printer_report_tables_the_districts_printers(tmp_path: Path, district: Snmpsim) -> None:
    config = tmp_path / "printers.toml"
    checks = "".join(
        "[[checks]]\n"
        f'name = "{name}"\n'
        'type = "printer"\n'
        'host = "127.0.0.1"\n'
        f"port = {district.port}\n"
        f'community = "{name}"\n'
        'timeout = "9s"\n\n'
        for name in SHARED
    )
    config.write_text(f"[monitor]\ndatabase = {json.dumps(str(tmp_path / 'p.db'))}\n\n{checks}")
    out = run("printer_report.py", str(config), "--csv", "supplies.csv", cwd=tmp_path)
    assert out.stderr == "", out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["printer", "status", "lowest", "supply", "to"], lines[0]
    rows = {line.split()[0]: line for line in lines[2:12]}
    assert sorted(rows) == sorted(SHARED), out.stdout
    # What the recordings say (tests/printer.rs works them out from the raw values).
    assert "Cyan toner 16 %" in rows["jetdirect_m880"], rows["jetdirect_m880"]
    assert rows["jetdirect_m880"].split()[1] == "warning"
    assert rows["brother"].split()[1] == "ok"
    assert rows["epson"].split()[1] == "critical", rows["epson"]
    assert "Tray 5" not in rows["fujifilmprinter_c7580"], "the bypass tray is not a tray to fill"
    assert "To order:" in out.stdout
    assert "  jetdirect_m880: Cyan toner" in out.stdout
    # A Critical printer makes the exit status 2, as monitoring plugins do.
    assert out.returncode == 2, out
    with open(tmp_path / "supplies.csv", newline="", encoding="utf-8") as f:
        sheet = list(csv.reader(f))
    assert sheet[0] == ["printer", "supply", "part number", "level", "days left", "verdict"]
    assert {row[0] for row in sheet[1:]} == set(SHARED)
    assert f"{len(sheet) - 1} supplies written to supplies.csv" in out.stdout
    xerox = [row for row in sheet if row[0] == "xerox" and row[1] == "Black toner"]
    assert xerox and xerox[0][2] == "006R01509" and xerox[0][3] == "20 %", xerox


def test_printer_report_names_a_config_mistake(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[checks]]\nname = "x"\ntype = "printer"\nhots = "10.0.0.1"\n')
    out = run("printer_report.py", str(config), cwd=tmp_path)
    assert out.returncode != 0
    assert f"{config}:4:1" in out.stderr, out.stderr
    assert "hots" in out.stderr
