"""Real peers for the Python tests: an SMTP server (aiosmtpd, in this process) that keeps every
message it accepts, an SNMP agent (snmpsim, a process of its own) serving printer recordings,
and a private PostgreSQL server for the shared store.

A peer that cannot be started skips its test with the reason, except with ``CI=true``, where
the test fails: a skip is never a pass.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[2]
"""The repository."""

SHARED_PRINTERS = Path(
    os.environ.get("FOREWARN_PRINTER_RECORDINGS", ROOT.parent / "shared" / "data" / "printers")
)
"""The shared recordings of real printers (beside the repository)."""

FIXTURE_PRINTERS = ROOT / "tests" / "data" / "printers"
"""The project's own printer fixtures."""


def skip_or_fail(what: str, reason: str) -> None:
    """Skips the calling test because `what` is missing, or fails it under ``CI=true``."""
    message = f"{what}: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing peer fails)", pytrace=False)
    pytest.skip(message)


def target_dir() -> Path:
    """The cargo target directory the package was built in."""
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


# --- SMTP -------------------------------------------------------------------------------------


class Smtp:
    """An aiosmtpd server on a loopback port keeping every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: List[email.message.EmailMessage] = []
        self._cond = threading.Condition()
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(msg, email.message.EmailMessage)
                with outer._cond:
                    outer.messages.append(msg)
                    outer._cond.notify_all()
                return "250 OK"

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port: int = s.getsockname()[1]
        s.close()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def wait_for(self, count: int, timeout: float = 20.0) -> List[email.message.EmailMessage]:
        """Waits until `count` messages have arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.messages)} of {count} messages arrived within {timeout} s: "
                        + ", ".join(str(m["Subject"]) for m in self.messages)
                    )
                self._cond.wait(left)
            return list(self.messages)

    def stop(self) -> None:
        """Stops the server."""
        self._controller.stop()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    """A running SMTP server (aiosmtpd) on loopback."""
    try:
        server = Smtp()
    except Exception as e:  # aiosmtpd missing or the port taken
        skip_or_fail("the SMTP peer (aiosmtpd)", repr(e))
        raise
    try:
        yield server
    finally:
        server.stop()


# --- SNMP -------------------------------------------------------------------------------------


def _world_traversable(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def _responder() -> Path:
    """snmpsim's command, in a virtual environment `nobody` can read (snmpsim run as root drops
    to `nobody`): beside the target directory when every directory above it is world-traversable,
    else under /var/tmp. Made on first use; the Rust tests make the same one."""
    target = target_dir()
    venv = (
        target / "snmpsim-venv"
        if target.exists() and _world_traversable(target)
        else Path("/var/tmp/forewarn-snmpsim-venv")
    )
    cmd = venv / "bin" / "snmpsim-command-responder"
    py = venv / "bin" / "python"

    def ready() -> bool:
        return (
            cmd.exists()
            and subprocess.run(
                [str(py), "-c", "import snmpsim, pysmi, cryptography"], capture_output=True
            ).returncode
            == 0
        )

    if ready():
        return cmd
    if not py.exists():
        base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3"
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "snmpsim", "pysmi", "cryptography"],
        check=True,
        capture_output=True,
    )
    if not ready():
        raise RuntimeError("snmpsim does not import after installing it")
    return cmd


def _recording(name: str) -> Path:
    for d in (SHARED_PRINTERS, FIXTURE_PRINTERS):
        p = d / f"{name}.snmprec"
        if p.exists():
            return p
    raise FileNotFoundError(f"no recording `{name}` in {SHARED_PRINTERS} or {FIXTURE_PRINTERS}")


