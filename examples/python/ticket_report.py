"""Help-desk report: the top topics and the recommendations of a help-desk export.

    python ticket_report.py [EXPORT ...] [--calendar CALENDAR] [--out REPORT.html]

Without exports, it generates a demo district's export (and its school calendar) first.
Prints the largest topics and the training and FAQ suggestions as tables, and writes the
HTML report (with its JSON twin).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

from forewarn import tickets


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: columns as wide as their widest cell, numbers right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join(
        [line(list(headers)), line(["-" * w for w in widths])] + [line(r) for r in cells]
    )


def shorten(text: str, width: int = 60) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the example; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("exports", nargs="*", type=Path, help="export files or directories")
    parser.add_argument("--calendar", type=Path, help="school calendar (TOML or CSV)")
    parser.add_argument("--out", type=Path, default=Path("ticket-report.html"))
    parser.add_argument("--top", type=int, default=10, help="topics to list")
    args = parser.parse_args(argv)

    exports: List[Path] = list(args.exports)
    calendar: Optional[Path] = args.calendar
    demo_dir: Optional[tempfile.TemporaryDirectory[str]] = None
    if not exports:
        demo_dir = tempfile.TemporaryDirectory()
        demo = Path(demo_dir.name)
        truth = tickets.generate(
            demo / "demo-export.csv", rows=6000, seed=3, calendar_out=demo / "calendar.toml"
        )
        print(f"generated a demo export of {truth.rows} tickets")
        exports = [demo / "demo-export.csv"]
        calendar = demo / "calendar.toml"

    try:
        analysis = tickets.analyze(exports, calendar, args.out)
    finally:
        if demo_dir is not None:
            demo_dir.cleanup()

    s = analysis.ingest
    print(f"{s.accepted} tickets ({s.read} rows read, {s.skipped} skipped)")
    for p in s.problems[:5]:
        print(f"  skipped {p.file}:{p.line}: {p.reason}")

    print("\nTop topics")
    print(
        table(
            # "from devices": alert mails a device or a monitoring system sent into the queue.
            ["topic", "tickets", "requesters", "from devices", "keywords"],
            [
                (
                    shorten(t.name, 40),
                    t.tickets,
                    t.distinct_requesters,
                    t.automated,
                    ", ".join(t.top_terms[:4]),
                )
                for t in analysis.topics.topics[: args.top]
            ],
        )
    )

    r = analysis.recommendations
    print("\nTraining suggestions")
    print(
        table(
            ["topic", "score", "when", "why"],
            [
                (
                    shorten(t.topic, 40),
                    t.score,
                    shorten(t.timing, 40),
                    shorten("; ".join(t.reasons)),
                )
                for t in r.training
            ],
        )
    )
    print("\nFAQ suggestions")
    print(
        table(
            ["question", "tickets", "requesters", "covered by"],
            [
                (shorten(f.question, 50), f.tickets, f.distinct_requesters, f.covered_by or "-")
                for f in r.faq
            ],
        )
    )
    spikes = list(analysis.trends.unexpected_spikes())
    print(f"\n{len(spikes)} unexpected spike(s)")
    for sp in spikes[:5]:
        print(f"  week of {sp.week}: {sp.key} ({sp.dimension}) {sp.count} vs {sp.expected:.1f}")
    print(f"\nwrote {analysis.report} and {analysis.json_report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
