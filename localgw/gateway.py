"""The WebSocket side of the emulated API Gateway: connection lifecycle, quotas (frame and
message sizes, idle and total time), the order of events per connection, and the
@connections operations (post, get, delete) on its sockets that handlers and HTTP
callers use."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from localgw import events
from localgw.connections_api import (
    GONE,
    METHOD_NOT_ALLOWED,
    TAKEN,
    Quotas,
    Reply,
    description,
    refusal,
)
from localgw.events import Peer
from localgw.frames import FrameLimitedResponse
from localgw.invoker import Invoker

logger = logging.getLogger("localgw")

GOING_AWAY = (int(WSCloseCode.GOING_AWAY), "Going away")
NO_STATUS = (1005, "Client-side close frame status not set")
ABNORMAL = (1006, "Connection was closed abnormally")
TOO_BIG = (int(WSCloseCode.MESSAGE_TOO_BIG), "Message too big")
# API Gateway: "binary frames in incoming message payloads are not supported"
BINARY = (int(WSCloseCode.UNSUPPORTED_DATA), "Binary frames are not supported")
CLOSED_BY_SERVER = (int(WSCloseCode.OK), "Connection closed by server")
# how long a close waits for the client's closing handshake
CLOSE_TIMEOUT = 1.0
QUEUE_LIMIT = 256


@dataclass(eq=False)
class Connection:
    peer: Peer
    ws: web.WebSocketResponse
    started: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    last_active_at: float = field(default_factory=time.time)
    open: bool = True
    closing: bool = False
    disconnect: tuple[int, str] | None = None
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        return self.peer.connection_id

    def touch(self) -> None:
        self.last_active = time.monotonic()
        self.last_active_at = time.time()

    def deadline(self, quotas: Quotas) -> float:
        return min(self.last_active + quotas.idle_timeout, self.started + quotas.max_duration)


class Gateway:
    def __init__(self, invoker: Invoker, quotas: Quotas, stage: str) -> None:
        self.invoker = invoker
        self.quotas = quotas
        self.stage = stage
        self.api_id = events.new_api_id()
        self.connections: dict[str, Connection] = {}
        # made on the event loop it serves; handler threads post through it
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.stopping = False
        self._sessions: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()

    # the @connections API

    def _accept(self, connection_id: str, data: bytes) -> Connection | Reply:
        """What API Gateway checks before it takes a post: the connection and the size."""
        conn = self.connections.get(connection_id)
        refused = refusal(conn is not None and conn.open, data, self.quotas)
        if refused is not None:
            return refused
        assert conn is not None  # refused when it is not open
        return conn

    def take(self, connection_id: str, data: bytes) -> Reply:
        """A handler's post, from any thread (localgw.connections_api.ConnectionsAPI):
        checked against the connections as they are now, answered at once, and sent in
        call order (callbacks run in order, each task starts in creation order and
        queues on the connection's FIFO send lock)."""
        accepted = self._accept(connection_id, data)
        if isinstance(accepted, Reply):
            return accepted
        if threading.get_ident() == self._loop_thread:
            self._send_taken(connection_id, data)
        else:
            self._loop.call_soon_threadsafe(self._send_taken, connection_id, data)
        return TAKEN

    def _send_taken(self, connection_id: str, data: bytes) -> None:
        self.spawn(self.post(connection_id, data))

    async def post(self, connection_id: str, data: bytes) -> Reply:
        accepted = self._accept(connection_id, data)
        if isinstance(accepted, Reply):
            return accepted
        conn = accepted
        try:
            text: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            async with conn.send_lock:
                if text is None:
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(text)
        except Exception:
            return GONE
        conn.touch()
        return TAKEN

    async def get(self, connection_id: str) -> Reply:
        conn = self.connections.get(connection_id)
        if conn is None or not conn.open:
            return GONE
        return description(conn.peer, conn.last_active_at)

    async def delete(self, connection_id: str) -> Reply:
        conn = self.connections.get(connection_id)
        if conn is None or not conn.open:
            return GONE
        self.spawn(self.close(conn, *CLOSED_BY_SERVER))
        return Reply(204)

    async def manage(self, method: str, connection_id: str, body: bytes) -> Reply:
        if method == "POST":
            return await self.post(connection_id, body)
        if method == "GET":
            return await self.get(connection_id)
        if method == "DELETE":
            return await self.delete(connection_id)
        return METHOD_NOT_ALLOWED

    # lifecycle

    async def close(self, conn: Connection, code: int, reason: str) -> None:
        """Server-side close; the session task then runs $disconnect."""
        if conn.closing:
            return
        conn.closing = True
        conn.open = False
        conn.disconnect = (code, reason)
        try:
            await conn.ws.close(code=code, message=reason.encode())
        except Exception:
            logger.debug("closing %s failed", conn.id, exc_info=True)

    async def session(self, request: web.Request) -> web.StreamResponse:
        """One WebSocket connection from upgrade request to $disconnect."""
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            return await self._session(request)
        finally:
            self._sessions.discard(task)

    async def _session(self, request: web.Request) -> web.StreamResponse:
        if self.stopping:
            return web.Response(status=503, text="Service Unavailable")
        if not web.WebSocketResponse().can_prepare(request).ok:
            return web.Response(
                status=426, text="Upgrade Required", headers={"Upgrade": "websocket"}
            )
        peer = Peer(
            connection_id=events.new_id(),
            connected_at=time.time(),
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            domain_name=request.host,
            stage=self.stage,
            api_id=self.api_id,
        )
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        event = events.connect_event(
            peer,
            request.headers.items(),
            request.query.items(),
            port=sockname[1] if sockname else 0,
            scheme=request.scheme,
        )
        protocols: tuple[str, ...] = ()
        if self.invoker.has("$connect"):
            result = await self.invoker.invoke("$connect", event)
            if result.error is not None:
                return web.json_response({"message": "Internal server error"}, status=502)
            if not 200 <= result.status < 300:
                return _rejection(result.status, result.response or {})
            chosen = _header(result.response or {}, "Sec-WebSocket-Protocol")
            if chosen:
                protocols = (chosen,)
        ws = FrameLimitedResponse(
            self.quotas.max_frame_bytes,
            protocols=protocols,
            autoping=False,
            compress=False,
            timeout=CLOSE_TIMEOUT,
            # aiohttp refuses a message of max_msg_size bytes; API Gateway accepts 128 KB
            max_msg_size=self.quotas.max_message_bytes + 1,
        )
        conn = Connection(peer, ws)
        dispatcher = asyncio.create_task(self._dispatch(conn))
        try:
            await ws.prepare(request)
            self.connections[conn.id] = conn
            if self.stopping:
                await self.close(conn, *GOING_AWAY)
            await self._read(conn)
        except Exception:
            logger.debug("connection %s failed", conn.id, exc_info=True)
        finally:
            conn.open = False
            self.connections.pop(conn.id, None)
            if conn.disconnect is None:
                conn.disconnect = ABNORMAL
            self.spawn(conn.queue.put(None))
            # $disconnect must run even if this request task is cancelled
            await asyncio.shield(dispatcher)
        return ws

    async def _read(self, conn: Connection) -> None:
        ws = conn.ws
        while True:
            timeout: float | None = None
            if not conn.closing:
                remaining = conn.deadline(self.quotas) - time.monotonic()
                if remaining <= 0:
                    await self.close(conn, *GOING_AWAY)
                else:
                    timeout = remaining
            try:
                msg = await ws.receive(timeout=timeout)
            except TimeoutError:
                continue
            if msg.type is WSMsgType.BINARY:
                if not conn.closing:
                    await self.close(conn, *BINARY)
            elif msg.type is WSMsgType.TEXT:
                conn.touch()
                await conn.queue.put(events.message_event(conn.peer, msg.data))
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.CLOSE:
                if conn.disconnect is None:
                    code = int(msg.data or 0)
                    conn.disconnect = (code, msg.extra or "") if code else NO_STATUS
                return
            elif msg.type is WSMsgType.ERROR:
                if conn.disconnect is None:
                    error = msg.data
                    too_big = isinstance(error, WebSocketError) and error.code == TOO_BIG[0]
                    conn.disconnect = TOO_BIG if too_big else ABNORMAL
                return
            elif msg.type is WSMsgType.CLOSED:
                return
            # CLOSING (our own close in progress) and PONG: keep reading

    async def _dispatch(self, conn: Connection) -> None:
        """Runs this connection's events strictly in order, $disconnect last."""
        while (event := await conn.queue.get()) is not None:
            await self._message(conn, event)
        code, reason = conn.disconnect or ABNORMAL
        if self.invoker.has("$disconnect"):
            event = events.disconnect_event(conn.peer, code, reason)
            await self.invoker.invoke("$disconnect", event)

    async def _message(self, conn: Connection, event: dict[str, Any]) -> None:
        context = event["requestContext"]
        if not self.invoker.has("$default"):
            await self._error_frame(conn, "Forbidden", context["requestId"])
            return
        result = await self.invoker.invoke("$default", event)
        if result.error is not None:
            await self._error_frame(conn, "Internal server error", context["requestId"])

    async def _error_frame(self, conn: Connection, message: str, request_id: str) -> None:
        frame = {"message": message, "connectionId": conn.id, "requestId": request_id}
        await self.post(conn.id, json.dumps(frame).encode())

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def shutdown(self, timeout: float) -> None:
        """Close every socket with 1001 and wait (bounded) for each $disconnect."""
        self.stopping = True
        deadline = time.monotonic() + timeout
        for conn in list(self.connections.values()):
            self.spawn(self.close(conn, *GOING_AWAY))
        sessions = set(self._sessions)
        if sessions:
            await asyncio.wait(sessions, timeout=max(0.1, deadline - time.monotonic()))


def _header(response: dict[str, Any], name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _rejection(status: int, response: dict[str, Any]) -> web.Response:
    body = response.get("body")
    headers = {
        k: str(v)
        for k, v in (response.get("headers") or {}).items()
        if k.lower() not in {"content-length", "transfer-encoding", "connection"}
    }
    return web.Response(status=status, text=body if isinstance(body, str) else "", headers=headers)
