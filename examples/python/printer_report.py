"""The district's printers in one table: every printer's state, its supplies and what to order.

Reads a forewarn config listing the printers (``type = "printer"`` checks, as in
examples/printers.toml), polls each once over SNMP, and prints one row per printer — status,
the lowest supply, supplies to order (Warning or worse, with the part number when the
printer says), trays that need paper — then the order list. ``--csv FILE`` also writes every
supply of every printer to a spreadsheet.

    python examples/python/printer_report.py printers.toml --csv supplies.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import List, Optional, Sequence

import forewarn
from forewarn.readings import PrinterReading, Supply


def describe(supply: Supply) -> str:
    """A supply's level in words: "16 %", "some left", "level unknown"."""
    if supply.percent is not None:
        return f"{supply.percent:.0f} %"
    return {
        "some_remaining": "some left",
        "unrestricted": "no limit",
    }.get(supply.level_kind, "level unknown")


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as a plain-text table with a rule under the first."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Prints the report; the exit status is 2 when a printer is Critical, 1 when one needs
    attention, else 0 (as monitoring plugins do)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="a forewarn config with the district's printer checks")
    parser.add_argument("--csv", metavar="FILE", help="also write every supply to FILE")
    args = parser.parse_args(argv)

    try:
        monitor = forewarn.Monitor.from_config(args.config)
    except forewarn.ForewarnError as e:
        # A config mistake reads `printers.toml:4:1: …`, like a compiler's.
        print(e, file=sys.stderr)
        return 3
    results = [r for r in monitor.run_once() if r.kind == "printer"]
    if not results:
        print(f"{args.config}: no printer checks", file=sys.stderr)
        return 3

    rows = [["printer", "status", "lowest supply", "to order", "trays"]]
    orders: List[str] = []
    spreadsheet = [["printer", "supply", "part number", "level", "days left", "verdict"]]
    for r in results:
        reading = r.reading
        if not isinstance(reading, PrinterReading):
            rows.append([r.name, str(r.status), r.summary, "", ""])
            continue
        lowest = reading.lowest()
        due = [s for s in reading.supplies if s.verdict is not forewarn.Status.OK]
        for s in due:
            part = f" ({s.part_number})" if s.part_number else ""
            orders.append(f"{r.name}: {s.name}{part} — {describe(s)}")
        trays = [t for t in reading.trays if t.verdict is not forewarn.Status.OK]
        rows.append(
            [
                r.name,
                str(r.status),
                f"{lowest.name} {describe(lowest)}" if lowest else "-",
                ", ".join(s.name for s in due) or "-",
                ", ".join(f"{t.name} {t.state}" for t in trays) or "ok",
            ]
        )
        for s in reading.supplies:
            spreadsheet.append(
                [
                    r.name,
                    s.name,
                    s.part_number or "",
                    describe(s),
                    f"{s.days_left:.0f}" if s.days_left is not None else "",
                    str(s.verdict),
                ]
            )

    print(table(rows))
    print()
    print("To order:" if orders else "Nothing to order.")
    for line in orders:
        print(f"  {line}")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(spreadsheet)
        print(f"\n{len(spreadsheet) - 1} supplies written to {args.csv}")

    worst = {r.status for r in results}
    if forewarn.Status.CRITICAL in worst:
        return 2
    return 1 if worst & {forewarn.Status.WARNING, forewarn.Status.UNKNOWN} else 0


if __name__ == "__main__":
    sys.exit(main())
