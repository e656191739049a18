"""The @connections management API as API Gateway answers it: its replies (410 Gone, 413,
GET's shape), the checks before a post, and the two interfaces through which handlers
reach it. No aiohttp here: worker processes import this module, never the gateway."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from localgw import events

# API Gateway's WebSocket quotas
MAX_FRAME_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 128 * 1024


@dataclass(frozen=True)
class Quotas:
    idle_timeout: float = 600.0
    max_duration: float = 7200.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_frame_bytes: int = MAX_FRAME_BYTES


@dataclass(frozen=True)
class Reply:
    """An @connections API answer, as API Gateway shapes it."""

    status: int
    body: bytes = b""
    error_type: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": events.new_uuid()}
        if self.error_type:
            headers["x-amzn-ErrorType"] = self.error_type
        return headers


GONE = Reply(410, b"", "GoneException")
TAKEN = Reply(200)
NOT_FOUND = Reply(404, b'{"message": "Not Found"}', "NotFoundException")
FORBIDDEN = Reply(403, b'{"message": "Forbidden"}', "ForbiddenException")
METHOD_NOT_ALLOWED = Reply(405, b'{"message": "Method not allowed"}', "BadRequestException")


def refusal(is_open: bool, data: bytes, quotas: Quotas) -> Reply | None:
    """Why API Gateway would refuse a post, if it would: the connection, then the size."""
    if not is_open:
        return GONE
    if len(data) > quotas.max_message_bytes:
        message = f"Message payload exceeds {quotas.max_message_bytes} bytes"
        return Reply(413, json.dumps({"message": message}).encode(), "PayloadTooLargeException")
    return None


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def description(peer: events.Peer, last_active_at: float) -> Reply:
    """GetConnection's answer, in the wire names botocore's model reads
    (boto3 shows ``ConnectedAt``, ``Identity.SourceIp``, ``Identity.UserAgent``,
    ``LastActiveAt``)."""
    info = {
        "connectedAt": iso(peer.connected_at),
        "identity": {"sourceIp": peer.source_ip, "userAgent": peer.user_agent},
        "lastActiveAt": iso(last_active_at),
    }
    return Reply(200, json.dumps(info).encode())


class ConnectionsAPI(Protocol):
    """The gateway as the invokers reach it."""

    def take(self, connection_id: str, data: bytes) -> Reply:
        """PostToConnection from a handler, from any thread: checked now (the connection,
        then the size) and answered at once, as API Gateway answers 200 when it has the
        message; the frame is sent on the event loop in call order."""
        ...

    async def manage(self, method: str, connection_id: str, body: bytes) -> Reply:
        """Any @connections call, on the event loop (GET describes, DELETE closes)."""
        ...


class Connections(Protocol):
    """The @connections API as a handler's thread reaches it (localgw.bridge): blocking,
    in-process for the thread invoker, over the pipe in a worker process."""

    def call(self, method: str, connection_id: str, body: bytes) -> Reply: ...
