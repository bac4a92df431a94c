"""Built-in probes and sinks made from keyword arguments: checked when made, with the
config's own messages, and secrets never shown."""

from datetime import timedelta

import pytest

import forewarn
from forewarn import probes, sinks


def test_a_probe_takes_its_config_keys_and_the_check_keys():
    p = probes.Http(
        url="https://sis.example.org/health",
        interval="5s",
        timeout=timedelta(seconds=2),
        failure_threshold=1,
        owner="ict",
        expect_status=["2xx"],
        latency={"warning": "1s", "critical": "3s"},
    )
    assert p.settings["type"] == "http"
    assert p.settings["timeout"] == "2000ms"
    assert p.settings["latency"] == {"warning": "1s", "critical": "3s"}
    assert repr(p).startswith("forewarn.probes.Http(url='https://sis.example.org/health'")
    assert probes.Tcp(target="127.0.0.1:22") == probes.Tcp(target="127.0.0.1:22")


def test_an_unknown_key_is_refused_with_the_configs_hint():
    with pytest.raises(forewarn.ConfigError) as e:
        probes.Tcp(target="127.0.0.1:22", intervall="5s")
    err = e.value
    assert err.file == "forewarn.probes.Tcp"
    assert err.key == "intervall"
    assert "did you mean `interval`?" in str(err)
    assert str(err).startswith("forewarn.probes.Tcp: `intervall`: unknown field")


def test_invalid_values_get_the_configs_messages():
    with pytest.raises(forewarn.ConfigError) as e:
        probes.Tcp(target="127.0.0.1:22", interval="500ms")
    assert e.value.key == "interval"
    assert "must be at least 1s" in str(e.value)
    assert "probe" not in str(e.value).split(":", 1)[1].replace("forewarn.probes", "")

    with pytest.raises(forewarn.ConfigError) as e:
        probes.Tcp(target="127.0.0.1:22", interval="5s", timeout="10s")
    assert e.value.key == "timeout"
    assert "must be shorter than the interval" in str(e.value)

    with pytest.raises(forewarn.ConfigError) as e:
        probes.Tcp(target="127.0.0.1:22", failure_threshold=0)
    assert e.value.key == "failure_threshold"
    assert "must be at least 1" in str(e.value)

    with pytest.raises(forewarn.ConfigError) as e:
        probes.Http(url="127.0.0.1:22/health")
    assert e.value.key == "url", str(e.value)

    with pytest.raises(forewarn.ConfigError) as e:
        probes.Tcp(interval="5 parsecs", target="127.0.0.1:22")
    assert "5 parsecs" in str(e.value)


def test_type_is_the_classs():
    with pytest.raises(TypeError):
        probes.Tcp(type="http", target="127.0.0.1:22")


def test_every_kind_is_made():
    assert probes.Host(interval="1m").settings["type"] == "host"
    assert probes.Process(name_is="sshd").settings["type"] == "process"
    assert probes.Smart(devices=[]).settings["type"] == "smart"
    assert probes.Postgres(host="db", user="monitor", password="pw1").settings["type"] == "postgres"
    assert probes.Mysql(host="db", user="monitor").settings["type"] == "mysql"
    assert probes.Redis(host="cache").settings["type"] == "redis"
    assert probes.Printer(host="10.0.0.50", community="public").settings["type"] == "printer"


def test_secrets_are_not_in_reprs():
    shown = [
        repr(probes.Postgres(host="db", user="monitor", password="pg-Secret-1")),
        repr(probes.Mysql(host="db", user="monitor", password="my-Secret-2")),
        repr(probes.Redis(host="cache", password="rd-Secret-3")),
        repr(probes.Printer(host="10.0.0.50", community="snmp-Secret-4")),
        repr(probes.Http(url="https://u:url-Secret-5@sis.example.org/x?token=q-Secret-6",
                         bearer_token="tok-Secret-7")),
        repr(sinks.Email(host="smtp.example.org", from_="fw@example.org",
                         to=["ict@example.org"], username="fw", password="mail-Secret-8")),
        repr(sinks.Webhook(url="https://hooks.example.org/T/hook-Secret-9")),
    ]
    for text in shown:
        assert "Secret" not in text, text
        assert "<redacted>" in text or "sis.example.org/x'" in text, text
    assert "host='db'" in shown[0]


def test_sinks_are_checked_when_made():
    ok = sinks.Email(host="smtp.example.org", from_="fw@example.org", to=["ict@example.org"],
                     rate_limit="20/min")
    assert ok.settings["from"] == "fw@example.org"
    assert sinks.File(path="outbox.jsonl").settings == {"type": "file", "path": "outbox.jsonl"}
    assert sinks.Log().settings == {"type": "log"}

    with pytest.raises(forewarn.ConfigError) as e:
        sinks.Email(host="smtp.example.org", from_="fw@example.org", to=[], lists={})
    assert e.value.file == "forewarn.sinks.Email"
    assert "sink" not in (e.value.key or "")

    with pytest.raises(forewarn.ConfigError) as e:
        sinks.Webhook(url="https://hooks.example.org/x", colour="red")
    assert e.value.key == "colour"

    with pytest.raises(forewarn.ConfigError) as e:
        sinks.Log(rate_limit="lots")
    assert "20/min" in str(e.value)


def test_values_that_a_config_cannot_hold_are_refused():
    with pytest.raises(TypeError):
        probes.Tcp(target=object())


def test_a_secret_of_the_wrong_type_is_not_shown_in_the_error():
    with pytest.raises(TypeError) as e:
        probes.Postgres(host="db", user="monitor", password=31337)
    assert "31337" not in str(e.value)
    assert "`password` is a str, not int" in str(e.value)
