"""The async forms of the monitor's calls under asyncio: results, incidents, errors,
cancellation of the Rust work, and running until cancelled."""

import asyncio
import socket
from pathlib import Path

import pytest

import forewarn
from forewarn import IncidentState, Status, UpdateKind

from running import closed_port, fast_config


def svc(results: "list[forewarn.CheckResult]") -> forewarn.CheckResult:
    [result] = [r for r in results if r.name == "svc"]
    return result


def test_async_calls_mirror_the_sync_ones(tmp_path: Path, listener: socket.socket):
    port = listener.getsockname()[1]
    config = fast_config(tmp_path / "h.db", port)

    async def main() -> None:
        monitor = await forewarn.Monitor.from_config_async(config)
        assert isinstance(monitor, forewarn.Monitor)
        ok = svc(await monitor.run_once_async())
        assert ok.status is Status.OK and ok.at is not None
        assert await monitor.incidents_async() == []

        listener.close()
        # Several at once, on one event loop.
        rounds = await asyncio.gather(*(monitor.run_once_async() for _ in range(3)))
        assert all(svc(r).status is Status.CRITICAL for r in rounds)
        [incident] = await monitor.incidents_async(active_only=True, check="svc", limit=5)
        assert incident.state is IncidentState.OPEN

        status = await monitor.status_async()
        assert svc(status.checks).status is Status.CRITICAL
        assert status.scheduler["runs"] >= 2

        acked = await monitor.acknowledge_async(incident.id, by="ict-oncall", note="on it")
        assert acked.state is IncidentState.ACKNOWLEDGED
        noted = await monitor.note_async(incident.id, by="ict-oncall", text="cable swapped")
        assert noted.updates[-1].kind is UpdateKind.NOTE
        assert (await monitor.incidents_async()) == [noted]

        with pytest.raises(forewarn.ConflictError):
            await monitor.acknowledge_async(incident.id, by="someone-else")
        with pytest.raises(forewarn.NotFoundError):
            await monitor.note_async(incident.id + 1000, by="ict-oncall", text="hello")
        with pytest.raises(forewarn.InvalidArgumentError):
            await monitor.note_async(incident.id, by="ict-oncall", text=" ")

    asyncio.run(main())


def test_config_errors_come_through_the_async_form(tmp_path: Path):
    async def main() -> None:
        with pytest.raises(forewarn.ConfigError) as e:
            await forewarn.Monitor.from_config_async("[monitor]\nnope = 1\n")
        assert e.value.file == "<string>" and e.value.line == 2
        with pytest.raises(forewarn.ForewarnIOError):
            await forewarn.Monitor.from_config_async(tmp_path / "missing.toml")

    asyncio.run(main())


def test_run_async_until_stop_async(tmp_path: Path):
    config = fast_config(tmp_path / "h.db", closed_port())

    async def main() -> forewarn.Monitor:
        monitor = await forewarn.Monitor.from_config_async(config)
        running = asyncio.ensure_future(monitor.run_async())
        await asyncio.sleep(1.5)
        assert monitor.running and not running.done()
        await monitor.stop_async(timeout=10)
        await asyncio.wait_for(running, 10)
        assert not monitor.running
        return monitor

    monitor = asyncio.run(main())
    [incident] = monitor.incidents()
    assert incident.check == "svc"


def test_cancelling_run_async_stops_the_monitor_gracefully(tmp_path: Path):
    config = fast_config(tmp_path / "h.db", closed_port())

    async def main() -> forewarn.Monitor:
        monitor = await forewarn.Monitor.from_config_async(config)
        running = asyncio.ensure_future(monitor.run_async())
        await asyncio.sleep(1.5)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert not monitor.running
        return monitor

    monitor = asyncio.run(main())
    [checked] = [c for c in monitor.status().checks if c.name == "svc"]
    assert checked.status is Status.CRITICAL and checked.at is not None
    # It can run again afterwards.
    with monitor:
        assert monitor.running


def test_cancelling_a_wait_cancels_the_rust_work(tmp_path: Path):
    async def main() -> None:
        monitor = await forewarn.Monitor.from_config_async(
            fast_config(tmp_path / "h.db", closed_port())
        )
        events = monitor.events()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(events.__anext__(), 0.3)
        # The cancelled wait let go of the subscription and took no event: the next wait
        # gets the first one (the incident opening, before the transition that opened it).
        await monitor.run_once_async()
        event = await asyncio.wait_for(events.__anext__(), 5)
        assert isinstance(event, forewarn.IncidentEvent)
        assert event.kind is forewarn.IncidentEventKind.OPENED
        event = await asyncio.wait_for(events.__anext__(), 5)
        assert isinstance(event, forewarn.TransitionEvent)

    asyncio.run(main())
