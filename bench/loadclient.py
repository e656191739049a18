"""The load: P sender/recipient pairs of real WebSocket clients (asyncio), each sender
sending M messages to its recipient while keeping at most W unacknowledged. Every
frame a client receives is checked against what was addressed to whom, so the result
counts lost, duplicated and misrouted messages besides throughput and the delivery
latency (send -> the recipient receives it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.stats import percentile

PASSWORD = "bench-password"
# latency histogram: log-spaced bins from 0.1 ms to 100 s
HIST_EDGES_MS = [0.1 * 10 ** (i / 10) for i in range(61)]


@dataclass(frozen=True)
class Workload:
    pairs: int
    messages: int
    window: int = 10
    text_bytes: int = 64
    deadline_s: float = 120.0  # for the send phase; undelivered by then counts as lost
    connect_concurrency: int = 64
    grace_s: float = 0.3  # after the last expected frame, for duplicates to show up


@dataclass
class LoadResult:
    target: str
    pairs: int
    messages: int
    window: int
    expected: int = 0
    acked: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    misrouted: int = 0
    unacked: int = 0
    errors: int = 0
    other_frames: int = 0
    completed: bool = False
    setup_s: float = 0.0
    elapsed_s: float = 0.0
    msgs_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    histogram: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def ok(self) -> bool:
        return self.completed and self.lost == self.duplicated == self.misrouted == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def histogram(latencies_ms: list[float]) -> list[int]:
    counts = [0] * (len(HIST_EDGES_MS) + 1)  # plus under- and overflow at the ends
    for value in latencies_ms:
        index = 0 if value < HIST_EDGES_MS[0] else min(
            len(HIST_EDGES_MS), 1 + int(10 * math.log10(value / HIST_EDGES_MS[0]))
        )
        counts[index] += 1
    return counts


async def sign_in(
    url: str, username: str, action: str = "register", password: str = PASSWORD
) -> ClientConnection:
    """Open a connection and register (or log in); fails unless welcomed."""
    ws = await connect(url, compression=None, max_queue=None, ping_interval=None,
                       open_timeout=30, close_timeout=5, max_size=2**20)
    await ws.send(json.dumps({"action": action, "username": username, "password": password}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if reply.get("type") != "welcome":
        await ws.close()
        raise RuntimeError(f"{action} {username}: {reply}")
    return ws


class Tally:
    """Everything the clients saw, checked against what was sent."""

    def __init__(self, expected_total: int) -> None:
        self.expected_total = expected_total
        self.addressed: dict[str, tuple[str, str, str]] = {}  # client_id -> from, to, text
        self.sent_at: dict[str, float] = {}
        self.deliveries: Counter[str] = Counter()
        self.acks: set[str] = set()
        self.latencies_ms: list[float] = []
        self.misrouted = 0
        self.duplicate_acks = 0
        self.errors = 0
        self.other = 0
        self.last_event = 0.0
        self.done = asyncio.Event()

    def _check_done(self) -> None:
        if len(self.acks) == len(self.deliveries) == self.expected_total:
            self.done.set()

    def on_recipient_frame(self, me: str, frame: dict[str, Any], at: float) -> None:
        kind = frame.get("type")
        if kind != "message":
            if kind == "error":
                self.errors += 1
            else:
                self.other += 1
            return
        client_id = str(frame.get("client_id"))
        addressed = self.addressed.get(client_id)
        if addressed != (frame.get("from"), frame.get("to"), frame.get("text")) or (
            addressed is not None and addressed[1] != me
        ):
            self.misrouted += 1
            return
        self.deliveries[client_id] += 1
        if self.deliveries[client_id] == 1:
            self.latencies_ms.append((at - self.sent_at[client_id]) * 1000)
            self.last_event = max(self.last_event, at)
            self._check_done()

    def on_sender_frame(self, frame: dict[str, Any], at: float) -> bool:
        """True when the frame frees a place in the sender's window."""
        kind = frame.get("type")
        if kind == "ack":
            client_id = str(frame.get("client_id"))
            if client_id in self.acks:
                self.duplicate_acks += 1
                return False
            if client_id not in self.addressed:
                self.misrouted += 1
                return False
            self.acks.add(client_id)
            self.last_event = max(self.last_event, at)
            self._check_done()
            return True
        if kind == "message":
            self.misrouted += 1  # a sender has no other connection to be copied to
        elif kind == "error":
            self.errors += 1
            return True
        else:
            self.other += 1
        return False


