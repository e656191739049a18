"""Runs one API Gateway WebSocket event through the chat:
event -> core (parse, decide, store) -> delivery -> one log line.

The only place that catches unexpected failures: the client gets an
``internal`` error frame, the log gets the stack trace and the request id. A
direct reply that cannot be posted (other than Gone) is replaced by a small
``error`` (``too_large`` or ``internal``), so the caller still gets exactly one
reply. Every event logs its one line, whatever raised.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from chalicelib import logs, protocol
from chalicelib.chat import Chat, InternalFailure, Outcome, Outgoing
from chalicelib.delivery import PostToConnection, Report, Undelivered, deliver

# the log outcome of an event one of whose frames could not be posted
UNDELIVERED = "undelivered"


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
        outcome = Outcome(code=protocol.INTERNAL)
        report = Report()
        try:
            outcome = self._decide(route, connection_id, rid, decide)
            report = deliver(outcome.frames, self.post)
            if report.undelivered:
                self._answer_undelivered(route, connection_id, rid, outcome, report)
            if report.gone:
                # one level only: presence caused by forgetting is not chased further
                cleanup = self.chat.forget(report.gone)
                deliver(
                    [f for f in cleanup.frames if f.connection_id not in report.gone], self.post
                )
        except Exception:
            # $connect/$disconnect failing in the core, or forgetting gone
            # connections: nothing to answer, but the event is still logged
            logs.failure(route, connection_id, rid)
            outcome.code = protocol.INTERNAL
        finally:
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
                failed=report.failed,
            )

    def _decide(
        self, route: str, connection_id: str, rid: str, decide: Callable[[], Outcome]
    ) -> Outcome:
        try:
            return decide()
        except InternalFailure as failure:
            logs.failure(route, connection_id, rid)
            frame = protocol.error(
                protocol.INTERNAL,
                f"something went wrong on our side (request {rid})",
                failure.action,
                failure.client_id,
            )
            return Outcome([Outgoing(connection_id, frame)], protocol.INTERNAL, failure.action)

    def _answer_undelivered(
        self, route: str, connection_id: str, rid: str, outcome: Outcome, report: Report
    ) -> None:
        """Log every frame that could not be posted; when one was the caller's
        direct reply, answer with a small ``error`` in its place, so the caller
        still gets exactly one reply."""
        outcome.code = UNDELIVERED
        direct: Undelivered | None = None
        for failed in report.undelivered:
            logs.undelivered(
                route=route,
                connection_id=connection_id,
                request_id=rid,
                target=failed.connection_id,
                frame_type=str(failed.frame.get("type")),
                reason=protocol.TOO_LARGE if failed.too_large else protocol.INTERNAL,
                error=failed.error,
            )
            if failed.connection_id == connection_id and route == "$default":
                direct = failed
        if direct is None:
            return
        if direct.too_large:
            frame = protocol.error(
                protocol.TOO_LARGE,
                f"the reply to this request was too large to deliver (request {rid})",
                outcome.action,
            )
        else:
            frame = protocol.error(
                protocol.INTERNAL,
                f"something went wrong on our side (request {rid})",
                outcome.action,
            )
        answered = deliver([Outgoing(connection_id, frame)], self.post)
        report.delivered += answered.delivered
        report.gone.extend(c for c in answered.gone if c not in report.gone)
        for failed in answered.undelivered:
            report.undelivered.append(failed)
            logs.undelivered(
                route=route,
                connection_id=connection_id,
                request_id=rid,
                target=failed.connection_id,
                frame_type="error",
                reason=protocol.INTERNAL,
                error=failed.error,
            )
