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
from chalice.test import Client

from bench import servers
from chalicelib.model import Store
from tests.lambda_harness import Connections, invoke, lambda_app

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


@dataclass
class Lambda:
    """The app's three handlers, invoked with API-Gateway-shaped events."""

    client: Client
    connections: Connections
    store: Store
    table: str
    dynamodb: Any  # a boto3 client on the same endpoint, to look at the table

    def invoke(self, route: str, connection_id: str, body: Any = None) -> Any:
        return invoke(self.client, route, connection_id, body)

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
    with lambda_app(monkeypatch, f"dynamodb:{table}") as (client, connections, service):
        yield Lambda(client, connections, service.chat.store, table,
                     boto3.client("dynamodb", endpoint_url=moto_endpoint))
