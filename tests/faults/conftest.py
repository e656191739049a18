"""Fixtures of the fault suite: the local gateway as a child process on a SQLite file
(bench/servers.py), the Lambda handlers on the DynamoDB store (moto's server on
loopback) with a stand-in @connections endpoint, and ``figures``, which records each
fault's numbers for docs/performance.md when BENCH_FAULTS_FIGURES names a file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from chalice.test import Client

import app as chat_app
from bench import servers
from chalicelib.model import Store
from localgw import events

FIGURES_ENV = "BENCH_FAULTS_FIGURES"
PUSHES = frozenset({"presence", "message", "typing"})  # frames pushed, not replies


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    def record(**values: Any) -> None:
        target = os.environ.get(FIGURES_ENV)
        if not target:
            return
        path = Path(target)
        data = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault(request.node.name, {}).update(values)
        path.write_text(json.dumps(data, indent=2) + "\n")

    return record


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[Callable[[Path], servers.Server]]:
    """Starts `python -m localgw` on a SQLite file; every one is stopped at the end."""
    started: list[servers.Server] = []

    def start(store: Path) -> servers.Server:
        log = tmp_path / f"gateway-{len(started)}.log"
        try:
            server = servers.start_gateway(f"sqlite:///{store}", log)
        except RuntimeError as problem:
            pytest.fail(f"the local gateway did not start: {problem}", pytrace=False)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def http_response(request: AWSPreparedRequest, status: int, headers: dict[str, str],
                  body: bytes) -> AWSResponse:
    return AWSResponse(request.url, status, headers, _Body(body))


class Connections:
    """Stands in for API Gateway's @connections endpoint at the HTTP layer of the app's
    real boto3 client: records each PostToConnection and answers 410 GoneException
    for the connections in ``gone``."""

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


@dataclass
class Lambda:
    """The app's three handlers, invoked with API-Gateway-shaped events."""

    client: Client
    connections: Connections
    store: Store
    table: str
    dynamodb: Any  # a boto3 client on the same endpoint, to look at the table

    def invoke(self, route: str, connection_id: str, body: Any = None) -> Any:
        peer = events.Peer(connection_id, 0.0, "127.0.0.1", "pytest",
                           "abc123.execute-api.us-east-1.amazonaws.com", "dev", "abc123")
        if route == "$connect":
            event, name = events.connect_event(peer, [], [], port=443, scheme="https"), "connect"
        elif route == "$disconnect":
            event, name = events.disconnect_event(peer, 1000, ""), "disconnect"
        else:
            event, name = events.message_event(peer, json.dumps(body)), "message"
        return self.client.lambda_.invoke(name, event).payload

    def say(self, connection_id: str, **frame: Any) -> dict[str, Any]:
        """Send a frame; return the reply posted back to this connection."""
        before = len(self.connections.to(connection_id))
        self.invoke("$default", connection_id, frame)
        replies = [f for f in self.connections.to(connection_id)[before:]
                   if f["type"] not in PUSHES]
        assert len(replies) == 1, f"{frame} -> {replies}"
        return replies[0]

    def sign_up(self, connection_id: str, username: str) -> None:
        self.invoke("$connect", connection_id)
        reply = self.say(connection_id, action="register", username=username,
                         password="fault-password")
        assert reply["type"] == "welcome", reply


@pytest.fixture
def dynamodb_lambda(
    dynamodb_table: Callable[[], str], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Lambda]:
    """The app on a fresh DynamoDB table (moto's server mode on loopback)."""
    table = dynamodb_table()
    monkeypatch.setenv("CHAT_STORE", f"dynamodb:{table}")
    connections = Connections()
    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-send.apigatewaymanagementapi", connections)
    api = chat_app.app.websocket_api
    monkeypatch.setattr(api, "session", session)
    monkeypatch.setattr(api, "_client", None)
    monkeypatch.setattr(api, "_endpoint", None)
    chat_app.service.cache_clear()
    service = chat_app.service()
    try:
        with Client(chat_app.app) as client:
            yield Lambda(client, connections, service.chat.store, table,
                         boto3.client("dynamodb", endpoint_url=moto_endpoint))
    finally:
        chat_app.service.cache_clear()