async def _read(ws: ClientConnection, handle: Callable[[dict[str, Any], float], None]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            handle(json.loads(raw), time.perf_counter())


async def _bounded(coroutines: list[Awaitable[Any]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coroutine: Awaitable[Any]) -> Any:
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


Hook = Callable[[], Awaitable[None]]


async def run_load(
    url: str,
    target: str,
    workload: Workload,
    *,
    tag: str = "u",
    after_connect: Hook | None = None,
) -> LoadResult:
    """Run the workload against the server at ``url`` (its WebSocket endpoint).
    ``after_connect`` runs once every client is signed in, before the first send."""
    w = workload
    result = LoadResult(target, w.pairs, w.messages, w.window, expected=w.pairs * w.messages)
    tally = Tally(result.expected)
    senders_names = [f"{tag}s{i:04d}" for i in range(w.pairs)]
    recipient_names = [f"{tag}r{i:04d}" for i in range(w.pairs)]
    started = time.perf_counter()
    connections: list[ClientConnection] = await _bounded(
        [sign_in(url, name) for name in senders_names + recipient_names], w.connect_concurrency
    )
    senders, recipients = connections[: w.pairs], connections[w.pairs :]
    result.setup_s = time.perf_counter() - started
    windows = [asyncio.Semaphore(w.window) for _ in range(w.pairs)]
    readers = [
        asyncio.create_task(_read(ws, lambda f, at, me=name: tally.on_recipient_frame(me, f, at)))
        for ws, name in zip(recipients, recipient_names, strict=True)
    ]

    def on_sender(index: int) -> Callable[[dict[str, Any], float], None]:
        def handle(frame: dict[str, Any], at: float) -> None:
            if tally.on_sender_frame(frame, at):
                windows[index].release()

        return handle

    readers += [asyncio.create_task(_read(ws, on_sender(i))) for i, ws in enumerate(senders)]
    if after_connect is not None:
        await after_connect()

    padding = "x" * w.text_bytes
    frames: list[list[tuple[str, str]]] = []
    for i in range(w.pairs):
        mine = []
        for seq in range(w.messages):
            client_id = f"p{i}-m{seq}"
            text = f"{client_id} {padding}"[: max(w.text_bytes, len(client_id))]
            tally.addressed[client_id] = (senders_names[i], recipient_names[i], text)
            mine.append((client_id, json.dumps(
                {"action": "send", "to": recipient_names[i], "text": text, "client_id": client_id}
            )))
        frames.append(mine)

    async def send_all(index: int) -> None:
        ws, window = senders[index], windows[index]
        for client_id, frame in frames[index]:
            await window.acquire()
            tally.sent_at[client_id] = time.perf_counter()
            await ws.send(frame)

    first_send = time.perf_counter()
    sending = [asyncio.create_task(send_all(i)) for i in range(w.pairs)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.done.wait(), w.deadline_s)
    result.completed = tally.done.is_set()
    await asyncio.sleep(w.grace_s)
    for task in sending:
        task.cancel()
    await _bounded([ws.close() for ws in connections], w.connect_concurrency)
    for task in readers:
        task.cancel()
    await asyncio.gather(*sending, *readers, return_exceptions=True)

    end = tally.last_event if result.completed else time.perf_counter()
    result.elapsed_s = max(end - first_send, 1e-9)
    result.delivered = len(tally.deliveries)
    result.acked = len(tally.acks)
    result.lost = result.expected - result.delivered
    result.unacked = result.expected - result.acked
    result.duplicated = sum(n - 1 for n in tally.deliveries.values()) + tally.duplicate_acks
    result.misrouted = tally.misrouted
    result.errors = tally.errors
    result.other_frames = tally.other
    result.msgs_per_s = result.delivered / result.elapsed_s
    lat = tally.latencies_ms
    result.latency_ms = {
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "max": max(lat) if lat else math.nan,
        "mean": sum(lat) / len(lat) if lat else math.nan,
    }
    result.histogram = histogram(lat)
    return result