def _get_sysdescr(port: int, community: str) -> bool:
    """Whether an SNMPv2c GET of sysDescr.0 with `community` is answered."""
    c = community.encode()
    oid = bytes([0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00])
    varbind = bytes([0x30, len(oid) + 2]) + oid + b"\x05\x00"
    varbinds = bytes([0x30, len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = bytes([0xA0, len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01" + bytes([0x04, len(c)]) + c + pdu
    packet = bytes([0x30, len(body)]) + body
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            return len(s.recv(65535)) > 0
        except OSError:
            return False


class Snmpsim:
    """snmpsim on a loopback UDP port, serving each recording under its name as community."""

    def __init__(self, names: Sequence[str]) -> None:
        cmd = _responder()
        self.data = Path(tempfile.mkdtemp(prefix="forewarn-snmpsim-"))
        self.cache = Path(tempfile.mkdtemp(prefix="forewarn-snmpsim-cache-"))
        os.chmod(self.data, 0o755)
        os.chmod(self.cache, 0o777)
        for name in names:
            dest = self.data / f"{name}.snmprec"
            shutil.copyfile(_recording(name), dest)
            os.chmod(dest, 0o644)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        self.port: int = s.getsockname()[1]
        s.close()
        args = [
            str(cmd),
            f"--data-dir={self.data}",
            f"--cache-dir={self.cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
        ]
        if os.geteuid() == 0:
            args += ["--process-user=nobody", "--process-group=nogroup"]
        self._log = open(self.data / "snmpsim.log", "wb")
        self._proc: Optional[subprocess.Popen[bytes]] = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
        )
        self._wait_ready(names[0])

    def _wait_ready(self, community: str) -> None:
        deadline = time.monotonic() + 60
        streak = 0
        while streak < 5:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"snmpsim exited: {(self.data / 'snmpsim.log').read_text(errors='replace')}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("snmpsim did not answer within 60 s")
            streak = streak + 1 if _get_sysdescr(self.port, community) else 0
            time.sleep(0.1)

    def stop(self) -> None:
        """Stops snmpsim and removes its data."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self._log.close()
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.cache, ignore_errors=True)


def start_snmpsim(names: Sequence[str]) -> Snmpsim:
    """Starts snmpsim serving `names`, or skips (fails under ``CI=true``) saying why not."""
    missing = [n for n in names if not any(
        (d / f"{n}.snmprec").exists() for d in (SHARED_PRINTERS, FIXTURE_PRINTERS))]
    if missing:
        skip_or_fail(
            "the printer recordings",
            f"{', '.join(missing)} not in {SHARED_PRINTERS} (set FOREWARN_PRINTER_RECORDINGS)",
        )
    try:
        return Snmpsim(names)
    except Exception as e:
        skip_or_fail("the SNMP peer (snmpsim)", str(e))
        raise


# --- PostgreSQL -------------------------------------------------------------------------------


class Postgres:
    """A private PostgreSQL on a loopback port, its data in a temporary directory, with a user
    `forewarn` (password `Postgres.password`) owning a database `forewarn`. PostgreSQL refuses to run
    as root, so as root it runs as the `postgres` user."""

    password = "pw-Forewarn-py-3d1"

    def __init__(self, base: Path) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise FileNotFoundError("initdb not found (Debian: apt-get install postgresql)")
        self._bin = bins[-1].parent
        self._root = os.geteuid() == 0
        self._base = base
        self.dir = base / "pg"
        self.dir.mkdir()
        if self._root:
            shutil.chown(self.dir, "postgres", "postgres")
            os.chmod(base, 0o755)
        self._data = self.dir / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self._run(
            "initdb", "-D", str(self._data), "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8",
        )
        self._run(
            "pg_ctl", "-D", str(self._data), "-l", str(self.dir / "log"), "-w", "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start",
        )
        self.admin(f"CREATE USER forewarn PASSWORD '{self.password}'")
        self.admin("CREATE DATABASE forewarn OWNER forewarn")
        self.url = f"postgres://forewarn@127.0.0.1:{self.port}/forewarn"

    def _run(self, tool: str, *args: str) -> str:
        cmd = [str(self._bin / tool), *args]
        if self._root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed: {out.stderr.strip()}")
        return out.stdout

    def admin(self, sql: str) -> str:
        """Runs `sql` as the administrator on database `forewarn` (or `postgres` before it
        exists); stdout, trimmed."""
        db = "forewarn" if "CREATE DATABASE" not in sql and "CREATE USER" not in sql else "postgres"
        return self._run(
            "psql", "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-d", db,
            "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ).strip()

    def stop(self) -> None:
        """Stops the server (fast shutdown)."""
        try:
            self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop")
        except Exception:
            pass
        shutil.rmtree(self._base, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    """A running private PostgreSQL on loopback (its directory directly under the temporary
    directory, which the `postgres` user can reach)."""
    try:
        server = Postgres(Path(tempfile.mkdtemp(prefix="forewarn-pg-")))
    except Exception as e:  # PostgreSQL missing or failing to start
        skip_or_fail("the PostgreSQL peer", repr(e))
        raise
    try:
        yield server
    finally:
        server.stop()
