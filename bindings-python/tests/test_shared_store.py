"""Two monitors of one config on one PostgreSQL database (the district's shared history): one
leads and runs the check, the other stands by and reads what the leader found; when the leader
stops, the standby takes over."""

import json
import socket
from pathlib import Path

import forewarn
from running import eventually


def shared_config(path: Path, url: str, port: int, instance: str) -> Path:
    path.write_text(
        "[monitor]\n"
        f"database = {json.dumps(url)}\n"
        f'instance = "{instance}"\n'
        'lease = "2s"\n\n'
        "[[checks]]\n"
        'name = "svc"\n'
        'type = "tcp"\n'
        f'target = "127.0.0.1:{port}"\n'
        'interval = "1s"\n'
        'timeout = "500ms"\n'
        "failure_threshold = 1\n"
    )
    return path


def active(monitor: forewarn.Monitor) -> int:
    return len(monitor.incidents())


def test_two_monitors_share_one_postgres_history_and_one_takes_over(
    tmp_path: Path, postgres, listener: socket.socket, monkeypatch
):
    monkeypatch.setenv("FOREWARN_DATABASE_PASSWORD", postgres.password)
    port = listener.getsockname()[1]
    a = forewarn.Monitor.from_config(shared_config(tmp_path / "a.toml", postgres.url, port, "a"))
    b = forewarn.Monitor.from_config(shared_config(tmp_path / "b.toml", postgres.url, port, "b"))
    a.start()
    eventually(lambda: postgres.admin("SELECT holder FROM leader_lease") == "a", within=20)
    b.start()
    try:
        eventually(
            lambda: int(postgres.admin("SELECT count(*) FROM observations WHERE status = 0")) > 0,
            within=20,
        )
        # The check goes down: one incident, seen by both through the shared store.
        listener.close()
        eventually(lambda: active(a) == 1, within=20)
        eventually(lambda: active(b) == 1, within=20)
        assert postgres.admin("SELECT holder FROM leader_lease") == "a"
        # The leader stops (it gives the lead up); the standby leads and keeps checking.
        a.stop()
        eventually(lambda: postgres.admin("SELECT holder FROM leader_lease") == "b", within=20)
        seen = int(postgres.admin("SELECT count(*) FROM observations"))
        eventually(
            lambda: int(postgres.admin("SELECT count(*) FROM observations")) > seen + 1,
            within=20,
        )
        assert int(postgres.admin("SELECT count(*) FROM incidents")) == 1
    finally:
        b.stop()
        a.stop()
