"""A recipient's connection drops mid-stream (no close frame, as when a network goes
away): the sender's messages are all acknowledged and the recipient, signed in again,
finds every one it missed in history, each once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from bench.servers import Server
from tests.faults.clients import history, send_frame, sign_in

MESSAGES = 200
WINDOW = 10
DROP_AFTER = 60  # messages the recipient receives live before its connection drops


async def scenario(url: str) -> dict[str, Any]:
    alice = await sign_in(url, "alice")
    bob = await sign_in(url, "bob")
    live: list[str] = []
    acks: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    window = asyncio.Semaphore(WINDOW)
    all_acked = asyncio.Event()

    async def bob_reads() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in bob:
                frame = json.loads(raw)
                if frame["type"] == "message":
                    live.append(frame["client_id"])
                    if len(live) == DROP_AFTER:
                        bob.transport.abort()  # the TCP connection just goes away
                        return

    async def alice_reads() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in alice:
                frame = json.loads(raw)
                if frame["type"] == "ack":
                    acks[frame["client_id"]] = frame["id"]
                    window.release()
                    if len(acks) == MESSAGES:
                        all_acked.set()
                elif frame["type"] == "error":
                    errors.append(frame)
                    window.release()

    readers = [asyncio.create_task(bob_reads()), asyncio.create_task(alice_reads())]
    for n in range(MESSAGES):
        await window.acquire()
        await alice.send(send_frame("bob", f"m{n:03d}"))
    await asyncio.wait_for(all_acked.wait(), 60)
    readers[1].cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    bob_again = await sign_in(url, "bob", action="login")
    stored = await history(bob_again, "alice")
    await asyncio.gather(alice.close(), bob_again.close())
    return {"live": live, "acks": acks, "errors": errors, "history": stored}


@pytest.mark.timeout(60)
def test_dropped_recipient_loses_nothing_from_history(
    gateways: Callable[[Path], Server], tmp_path: Path, figures: Callable[..., None]
) -> None:
    gateway = gateways(tmp_path / "chat.db")
    seen = asyncio.run(scenario(gateway.ws_url))

    assert seen["errors"] == []
    assert len(seen["live"]) == DROP_AFTER
    sent = [f"m{n:03d}" for n in range(MESSAGES)]
    stored_ids = [m["client_id"] for m in seen["history"]]
    assert sorted(stored_ids) == sent, "history must hold every message exactly once"
    assert {m["client_id"]: m["id"] for m in seen["history"]} == seen["acks"]
    missed = set(sent) - set(seen["live"])
    assert missed <= set(stored_ids)
    figures(
        sent=MESSAGES,
        received_live_before_drop=len(seen["live"]),
        missed_while_dropped=len(missed),
        recovered_from_history=len(missed & set(stored_ids)),
        lost=len(set(sent) - set(stored_ids)),
        duplicated=len(stored_ids) - len(set(stored_ids)),
    )
