"""Monitors made in code: the builder's checks are a config's, with the config's rules."""

import json
import socket
from pathlib import Path

import pytest

import forewarn
from forewarn import IncidentState, Status, probes, sinks


def named(results, name):
    [result] = [r for r in results if r.name == name]
    return result


def test_a_built_tcp_check_goes_down_and_opens_an_incident(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    outbox = tmp_path / "outbox.jsonl"
    builder = (
        forewarn.Monitor.builder()
        .database(tmp_path / "h.db")
        .time_zone("America/Chicago")
        .sink("outbox", sinks.File(path=outbox))
        .check("svc", probes.Tcp(target=f"127.0.0.1:{port}", timeout="800ms"),
               failure_threshold=1, owner="ict")
    )
    monitor = builder.build()
    assert isinstance(monitor, forewarn.Monitor)
    assert "1 checks" in repr(builder)

    ok = named(monitor.run_once(), "svc")
    assert (ok.kind, ok.status, ok.target) == ("tcp", Status.OK, f"127.0.0.1:{port}")
    assert monitor.incidents() == []

    listener.close()
    down = named(monitor.run_once(), "svc")
    assert down.status is Status.CRITICAL
    [incident] = monitor.incidents()
    assert incident.id == down.incident and incident.state is IncidentState.OPEN

    [line] = outbox.read_text().splitlines()
    sent = json.loads(line)
    assert sent["check"] == "svc" and sent["kind"] == "opened"
    assert sent["labels"]["owner"] == "ict"
    assert (tmp_path / "h.db").exists()


def test_the_builders_errors_are_the_configs(tmp_path: Path):
    def builder():
        return forewarn.Monitor.builder().database(tmp_path / "h.db")

    with pytest.raises(forewarn.ConfigError) as e:
        builder().check("a", probes.Tcp(target="127.0.0.1:1", depends_on=["nowhere"])).build()
    assert e.value.file == "<builder>" and e.value.line == 0
    assert "check `a` depends on `nowhere`, which is not a check" in str(e.value)

    with pytest.raises(forewarn.ConfigError) as e:
        (builder().sink("log", sinks.Log()).policy("default", type="notify", sinks=["mail"])
         .check("a", probes.Tcp(target="127.0.0.1:1")).build())
    assert e.value.key == "policies.default.sinks"
    assert "sink `mail` is not defined (known: log)" in str(e.value)

    with pytest.raises(forewarn.ConfigError) as e:
        builder().time_zone("Mars/Olympus").build()
    assert e.value.key == "monitor.time_zone"

    with pytest.raises(forewarn.ConfigError) as e:
        (builder().check("a", probes.Tcp(target="127.0.0.1:1"))
         .check("a", probes.Tcp(target="127.0.0.1:2")).build())
    assert "check `a` is defined twice" in str(e.value)

    with pytest.raises(TypeError):
        builder().check("a", probes.Tcp(target="127.0.0.1:1"), colour="red")
    with pytest.raises(TypeError):
        builder().check("a", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        builder().sink("a", "not a sink")  # type: ignore[arg-type]


def test_check_settings_given_to_check_win(tmp_path: Path):
    with pytest.raises(forewarn.ConfigError) as e:
        (forewarn.Monitor.builder().database(tmp_path / "h.db")
         .check("a", probes.Tcp(target="127.0.0.1:1", interval="5s"), timeout="6s").build())
    assert "must be shorter than the interval (5s)" in str(e.value)


def test_a_built_monitor_resumes_from_its_store(tmp_path: Path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    def build():
        return (forewarn.Monitor.builder().database(tmp_path / "h.db")
                .check("svc", probes.Tcp(target=f"127.0.0.1:{port}", failure_threshold=1))
                .build())

    first = build()
    assert named(first.run_once(), "svc").status is Status.CRITICAL
    [incident] = build().incidents(active_only=True)
    assert incident.check == "svc"
