"""API Gateway WebSocket events and ids, shaped like AWS's."""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_id() -> str:
    """An id in API Gateway's form (connection, request and message ids look alike):
    11 random bytes, URL-safe base64, e.g. ``'RYGzEcSNvHcCH8A='``."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode("ascii")


def new_uuid() -> str:
    """A random (version 4) UUID, as Lambda's and API Gateway's request ids are."""
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def new_api_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def request_time(epoch: float) -> str:
    """CLF time as in requestContext.requestTime: ``'30/Apr/2022:04:16:26 +0000'``."""
    t = time.gmtime(epoch)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


@dataclass(frozen=True)
class Peer:
    """What API Gateway knows about one connection, fixed at $connect."""

    connection_id: str
    connected_at: float  # epoch seconds
    source_ip: str
    user_agent: str
    domain_name: str
    stage: str
    api_id: str


def _context(peer: Peer, route: str, event_type: str) -> dict[str, Any]:
    now = time.time()
    request_id = new_id()
    return {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(now),
        "messageDirection": "IN",
        "stage": peer.stage,
        "connectedAt": int(peer.connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": peer.source_ip, "userAgent": peer.user_agent},
        "requestId": request_id,
        "domainName": peer.domain_name,
        "connectionId": peer.connection_id,
        "apiId": peer.api_id,
    }


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def connect_event(
    peer: Peer,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    *,
    port: int,
    scheme: str,
) -> dict[str, Any]:
    header_pairs = [*headers]
    names = {name.lower() for name, _ in header_pairs}
    # API Gateway adds these on the way in
    added = {
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        "X-Forwarded-For": peer.source_ip,
        "X-Forwarded-Port": str(port),
        "X-Forwarded-Proto": scheme,
    }
    header_pairs += [(k, v) for k, v in added.items() if k.lower() not in names]
    multi_headers = _grouped(header_pairs)
    event: dict[str, Any] = {
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "requestContext": _context(peer, "$connect", "CONNECT"),
        "isBase64Encoded": False,
    }
    multi_query = _grouped(query)
    if multi_query:
        event["queryStringParameters"] = {k: v[-1] for k, v in multi_query.items()}
        event["multiValueQueryStringParameters"] = multi_query
    return event


def message_event(peer: Peer, data: str | bytes) -> dict[str, Any]:
    context = _context(peer, "$default", "MESSAGE")
    context["messageId"] = new_id()
    if isinstance(data, bytes):
        return {
            "requestContext": context,
            "body": base64.b64encode(data).decode("ascii"),
            "isBase64Encoded": True,
        }
    return {"requestContext": context, "body": data, "isBase64Encoded": False}


def disconnect_event(peer: Peer, status_code: int, reason: str) -> dict[str, Any]:
    headers = {"Host": peer.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    context = _context(peer, "$disconnect", "DISCONNECT")
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def route_event(route: str, peer: Peer, body: str | bytes | None = None) -> dict[str, Any]:
    """The event for ``route`` on ``peer``'s connection, for callers that invoke handlers
    directly (tests, benchmarks): a ``$connect`` with only a Host header, a
    ``$disconnect`` after a normal close, or a message carrying ``body``."""
    if route == "$connect":
        return connect_event(peer, [("Host", peer.domain_name)], [], port=443, scheme="https")
    if route == "$disconnect":
        return disconnect_event(peer, 1000, "")
    return message_event(peer, body or "")
