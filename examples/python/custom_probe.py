"""A probe of your own, in Python: the school portal's gradebook, checked the way a teacher
uses it.

The portal answers ``GET /api/health`` with ``{"database": "up", "report_queue": 3}``. The
check is Critical when the portal does not answer, answers an error or its database is down,
Warning when report cards queue up (teachers wait for their PDFs), and OK otherwise, with the
response time and the queue length as metrics. It runs beside the built-in checks with the
same state machine, incidents, alerts and history.

    python examples/python/custom_probe.py https://portal.district.example --queue-warning 20

runs every check once and prints the results (exit status 0 OK, 1 Warning, 2 Critical, 3
Unknown, as monitoring plugins do); ``--watch`` keeps checking every 30 s until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import List, Optional

import forewarn


class GradebookProbe:
    """Checks the portal's gradebook health endpoint. Implements :class:`forewarn.Probe`."""

    kind = "gradebook"

    def __init__(self, base_url: str, queue_warning: int = 20) -> None:
        self.url = base_url.rstrip("/") + "/api/health"
        self.queue_warning = queue_warning

    def target(self) -> str:
        """What is probed, for listings."""
        return self.url

    def check(self, context: forewarn.CheckContext) -> forewarn.Observation:
        """One look at the portal. Called off forewarn's scheduler threads; an exception
        here becomes an Unknown observation with the traceback."""
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.url, timeout=context.timeout) as response:
                health = json.load(response)
        except urllib.error.HTTPError as e:
            return forewarn.Observation(forewarn.Status.CRITICAL, f"the portal answers HTTP {e.code}")
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            return forewarn.Observation(forewarn.Status.CRITICAL, f"the portal does not answer: {reason}")
        except ValueError:
            return forewarn.Observation(forewarn.Status.CRITICAL, "the portal's health is not JSON")
        took = time.monotonic() - started
        queue = int(health.get("report_queue", 0))
        metrics = {"response_time": (took, "s"), "report_queue": (queue, "")}
        if health.get("database") != "up":
            return forewarn.Observation(
                forewarn.Status.CRITICAL, f"the gradebook database is {health.get('database', 'missing')}",
                metrics=metrics,
            )
        if queue >= self.queue_warning:
            return forewarn.Observation(
                forewarn.Status.WARNING, f"{queue} report cards waiting to be made", metrics=metrics
            )
        return forewarn.Observation(
            forewarn.Status.OK, f"gradebook up in {took * 1000:.0f} ms, {queue} report cards waiting",
            metrics=metrics,
        )


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the checks once (or until Ctrl-C with ``--watch``); the exit status is the worst
    status's code."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("portal", help="the portal's base URL")
    p.add_argument("--queue-warning", type=int, default=20)
    p.add_argument("--database", default="portal.db")
    p.add_argument("--watch", action="store_true", help="keep checking every 30 s")
    args = p.parse_args(argv)

    monitor = (
        forewarn.Monitor.builder()
        .database(args.database)
        # The portal's own check, and the built-in HTTP check of its login page beside it.
        .check("gradebook", GradebookProbe(args.portal, args.queue_warning), interval="30s", timeout="10s")
        .check("portal-login", forewarn.probes.Http(url=args.portal.rstrip("/") + "/login"), interval="30s")
        .build()
    )
    if args.watch:
        try:
            monitor.run()
        except KeyboardInterrupt:
            pass
        return 0
    codes = {
        forewarn.Status.OK: 0,
        forewarn.Status.WARNING: 1,
        forewarn.Status.CRITICAL: 2,
        forewarn.Status.UNKNOWN: 3,
    }
    worst = 0
    for r in monitor.run_once():
        if r.name == "history-store":
            continue
        metrics = ", ".join(f"{k}={m.value:g}{m.unit}" for k, m in sorted(r.metrics.items()))
        print(f"{r.name}: {r.status} — {r.summary}" + (f" [{metrics}]" if metrics else ""))
        worst = max(worst, codes[r.status])
    return worst


if __name__ == "__main__":
    sys.exit(main())
