"""Stale connections: API Gateway answers GoneException for a connection whose
$disconnect never reached the app. With the DynamoDB store (moto's server on loopback)
the connection is removed from the table on the first such answer, is never posted to
again, and the message that found it gone is still stored and delivered elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from chalicelib.store.dynamodb import connection_key, user_key
from tests.faults.conftest import Lambda


def table_state(app: Lambda, *connection_ids: str) -> tuple[set[str], set[str]]:
    """(connection ids with a CONN# item, ids in bob's profile ``conns`` map)."""
    items = {
        c for c in connection_ids
        if "Item" in app.dynamodb.get_item(TableName=app.table, Key=connection_key(c),
                                           ConsistentRead=True)
    }
    profile = app.dynamodb.get_item(TableName=app.table, Key=user_key("bob"),
                                    ConsistentRead=True)["Item"]
    return items, set(profile.get("conns", {}).get("M", {}))


@pytest.mark.timeout(60)
def test_gone_connections_are_cleaned_from_the_store(
    dynamodb_lambda: Lambda, figures: Callable[..., None]
) -> None:
    app = dynamodb_lambda
    app.sign_up("A", "alice")
    app.sign_up("B1", "bob")
    app.invoke("$connect", "B2")
    assert app.say("B2", action="login", username="bob", password="fault-password")["type"] \
        == "welcome"
    assert table_state(app, "B1", "B2") == ({"B1", "B2"}, {"B1", "B2"})

    # B1 went away without a $disconnect: the first post to it answers 410 Gone
    app.connections.gone.add("B1")
    mark = len(app.connections.attempts)
    first = app.say("A", action="send", to="bob", text="one", client_id="k1")
    assert first["type"] == "ack"
    assert [m["client_id"] for m in app.connections.to("B2", "message")] == ["k1"]
    assert table_state(app, "B1", "B2") == ({"B2"}, {"B2"})
    assert app.store.get_connection("B1", now=time.time()) is None
    assert app.store.connections_of(["bob"], now=time.time()) == {"bob": frozenset({"B2"})}
    presence_after_first = app.connections.to("A", "presence")
    assert presence_after_first == [], "bob is still online on B2"

    # the next message is not posted to B1 again; when B2 is gone too, bob goes offline
    app.connections.gone.add("B2")
    second = app.say("A", action="send", to="bob", text="two", client_id="k2")
    assert second["type"] == "ack"
    since = app.connections.attempts[mark:]
    assert since.count("B1") == 1, "a connection found gone is not posted to again"
    assert since.count("B2") == 2
    assert table_state(app, "B1", "B2") == (set(), set())
    assert app.connections.to("A", "presence") == [
        {"type": "presence", "username": "bob", "online": False}
    ]

    app.invoke("$connect", "B3")
    assert app.say("B3", action="login", username="bob", password="fault-password")["type"] \
        == "welcome"
    history = app.say("B3", action="history", **{"with": "alice"})["messages"]
    assert [m["client_id"] for m in history] == ["k1", "k2"]
    figures(
        stale_connections=2,
        removed_from_table=2,
        posts_to_each_stale_connection=1,
        messages_stored=len(history),
        lost=2 - len(history),
    )
