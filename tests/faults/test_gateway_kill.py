"""The gateway is killed with SIGKILL in the middle of a load and started again on the
same SQLite file: every acknowledged message is in history; the clients re-send what
was not acknowledged with the same client_id, and each message appears exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.servers import Server
from chalicelib.ids import MESSAGE_ID_PATTERN
from tests.faults.clients import history, send_frame, sign_in

PAIRS = 10
MESSAGES = 60
WINDOW = 5
KILL_AFTER_ACKS = 200  # of PAIRS * MESSAGES


def id_millis(message_id: str) -> int:
    """The millisecond timestamp a ULID message id starts with."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = 0
    for char in message_id[:10]:
        value = value * 32 + alphabet.index(char)
    return value


class Pair:
    def __init__(self, index: int) -> None:
        self.sender = f"s{index:02d}"
        self.recipient = f"r{index:02d}"
        self.client_ids = [f"{self.sender}-{n:03d}" for n in range(MESSAGES)]
        self.attempted: set[str] = set()
        self.acks: dict[str, str] = {}  # client_id -> message id


class Load:
    """Senders with a window; recipients count live deliveries."""

    def __init__(self, pairs: list[Pair], on_ack: Callable[[], None] = lambda: None) -> None:
        self.pairs = pairs
        self.on_ack = on_ack
        self.live: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []

    async def _recipient(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "message":
                    self.live[frame["client_id"]] += 1

    async def _sender(self, pair: Pair, ws: ClientConnection, todo: list[str]) -> None:
        window = asyncio.Semaphore(WINDOW)
        done = asyncio.Event()
        closed = False
        expected = set(todo)

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "ack":
                        pair.acks[frame["client_id"]] = frame["id"]
                        window.release()
                        self.on_ack()
                        if expected <= pair.acks.keys():
                            done.set()
                    elif frame["type"] == "error":
                        self.errors.append(frame)
                        window.release()
            # the connection is gone: nothing more will be acknowledged
            nonlocal closed
            closed = True
            done.set()
            for _ in range(WINDOW):
                window.release()

        reader = asyncio.create_task(read())
        with contextlib.suppress(ConnectionClosed):
            for client_id in todo:
                await window.acquire()
                if closed:
                    break
                pair.attempted.add(client_id)
                await ws.send(send_frame(pair.recipient, client_id))
        if not todo:
            done.set()
        await asyncio.wait_for(done.wait(), 60)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)

    async def run(self, url: str, action: str, resend: bool) -> None:
        senders = await asyncio.gather(*(sign_in(url, p.sender, action) for p in self.pairs))
        recipients = await asyncio.gather(*(sign_in(url, p.recipient, action) for p in self.pairs))
        readers = [asyncio.create_task(self._recipient(ws)) for ws in recipients]
        await asyncio.gather(*(
            self._sender(pair, ws, [c for c in pair.client_ids if c not in pair.acks]
                         if resend else pair.client_ids)
            for pair, ws in zip(self.pairs, senders, strict=True)
        ))
        await asyncio.sleep(0.2)  # let any duplicate push arrive before we stop reading
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.gather(*(ws.close() for ws in senders + recipients))


@pytest.mark.timeout(90)
def test_sigkill_mid_load_keeps_every_acknowledged_message_once(
    gateways: Callable[[Path], Server], tmp_path: Path, figures: Callable[..., None]
) -> None:
    store = tmp_path / "chat.db"
    pairs = [Pair(i) for i in range(PAIRS)]
    first = gateways(store)
    acked_total = 0

    def count_ack() -> None:
        nonlocal acked_total
        acked_total += 1
        if acked_total == KILL_AFTER_ACKS:
            first.kill()  # SIGKILL: no shutdown, no $disconnect, no flush

    before = Load(pairs, count_ack)
    asyncio.run(before.run(first.ws_url, "register", resend=False))
    assert first.process.returncode == -9, "the gateway should have been killed mid-load"
    acked_before = {c: i for p in pairs for c, i in p.acks.items()}
    in_flight = {c for p in pairs for c in p.attempted} - acked_before.keys()
    never_sent = {c for p in pairs for c in p.client_ids} - {c for p in pairs for c in p.attempted}

    killed_at = time.time()
    started = time.monotonic()
    second = gateways(store)
    restart_s = time.monotonic() - started
    after = Load(pairs)
    asyncio.run(after.run(second.ws_url, "login", resend=True))

    async def read_histories() -> list[list[dict[str, Any]]]:
        found = []
        for pair in pairs:
            ws = await sign_in(second.ws_url, pair.recipient, "login")
            found.append(await history(ws, pair.sender))
            await ws.close()
        return found

    histories = asyncio.run(read_histories())
    assert before.errors == after.errors == []
    stored = {m["client_id"]: m["id"] for h in histories for m in h}
    counts = Counter(m["client_id"] for h in histories for m in h)
    everything = {c for p in pairs for c in p.client_ids}
    # every acknowledged message is in history, under the id its ack gave
    assert {c: stored.get(c) for c in acked_before} == acked_before
    # re-sending with the same client_id stored each message exactly once
    assert set(counts) == everything
    assert max(counts.values()) == 1
    final_acks = {c: i for p in pairs for c, i in p.acks.items()}
    assert final_acks == stored
    assert all(MESSAGE_ID_PATTERN.match(i) for i in stored.values())
    # no message reached a recipient twice, across the crash
    assert max((before.live + after.live).values()) == 1
    # in-flight messages that were stored before the kill came back with their first id
    stored_before_kill = {c for c in in_flight if id_millis(stored[c]) <= killed_at * 1000}
    figures(
        pairs=PAIRS,
        messages=PAIRS * MESSAGES,
        acknowledged_before_kill=len(acked_before),
        in_flight_at_kill=len(in_flight),
        in_flight_already_stored=len(stored_before_kill),
        never_sent_before_kill=len(never_sent),
        resent_after_restart=len(in_flight) + len(never_sent),
        acknowledged_missing_from_history=sum(1 for c in acked_before if c not in stored),
        in_history=len(stored),
        duplicated=sum(n - 1 for n in counts.values()),
        restart_s=round(restart_s, 2),
    )
