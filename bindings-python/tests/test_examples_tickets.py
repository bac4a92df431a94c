"""The help-desk report example, run with this interpreter as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from forewarn import tickets

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "ticket_report.py"


def run(tmp_path: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return out


def test_the_example_generates_a_demo_export_and_reports_it(tmp_path: Path) -> None:
    out = run(tmp_path, "--out", "demo.html")
    text = out.stdout
    assert text.startswith("generated a demo export of ")
    assert "Top topics" in text and "Training suggestions" in text and "FAQ suggestions" in text
    # The table lists the password topic with its counts, and the suggestion to train on it.
    topics = text.split("Top topics", 1)[1].split("Training suggestions", 1)[0]
    assert any(
        line.startswith("Passwords & MFA") and line.split()[3].isdigit()
        for line in topics.splitlines()
    ), topics
    training = text.split("Training suggestions", 1)[1].split("FAQ suggestions", 1)[0]
    assert "Passwords & MFA" in training and "before term starts" in training, training
    assert f"wrote {tmp_path / 'demo.html'}" in text or "wrote demo.html" in text
    assert "<svg" in (tmp_path / "demo.html").read_text()
    assert (tmp_path / "demo.json").exists()


def test_the_example_reads_exports_given_on_the_command_line(tmp_path: Path) -> None:
    truth = tickets.generate(tmp_path / "district.csv", rows=3000, seed=9)
    out = run(tmp_path, "district.csv", "--top", "3", "--out", "r.html")
    assert "generated" not in out.stdout
    assert f"{truth.rows} tickets ({truth.rows} rows read, 0 skipped)" in out.stdout
    topics = out.stdout.split("Top topics", 1)[1].split("Training suggestions", 1)[0]
    assert len(topics.strip().splitlines()) == 2 + 3, topics
    assert (tmp_path / "r.html").exists()
