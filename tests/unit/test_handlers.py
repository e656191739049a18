"""The Lambda handlers in app.py, invoked through Chalice's test client with
API-Gateway-shaped events; what they post to the @connections API is captured
at the HTTP layer of the real boto3 apigatewaymanagementapi client."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as chat_app
from chalicelib import protocol
from chalicelib.actions import ACTIONS
from tests.lambda_harness import Connections, invoke, lambda_app

from .events import websocket_event


@pytest.fixture
def lambda_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Client, Connections]]:
    with lambda_app(monkeypatch, f"sqlite:///{tmp_path / 'chat.db'}") as (client, conns, _):
        yield client, conns


def test_connect_message_disconnect_through_lambda_handlers(
    lambda_client: tuple[Client, Connections],
) -> None:
    client, connections = lambda_client
    for conn in ("A", "B"):
        assert invoke(client, "$connect", conn) == {"statusCode": 200}
    invoke(client, "$default", "A", {"action": "register", "username": "alice",
                                      "password": "correct horse"})
    invoke(client, "$default", "B", {"action": "register", "username": "bob",
                                      "password": "correct horse"})
    assert invoke(client, "$default", "A", {"action": "send", "to": "bob", "text": "hi",
                                            "client_id": "1"}) == {"statusCode": 200}
    (message,) = [f for f in connections.to("B") if f["type"] == "message"]
    assert message["from"] == "alice" and message["text"] == "hi"
    assert connections.to("A")[-1]["type"] == "ack"
    # the message was posted before the ack
    order = [(c, f["type"]) for c, f in connections.posts]
    assert order.index(("B", "message")) < order.index(("A", "ack"))
    assert invoke(client, "$disconnect", "A") == {"statusCode": 200}
    assert connections.to("B")[-1] == {"type": "presence", "username": "alice",
                                       "online": False}


def test_posts_go_to_the_stage_callback_url(lambda_client: tuple[Client, Connections]) -> None:
    client, _connections = lambda_client
    seen: list[str] = []
    chat_app.app.websocket_api.session.events.register(
        "before-send.apigatewaymanagementapi", lambda request, **_: seen.append(request.url)
    )
    invoke(client, "$default", "A", {"action": "ping"})
    assert seen == ["https://abc123.execute-api.us-east-1.amazonaws.com/dev/@connections/A"]


def test_gone_connection_is_removed_and_message_still_stored(
    lambda_client: tuple[Client, Connections],
) -> None:
    client, connections = lambda_client
    invoke(client, "$default", "A", {"action": "register", "username": "alice",
                                      "password": "correct horse"})
    invoke(client, "$default", "B", {"action": "register", "username": "bob",
                                      "password": "correct horse"})
    connections.gone.add("B")
    invoke(client, "$default", "A", {"action": "send", "to": "bob", "text": "are you there",
                                      "client_id": "k"})
    to_alice = [f["type"] for f in connections.to("A")]
    assert to_alice[-2:] == ["ack", "presence"]  # bob's last connection went away
    store = chat_app.service().chat.store
    assert store.get_connection("B", now=time.time()) is None
    assert store.connections_of(["bob"], now=time.time()) == {"bob": frozenset()}
    messages, _ = store.history("alice", "bob", None, 10)
    assert [m.text for m in messages] == ["are you there"]


def test_unexpected_failure_answers_internal_and_logs_request_id(
    lambda_client: tuple[Client, Connections], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, connections = lambda_client
    invoke(client, "$default", "A", {"action": "register", "username": "alice",
                                      "password": "correct horse"})
    store = chat_app.service().chat.store

    def broken(*_: object) -> None:
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(store, "conversations_page", broken)
    event = websocket_event("$default", "A", json.dumps({"action": "conversations",
                                                         "client_id": "z"}))
    request_id = event["requestContext"]["requestId"]
    with caplog.at_level(logging.INFO, logger="chat"):
        client.lambda_.invoke("message", event)
    reply = connections.to("A")[-1]
    assert reply["type"] == "error" and reply["code"] == protocol.INTERNAL
    assert reply["action"] == "conversations" and reply["client_id"] == "z"
    assert request_id in reply["message"]
    failure = [r for r in caplog.records if r.exc_info]
    assert failure and "store unavailable" in caplog.text
    assert json.loads(failure[0].getMessage())["request_id"] == request_id


def test_one_json_log_line_per_event_without_secrets(
    lambda_client: tuple[Client, Connections], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _ = lambda_client
    with caplog.at_level(logging.INFO, logger="chat"):
        invoke(client, "$connect", "A")
        invoke(client, "$default", "A", {"action": "register", "username": "alice",
                                          "password": "secret password"})
        invoke(client, "$default", "B", {"action": "register", "username": "bob",
                                          "password": "secret password"})
        invoke(client, "$default", "A", {"action": "send", "to": "bob",
                                          "text": "private words", "client_id": "1"})
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert [line["route"] for line in lines] == ["$connect", "$default", "$default", "$default"]
    assert lines[-1]["action"] == "send" and lines[-1]["outcome"] == "ok"
    assert lines[-1]["user"] == "alice" and lines[-1]["connection_id"] == "A"
    assert {"request_id", "duration_ms"} <= set(lines[-1])
    assert "secret password" not in caplog.text and "private words" not in caplog.text
    assert "token" not in caplog.text


def test_binary_frames_are_answered_bad_json(lambda_client: tuple[Client, Connections]) -> None:
    client, connections = lambda_client
    event = websocket_event("$default", "A")
    event.update(body=base64.b64encode(b"\x00\x01").decode(), isBase64Encoded=True)
    client.lambda_.invoke("message", event)
    assert connections.to("A")[-1]["code"] == protocol.BAD_JSON


frames = st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(["action", "to", "text", "client_id", "with", "query",
                                     "token", "username", "password", "limit", "before",
                                     "up_to"]),
                    st.one_of(st.none(), st.integers(), st.text(max_size=30),
                              st.sampled_from(list(ACTIONS))),
                    ).map(json.dumps),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(frames, min_size=1, max_size=5))
def test_any_input_gets_one_structured_reply_and_never_raises(
    lambda_client: tuple[Client, Connections], bodies: list[str]
) -> None:
    client, connections = lambda_client
    for body in bodies:
        before = len(connections.posts)
        invoke(client, "$default", "P", body)
        replies = [f for c, f in connections.posts[before:] if c == "P"]
        parsed = _json_object(body)
        valid_typing = (
            parsed is not None and parsed.get("action") == "typing"
            and replies == []
        )
        if not valid_typing:
            assert len(replies) == 1, (body, replies)
            assert replies[0]["type"] in {"error", "pong", "welcome", "users", "history",
                                          "conversations", "read", "ack", "bye"}
            if replies[0]["type"] == "error":
                assert replies[0]["code"] in {
                    "bad_json", "unknown_action", "invalid", "unauthenticated",
                    "username_taken", "bad_credentials", "bad_token", "no_such_user",
                    "too_large", "rate_limited"}


def _json_object(body: str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
