"""The Lambda handlers of app.py under Chalice's test client, with API Gateway's
@connections endpoint stood in for at the HTTP layer of the app's real boto3
client (the one thing that cannot run here). Used by the handler and fault suites."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from chalice.test import Client

import app as chat_app
from chalicelib.service import ChatService
from tests.unit.events import websocket_event

FUNCTIONS = {"$connect": "connect", "$disconnect": "disconnect", "$default": "message"}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def http_response(
    request: AWSPreparedRequest, status: int, headers: dict[str, str], body: bytes
) -> AWSResponse:
    return AWSResponse(request.url, status, headers, _Body(body))


class Connections:
    """Stands in for API Gateway's @connections endpoint: records each
    PostToConnection and answers 410 GoneException for the connections in ``gone``."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.attempts: list[str] = []
        self.gone: set[str] = set()

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        connection_id = request.url.rsplit("/", 1)[-1]
        self.attempts.append(connection_id)
        if connection_id in self.gone:
            return http_response(request, 410, {"x-amzn-ErrorType": "GoneException"},
                                 b'{"message": "Gone"}')
        self.posts.append((connection_id, json.loads(request.body)))
        return http_response(request, 200, {}, b"")

    def to(self, connection_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [f for c, f in self.posts if c == connection_id and kind in (None, f["type"])]


@contextmanager
def lambda_app(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> Iterator[tuple[Client, Connections, ChatService]]:
    """app.py on ``store_url``, its @connections calls captured."""
    monkeypatch.setenv("CHAT_STORE", store_url)
    connections = Connections()
    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-send.apigatewaymanagementapi", connections)
    api = chat_app.app.websocket_api
    monkeypatch.setattr(api, "session", session)
    monkeypatch.setattr(api, "_client", None)
    monkeypatch.setattr(api, "_endpoint", None)
    chat_app.service.cache_clear()
    service = chat_app.service()  # built here, from this test's environment
    try:
        with Client(chat_app.app) as client:
            yield client, connections, service
    finally:
        chat_app.service.cache_clear()


def invoke(client: Client, route: str, connection_id: str, body: Any = None) -> Any:
    """Runs one handler with an API-Gateway-shaped event; a non-string body is JSON."""
    raw = body if body is None or isinstance(body, str) else json.dumps(body)
    event = websocket_event(route, connection_id, raw)
    return client.lambda_.invoke(FUNCTIONS[route], event).payload
