"""Handlers in worker processes (--isolation process, the default): a worker that dies
is replaced, workers end with the gateway, and an app that cannot load stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.e2e.conftest import APPS, ROOT, Probe, ask, run


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def workers_of(pid: int) -> list[int]:
    """The handler processes (multiprocessing's resource tracker is a child too)."""
    return [c for c in children(pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_handler_process_that_dies_is_replaced(start_probe: Callable[..., Probe]) -> None:
    probe = start_probe("--workers", "1")
    assert probe.gateway.process is not None
    (first,) = workers_of(probe.gateway.process.pid)

    async def body() -> None:
        async with connect(probe.gateway.ws_url) as ws:
            connection_id = (await ask(ws, "whoami"))["id"]
            error = await ask(ws, "die")
            assert error["message"] == "Internal server error"
            assert error["connectionId"] == connection_id
            # the next event runs in a new worker, the connection untouched
            assert await ask(ws, "whoami") == {"id": connection_id}

    run(body())
    log = probe.gateway.log()
    assert "Runtime exited with error: exit status 3" in log
    assert "Status: error(WorkerExited)" in log
    (second,) = workers_of(probe.gateway.process.pid)
    assert second != first and not alive(first)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_handler_processes_end_with_the_gateway(
    start_probe: Callable[..., Probe], sig: signal.Signals
) -> None:
    probe = start_probe("--workers", "2")
    assert probe.gateway.process is not None
    assert len(workers_of(probe.gateway.process.pid)) == 2
    workers = children(probe.gateway.process.pid)
    probe.gateway.process.send_signal(sig)
    probe.gateway.process.wait(timeout=10)
    # on SIGKILL nothing runs in the gateway: each child sees its pipe close
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]


def test_an_app_that_fails_to_load_stops_the_gateway(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localgw", "--port", "0", "--app-dir", str(APPS),
         "--app", "no_such_module:app"],
        cwd=ROOT, env={**os.environ, "CHAT_STORE": f"sqlite:///{tmp_path / 'x.db'}"},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "the app failed to load: ModuleNotFoundError" in done.stderr
    assert "Serving" not in done.stdout
