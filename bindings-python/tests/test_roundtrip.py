"""The whole way round, from Python: a probe written in Python finds the district's web app
down → the incident opens → the on-call list's e-mail arrives at a real SMTP server →
``acknowledge()`` → the second tier is never told. The same monitor without the
acknowledgement tells the second tier, so the test can tell the difference."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List

import forewarn
from forewarn import sinks
from peers import Smtp


class DownApp:
    """The web app, down: a Python probe that always finds it so."""

    kind = "webapp"

    def __init__(self) -> None:
        self.calls = 0

    def check(self, context: forewarn.CheckContext) -> forewarn.Observation:
        self.calls += 1
        return forewarn.Observation("critical", "the enrolment app answers 502")


def monitor(tmp_path: Path, smtp: Smtp, probe: DownApp) -> forewarn.Monitor:
    mail = dict(host="127.0.0.1", port=smtp.port, tls="none", from_="forewarn@district.example")
    return (
        forewarn.Monitor.builder()
        .database(str(tmp_path / "history.db"))
        .sink("mail-oncall", sinks.Email(to=["oncall@district.example"], **mail))
        .sink("mail-team", sinks.Email(to=["team@district.example"], **mail))
        .policy(
            "tiers",
            type="tiered",
            tiers=[
                {"after": "0s", "sinks": ["mail-oncall"]},
                {"after": "4s", "sinks": ["mail-team"]},
            ],
        )
        .check("enrolment", probe, interval="1s", failure_threshold=1, policy="tiers")
        .build()
    )


def recipients(smtp: Smtp) -> List[str]:
    return [str(m["To"]) for m in smtp.messages]


def test_an_acknowledged_incident_stops_escalation(tmp_path: Path, smtp: Smtp) -> None:
    probe = DownApp()
    m = monitor(tmp_path, smtp, probe)
    with m:
        (first,) = smtp.wait_for(1)
        assert first["To"] == "oncall@district.example"
        assert "enrolment" in str(first["Subject"])
        (incident,) = m.incidents(active_only=True)
        assert incident.check == "enrolment"
        taken = m.acknowledge(incident.id, by="ana", note="restarting the app pool")
        assert taken.state is forewarn.IncidentState.ACKNOWLEDGED
        assert taken.acknowledgement is not None and taken.acknowledgement.by == "ana"
        # Past the second tier's 4 s, and a few checks more.
        time.sleep(7)
    assert probe.calls >= 5, probe.calls
    assert "team@district.example" not in recipients(smtp), recipients(smtp)
    # The on-call list hears who took it, in the same thread as the opening.
    acks = [m for m in smtp.messages[1:] if m["To"] == "oncall@district.example"]
    assert acks, recipients(smtp)
    assert acks[0]["In-Reply-To"] == first["Message-ID"]
    assert "ana" in acks[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_without_an_acknowledgement_the_second_tier_is_told(tmp_path: Path, smtp: Smtp) -> None:
    m = monitor(tmp_path, smtp, DownApp())
    with m:
        smtp.wait_for(1)
        messages = smtp.wait_for(2, timeout=15)
    assert messages[1]["To"] == "team@district.example", recipients(smtp)
    assert json.dumps([i.state.value for i in m.incidents()]) == '["open"]'
