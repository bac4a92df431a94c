"""The district's critical servers, checked every 5 seconds; the ICT list hears of an outage at
once, the ICT team 10 minutes later if nobody has taken it.

    SMTP_PASSWORD=… python examples/python/critical_servers.py \\
        --smtp smtp.district.example:587 --tls starttls --username forewarn@district.example \\
        --oncall ana@district.example --oncall bo@district.example --team director@district.example \\
        --server "Student Information System=sis.district.example:443" \\
        --server "Library catalogue=10.1.0.20:80"

Runs until Ctrl-C (or SIGTERM), printing each change as it happens in the district's time; the
history, incidents and the e-mails not yet delivered are kept in ``--database``, so a restart
resumes where it stopped. Acknowledge an incident from another script, the e-mail's link or
``forewarn ack ID``, and the team is not told.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime, tzinfo
from typing import List, Optional, Tuple

import forewarn
from forewarn import probes, sinks


def server(text: str) -> Tuple[str, str]:
    """``NAME=HOST:PORT`` as ``(name, target)``."""
    name, sep, target = text.rpartition("=")
    if not sep or not name or ":" not in target:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=HOST:PORT")
    return name, target


def build(args: argparse.Namespace) -> forewarn.Monitor:
    """The monitor: one TCP check per server, every 5 s, and a two-tier e-mail policy."""
    host, _, port = args.smtp.rpartition(":")
    mail = dict(
        host=host,
        port=int(port),
        tls=args.tls,
        from_=args.sender,
        subject_prefix="[forewarn]",
    )
    if args.username:
        # The password comes from the environment and is never printed.
        mail.update(username=args.username, password=os.environ.get("SMTP_PASSWORD", ""))
    builder = (
        forewarn.Monitor.builder()
        .database(args.database)
        .sink("mail-oncall", sinks.Email(lists={"ict-oncall": args.oncall}, to=["ict-oncall"], **mail))
        .policy(
            "oncall",
            type="tiered",
            repeat="15m",
            tiers=[{"after": "0s", "sinks": ["mail-oncall"]}],
        )
        .default_policy("oncall")
    )
    if args.time_zone:
        builder.time_zone(args.time_zone)
    if args.team:
        builder.sink("mail-team", sinks.Email(lists={"ict-team": args.team}, to=["ict-team"], **mail))
        builder.policy(
            "oncall",
            type="tiered",
            repeat="15m",
            tiers=[
                {"after": "0s", "sinks": ["mail-oncall"]},
                {"after": args.team_after, "sinks": ["mail-team"]},
            ],
        )
    for name, target in args.server:
        # Two failed checks in a row (10 s) open an incident: one lost packet does not.
        builder.check(
            name,
            probes.Tcp(target=target, timeout="3s"),
            interval="5s",
            failure_threshold=2,
        )
    return builder.build()


def local(at: datetime, zone: Optional[tzinfo]) -> str:
    """A time as people read it: in the district's zone."""
    return at.astimezone(zone).strftime("%H:%M:%S %Z")


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the monitor until Ctrl-C; 0 when it stopped cleanly, 2 on a bad setting."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smtp", required=True, metavar="HOST:PORT")
    p.add_argument("--tls", default="starttls", choices=["implicit", "starttls", "opportunistic", "none"])
    p.add_argument("--username")
    p.add_argument("--sender", default="forewarn <forewarn@district.example>")
    p.add_argument("--oncall", action="append", required=True, metavar="ADDRESS")
    p.add_argument("--team", action="append", default=[], metavar="ADDRESS")
    p.add_argument("--team-after", default="10m", metavar="DURATION")
    p.add_argument("--server", action="append", type=server, required=True, metavar="NAME=HOST:PORT")
    p.add_argument("--database", default="critical-servers.db")
    p.add_argument("--time-zone", help="the district's zone (default: this machine's)")
    args = p.parse_args(argv)

    zone: Optional[tzinfo] = None
    if args.time_zone:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(args.time_zone)
    try:
        monitor = build(args)
    except forewarn.ForewarnError as e:
        print(e, file=sys.stderr)
        return 2

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (a service manager stopping it) stops it as gracefully as Ctrl-C.
    signal.signal(signal.SIGTERM, interrupt)
    print(f"checking {len(args.server)} servers every 5 s; Ctrl-C stops", flush=True)
    try:
        with monitor, monitor.events() as events:
            for event in events:
                if isinstance(event, forewarn.IncidentEvent):
                    i = event.incident
                    at = i.updates[-1].at if i.updates else i.opened_at
                    print(
                        f"{local(at, zone)}  incident #{i.id} {event.kind}: "
                        f"{i.check} — {i.summary}",
                        flush=True,
                    )
    except KeyboardInterrupt:
        # The monitor has stopped gracefully: states written, pending e-mails kept.
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
