"""API-Gateway-shaped WebSocket events for invoking the handlers directly
(Chalice's test client has no WebSocket event generator)."""

from __future__ import annotations

import itertools
import time
from typing import Any

_EVENT_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT", "$default": "MESSAGE"}
_counter = itertools.count(1)


def websocket_event(
    route: str, connection_id: str, body: str | None = None, *, stage: str = "dev"
) -> dict[str, Any]:
    n = next(_counter)
    now_ms = int(time.time() * 1000)
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": _EVENT_TYPES[route],
        "extendedRequestId": f"ext-{n}",
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "stage": stage,
        "connectedAt": now_ms,
        "requestTimeEpoch": now_ms,
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        "requestId": f"req-{n}",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "connectionId": connection_id,
        "apiId": "abc123",
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if route == "$default":
        context.update({"messageId": f"msg-{n}", "messageDirection": "IN"})
        event["body"] = body if body is not None else ""
    elif route == "$connect":
        event["headers"] = {"Host": context["domainName"], "Sec-WebSocket-Version": "13"}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    else:
        context.update({"disconnectStatusCode": 1000, "disconnectReason": ""})
    return event
