import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

import forewarn
from forewarn import IncidentState, Status, UpdateKind

from conftest import tcp_config


def svc(results: "list[forewarn.CheckResult]") -> forewarn.CheckResult:
    """The test's check among the results (the monitor adds its own `history-store`)."""
    assert "history-store" in [r.name for r in results]
    [result] = [r for r in results if r.name == "svc"]
    return result


def test_tcp_check_ok_then_critical_opens_an_incident(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    monitor = forewarn.Monitor.from_config(tcp_config(tmp_path / "h.db", port))

    ok = svc(monitor.run_once())
    assert isinstance(ok, forewarn.CheckResult)
    assert (ok.name, ok.kind, ok.status) == ("svc", "tcp", Status.OK)
    assert ok.status == "ok"
    assert ok.target == f"127.0.0.1:{port}"
    assert ok.summary
    assert ok.at is not None and ok.at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - ok.at).total_seconds()) < 60
    assert ok.incident is None
    assert monitor.incidents() == []
    assert ok.metrics["latency"].unit == "s"
    assert ok.metrics["latency"].value >= 0.0

    listener.close()
    down = svc(monitor.run_once())
    assert down.status is Status.CRITICAL
    assert down.summary and down.summary != ok.summary
    assert down.incident is not None

    [incident] = monitor.incidents()
    assert incident.id == down.incident
    assert incident.check == "svc"
    assert incident.state is IncidentState.OPEN and incident.is_active
    assert incident.severity is Status.CRITICAL
    assert incident.opened_at.tzinfo is not None
    assert incident.updates[0].kind is UpdateKind.OPENED
    assert monitor.incidents(active_only=True, check="svc", limit=1) == [incident]
    assert monitor.incidents(check="other") == []

    status = monitor.status()
    assert svc(status.checks).status is Status.CRITICAL
    assert status.scheduler["runs"] >= 2
    assert isinstance(status.outbox, dict)


def _failing_monitor(tmp_path: Path) -> "tuple[forewarn.Monitor, int]":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    monitor = forewarn.Monitor.from_config(tcp_config(tmp_path / "h.db", port))
    down = svc(monitor.run_once())
    assert down.status is Status.CRITICAL, down
    assert down.incident is not None
    return monitor, down.incident


def test_acknowledge_and_note(tmp_path: Path):
    monitor, id = _failing_monitor(tmp_path)

    acked = monitor.acknowledge(id, by="ict-oncall", note="on my way")
    assert acked.state is IncidentState.ACKNOWLEDGED
    assert acked.acknowledgement is not None
    assert acked.acknowledgement.by == "ict-oncall"
    assert acked.acknowledgement.note == "on my way"
    assert acked.acknowledgement.at.tzinfo is not None
    assert monitor.incidents()[0].state is IncidentState.ACKNOWLEDGED

    with pytest.raises(forewarn.ConflictError):
        monitor.acknowledge(id, by="someone-else")

    noted = monitor.note(id, by="ict-oncall", text="switch port 12 replaced")
    last = noted.updates[-1]
    assert (last.kind, last.by, last.message) == (
        UpdateKind.NOTE,
        "ict-oncall",
        "switch port 12 replaced",
    )
    assert len(noted.updates) == len(acked.updates) + 1
    assert monitor.incidents()[0].updates[-1] == last

    with pytest.raises(forewarn.InvalidArgumentError):
        monitor.note(id, by="ict-oncall", text="   ")


def test_unknown_incident_is_not_found(tmp_path: Path):
    monitor, id = _failing_monitor(tmp_path)
    with pytest.raises(forewarn.NotFoundError) as e:
        monitor.acknowledge(id + 1000, by="ict-oncall")
    assert str(id + 1000) in str(e.value)
    assert isinstance(e.value, LookupError)
    with pytest.raises(forewarn.NotFoundError):
        monitor.note(id + 1000, by="ict-oncall", text="hello")


def test_a_new_monitor_resumes_from_the_store(tmp_path: Path):
    monitor, id = _failing_monitor(tmp_path)
    monitor.acknowledge(id, by="ict-oncall")
    again = forewarn.Monitor.from_config(tcp_config(tmp_path / "h.db", 1))
    [incident] = again.incidents()
    assert (incident.id, incident.state) == (id, IncidentState.ACKNOWLEDGED)


def test_other_threads_run_while_checks_do(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    monitor = forewarn.Monitor.from_config(tcp_config(tmp_path / "h.db", port))
    results = []
    threads = [threading.Thread(target=lambda: results.append(monitor.run_once())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4
    assert all(svc(r).status is Status.OK for r in results)
