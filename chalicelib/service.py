"""Runs one API Gateway WebSocket event through the chat:
event -> core (parse, decide, store) -> delivery -> one log line.

The only place that catches unexpected failures: the client gets an
``internal`` error frame, the log gets the stack trace and the request id.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from chalicelib import logs, protocol
from chalicelib.chat import Chat, InternalFailure, Outcome, Outgoing
from chalicelib.delivery import PostToConnection, deliver


def request_id(event: dict[str, Any]) -> str:
    return str(event.get("requestContext", {}).get("requestId", ""))


def source_ip(event: dict[str, Any]) -> str | None:
    """The caller's address as API Gateway saw it (never a frame's claim)."""
    value = event.get("requestContext", {}).get("identity", {}).get("sourceIp")
    return value if isinstance(value, str) and value else None


def message_body(event: dict[str, Any]) -> str | bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            return b"\xff"  # not JSON: answered with bad_json
    return body


class ChatService:
    def __init__(self, chat: Chat, post: PostToConnection) -> None:
        self.chat = chat
        self.post = post

    def on_connect(self, connection_id: str, event: dict[str, Any]) -> None:
        self._run("$connect", connection_id, event, lambda: self.chat.connect(connection_id))

    def on_disconnect(self, connection_id: str, event: dict[str, Any]) -> None:
        self._run("$disconnect", connection_id, event, lambda: self.chat.disconnect(connection_id))

    def on_message(self, connection_id: str, event: dict[str, Any]) -> None:
        body = message_body(event)
        ip = source_ip(event)
        self._run(
            "$default",
            connection_id,
            event,
            lambda: self.chat.receive(connection_id, body, source_ip=ip),
        )

    def _run(
        self,
        route: str,
        connection_id: str,
        event: dict[str, Any],
        decide: Callable[[], Outcome],
    ) -> None:
        started = time.perf_counter()
        rid = request_id(event)
        try:
            outcome = decide()
        except InternalFailure as failure:
            logs.failure(route, connection_id, rid)
            frame = protocol.error(
                protocol.INTERNAL,
                f"something went wrong on our side (request {rid})",
                failure.action,
                failure.client_id,
            )
            outcome = Outcome([Outgoing(connection_id, frame)], protocol.INTERNAL, failure.action)
        report = deliver(outcome.frames, self.post)
        if report.gone:
            # one level only: presence caused by forgetting is not chased further
            cleanup = self.chat.forget(report.gone)
            deliver([f for f in cleanup.frames if f.connection_id not in report.gone], self.post)
        logs.event(
            route=route,
            action=outcome.action,
            connection_id=connection_id,
            request_id=rid,
            outcome=outcome.code,
            duration_ms=(time.perf_counter() - started) * 1000,
            username=outcome.username,
            delivered=report.delivered,
            gone=len(report.gone),
        )
