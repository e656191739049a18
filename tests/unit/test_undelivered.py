"""Issue 11, items 1 and 10 through app.py's Lambda handlers: a reply that cannot be
posted (other than Gone) is logged at error level as ``undelivered`` and the caller
gets an ``error`` in its place (exactly one direct reply); ``Report.failed`` is in
the log line; the one log line is written even when ``$disconnect`` or the cleanup
of gone connections raise.

The @connections endpoint is stood in for at the HTTP layer of the app's real boto3
client (tests/lambda_harness.py); here it also refuses posts as API Gateway does:
413 PayloadTooLargeException above a size, or a 500.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from chalice.test import Client

import app as chat_app
from chalicelib import protocol
from tests.lambda_harness import Connections, http_response, invoke, lambda_app

LIMIT = 4000  # the stand-in's refusal size, far under the app's budget: a misfit gateway


class Refusals:
    """Answers first, before the recording stand-in: 413 for posts over ``limit``
    bytes, 500 for posts to the connections in ``broken`` or of the frame types in
    ``broken_types``. (botocore clients copy the session's hooks when made, so this is
    registered before the first post.) (botocore still calls the
    stand-in, which records the refused post too: ``delivered`` leaves them out.)"""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.broken: set[str] = set()
        self.broken_types: set[str] = set()
        self.refused: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        connection_id = request.url.rsplit("/", 1)[-1]
        body = bytes(request.body or b"")
        if self.limit is not None and len(body) > self.limit:
            self.refused.append((connection_id, json.loads(body)))
            message = json.dumps({"message": f"Message payload exceeds {self.limit} bytes"})
            return http_response(
                request, 413, {"x-amzn-ErrorType": "PayloadTooLargeException"}, message.encode()
            )
        if connection_id in self.broken or json.loads(body)["type"] in self.broken_types:
            self.refused.append((connection_id, json.loads(body)))
            return http_response(
                request, 500, {"x-amzn-ErrorType": "InternalServerErrorException"},
                b'{"message": "Internal server error"}',
            )
        return None

    def delivered(self, connections: Connections, connection_id: str) -> list[dict[str, Any]]:
        refused = [frame for c, frame in self.refused if c == connection_id]
        return [frame for frame in connections.to(connection_id) if frame not in refused]


@pytest.fixture
def harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Client, Connections, Refusals]]:
    with lambda_app(monkeypatch, f"sqlite:///{tmp_path / 'chat.db'}") as (client, conns, _):
        refusals = Refusals()
        session = chat_app.app.websocket_api.session
        session.events.register_first("before-send.apigatewaymanagementapi", refusals)
        yield client, conns, refusals


def sign_up(client: Client, connection_id: str, name: str) -> None:
    invoke(client, "$default", connection_id,
           {"action": "register", "username": name, "password": "correct horse"})


def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        with contextlib.suppress(ValueError):  # a stack trace's own lines
            lines.append({"level": record.levelname, **json.loads(record.getMessage())})
    return lines


def event_lines(caplog: pytest.LogCaptureFixture, route: str) -> list[dict[str, Any]]:
    return [r for r in log_lines(caplog) if r["route"] == route and "duration_ms" in r]


def test_a_reply_too_large_to_post_is_answered_too_large(
    harness: tuple[Client, Connections, Refusals], caplog: pytest.LogCaptureFixture
) -> None:
    client, connections, refusals = harness
    sign_up(client, "A", "alice")
    sign_up(client, "B", "bob")
    for n in range(3):
        invoke(client, "$default", "B",
               {"action": "send", "to": "alice", "text": "x" * 1500, "client_id": f"k{n}"})
    refusals.limit = LIMIT
    before = len(refusals.delivered(connections, "A"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="chat"):
        invoke(client, "$default", "A", {"action": "history", "with": "bob"})
    replies = refusals.delivered(connections, "A")[before:]
    assert len(replies) == 1, replies
    assert replies[0]["type"] == "error" and replies[0]["code"] == protocol.TOO_LARGE
    assert replies[0]["action"] == "history"
    assert [frame["type"] for _, frame in refusals.refused] == ["history"]
    (line,) = event_lines(caplog, "$default")
    assert line["outcome"] == "undelivered" and line["failed"] == 1 and line["delivered"] == 1
    (undelivered,) = [r for r in log_lines(caplog) if r["outcome"] == "undelivered"
                      and "target" in r]
    assert undelivered["level"] == "ERROR" and undelivered["reason"] == protocol.TOO_LARGE
    assert undelivered["frame"] == "history" and undelivered["target"] == "A"


def test_a_reply_that_fails_otherwise_is_answered_internal(
    harness: tuple[Client, Connections, Refusals], caplog: pytest.LogCaptureFixture
) -> None:
    client, connections, refusals = harness
    sign_up(client, "A", "alice")

    refusals.broken_types = {"pong"}  # every try (botocore retries a 500); errors pass
    before = len(connections.to("A"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="chat"):
        invoke(client, "$default", "A", {"action": "ping"})
    reply = connections.to("A")[before:][-1]
    assert {f["type"] for f in connections.to("A")[before:-1]} == {"pong"}  # refused tries
    assert reply["type"] == "error" and reply["code"] == protocol.INTERNAL
    assert reply["action"] == "ping"
    (line,) = event_lines(caplog, "$default")
    assert line["outcome"] == "undelivered" and line["failed"] == 1
    assert any(r["level"] == "ERROR" and r.get("reason") == "internal" for r in log_lines(caplog))


def test_a_push_that_fails_is_logged_and_the_caller_still_gets_its_ack(
    harness: tuple[Client, Connections, Refusals], caplog: pytest.LogCaptureFixture
) -> None:
    client, connections, refusals = harness
    sign_up(client, "A", "alice")
    sign_up(client, "B", "bob")
    refusals.broken = {"B"}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="chat"):
        invoke(client, "$default", "A",
               {"action": "send", "to": "bob", "text": "hi", "client_id": "k1"})
    assert connections.to("A")[-1]["type"] == "ack"
    assert [f for f in refusals.delivered(connections, "B") if f["type"] == "message"] == []
    (line,) = event_lines(caplog, "$default")
    assert line["outcome"] == "undelivered" and line["failed"] == 1
    (undelivered,) = [r for r in log_lines(caplog) if "target" in r]
    assert undelivered["level"] == "ERROR" and undelivered["target"] == "B"
    assert undelivered["frame"] == "message"


def test_disconnect_that_raises_is_still_logged(
    harness: tuple[Client, Connections, Refusals],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _, _ = harness
    sign_up(client, "A", "alice")

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(chat_app.service().chat.store, "unbind_connection", broken)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="chat"):
        invoke(client, "$disconnect", "A")
    (line,) = event_lines(caplog, "$disconnect")
    assert line["outcome"] == protocol.INTERNAL and line["connection_id"] == "A"
    assert "store unavailable" in caplog.text  # the cause, with its stack trace


def test_cleanup_of_gone_connections_that_raises_is_still_logged(
    harness: tuple[Client, Connections, Refusals],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, connections, _ = harness
    sign_up(client, "A", "alice")
    sign_up(client, "B", "bob")
    connections.gone = {"B"}

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(chat_app.service().chat.store, "unbind_connection", broken)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="chat"):
        invoke(client, "$default", "A",
               {"action": "send", "to": "bob", "text": "hi", "client_id": "k1"})
    assert connections.to("A")[-1]["type"] == "ack"
    (line,) = event_lines(caplog, "$default")
    assert line["gone"] == 1 and line["outcome"] == protocol.INTERNAL
    assert "store unavailable" in caplog.text
