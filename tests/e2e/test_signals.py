"""Stopping the local gateway: SIGTERM or SIGINT closes every socket with 1001, runs
$disconnect for each, and the process exits within 5 seconds."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import Probe, ask, closed_with, run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_closes_sockets_and_runs_disconnect(
    start_probe: Callable[..., Probe], sig: signal.Signals
) -> None:
    probe = start_probe()
    sockets: list[ClientConnection] = []

    async def open_some() -> list[str]:
        for _ in range(5):
            sockets.append(await connect(probe.gateway.ws_url))
        return [(await ask(ws, "whoami"))["id"] for ws in sockets]

    async def stop() -> tuple[list[tuple[int, str]], int, float]:
        ids_ready = await open_some()
        started = time.monotonic()
        assert probe.gateway.process is not None
        probe.gateway.process.send_signal(sig)
        codes = await asyncio.gather(*(closed_with(ws) for ws in sockets))
        returncode = await asyncio.to_thread(probe.gateway.process.wait, 10)
        ids.extend(ids_ready)
        return list(codes), returncode, time.monotonic() - started

    ids: list[str] = []
    codes, returncode, elapsed = run(stop())
    assert codes == [(1001, "Going away")] * 5
    assert returncode == 0
    assert elapsed < 5
    for connection_id in ids:
        disconnect = probe.wait_disconnect(connection_id, timeout=1)
        assert disconnect["disconnectStatusCode"] == 1001


def test_stop_does_not_wait_for_a_stuck_handler(start_probe: Callable[..., Probe]) -> None:
    probe = start_probe()

    async def body() -> tuple[tuple[int, str], int, float]:
        ws = await connect(probe.gateway.ws_url)
        await ask(ws, "whoami")
        await ws.send("sleep 30")
        await asyncio.sleep(0.3)
        started = time.monotonic()
        assert probe.gateway.process is not None
        probe.gateway.process.send_signal(signal.SIGTERM)
        code = await closed_with(ws)
        returncode = await asyncio.to_thread(probe.gateway.process.wait, 10)
        return code, returncode, time.monotonic() - started

    code, returncode, elapsed = run(body())
    assert code == (1001, "Going away")
    assert returncode == 0
    assert elapsed < 5
