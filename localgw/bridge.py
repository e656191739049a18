"""Answers the app's boto3 ``apigatewaymanagementapi`` calls from the local gateway.

A botocore ``before-send`` hook on the app's session returns the gateway's reply as
an HTTP response, so ``app.websocket_api.send/close/info`` run unchanged (real client,
real serialization and error parsing: a closed connection raises ``GoneException``)
and no request ever leaves the process.

PostToConnection, the hot path (every delivered frame), is answered one step earlier,
at ``before-call`` (after the client has validated and serialized the call, where
botocore's Stubber also answers): that skips building and parsing an HTTP exchange
that never crosses a wire, about half of botocore's cost per post. Errors still
come back as the modeled exceptions (``GoneException``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import botocore
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from localgw.connections_api import NOT_FOUND, Connections, Reply

logger = logging.getLogger("localgw")

SERVICE = "apigatewaymanagementapi"
HOOK_ID = "localgw-connections"
MARKER = "/@connections/"


class _Body:
    """The ``raw`` object AWSResponse reads its content from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Bridge:
    def __init__(self, connections: Connections, websocket_api: Any, endpoint: str) -> None:
        self.connections = connections
        self.websocket_api = websocket_api
        self.endpoint = endpoint
        self._session: Any = None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Before each invocation: hook the session again if the app replaced it."""
        if self.websocket_api.session is not self._session:
            with self._lock:
                if self.websocket_api.session is not self._session:
                    self.attach()

    def attach(self) -> None:
        """Hook ``websocket_api.session`` (Chalice's WebsocketAPI)."""
        websocket_api = self.websocket_api
        session = self._session = websocket_api.session
        # Chalice caches its client and an endpoint derived from the first event's apiId.
        # A client made before the hook existed would bypass it, so make it build a new
        # one; and should anything still bypass the hook, the endpoint is this gateway's
        # own HTTP @connections API, never AWS.
        websocket_api._client = None
        websocket_api._endpoint = self.endpoint
        if session is None:
            logger.warning("app.websocket_api.session is not set: send/close/info will fail")
            return
        emitter = session.events
        for event, handler in (
            (f"choose-signer.{SERVICE}", _unsigned),
            (f"before-call.{SERVICE}.PostToConnection", self._post),
            (f"before-send.{SERVICE}", self._answer),
        ):
            emitter.unregister(event, unique_id=f"{HOOK_ID}-{event}")
            emitter.register(event, handler, unique_id=f"{HOOK_ID}-{event}")

    def _post(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        connection_id = unquote(params["url_path"].split(MARKER, 1)[1])
        body = params["body"]
        reply = self.connections.call(
            "POST", connection_id, body.encode("utf-8") if isinstance(body, str) else body
        )
        http = AWSResponse(params["url"], reply.status, _headers(reply), _Body(reply.body))
        parsed: dict[str, Any] = {
            "ResponseMetadata": {"HTTPStatusCode": reply.status, "HTTPHeaders": reply.headers()}
        }
        if reply.error_type:
            message = json.loads(reply.body or b"{}").get("message", "")
            parsed["Error"] = {"Code": reply.error_type, "Message": message}
        return http, parsed

    def _answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        path = urlsplit(request.url).path
        if MARKER not in path:
            reply = NOT_FOUND
        else:
            connection_id = unquote(path.split(MARKER, 1)[1])
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode("utf-8")
            elif isinstance(body, bytearray):
                body = bytes(body)
            elif not isinstance(body, bytes):
                data = body.read()
                body = data.encode("utf-8") if isinstance(data, str) else data
            reply = self.connections.call(request.method or "GET", connection_id, body)
        return AWSResponse(request.url, reply.status, _headers(reply), _Body(reply.body))


def _headers(reply: Reply) -> Any:
    # AWSResponse accepts any mapping (it copies it into a HeadersDict); its stub says HTTPHeaders
    return cast(Any, reply.headers())


def _unsigned(**_: Any) -> Any:
    # Local calls need no AWS credentials, so a machine without any still works.
    return botocore.UNSIGNED
