"""Blocking (issue 13) through the chat core, on every store: while bob blocks
alice nothing alice sends reaches bob (not stored for him, not delivered, not
unread, never shown later), alice is not told, and no presence, typing, read
receipts or reactions pass either way; block, unblock and blocks themselves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import protocol
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.model import Store
from tests.unit.conftest import Clock, Driver

CONNS = ("a1", "a2", "b1", "b2", "c1")


@pytest.fixture
def driver(store: Store) -> Driver:
    return Driver(Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)), clock=Clock()))


@pytest.fixture
def people(driver: Driver) -> Driver:
    """alice on a1 and a2, bob on b1 and b2, carol on c1; alice and bob have
    talked; bob blocks alice; inboxes emptied."""
    d = driver
    token = d.sign_up("a1", "alice")
    d.send("a2", action="resume", token=token)
    token = d.sign_up("b1", "bob")
    d.send("b2", action="resume", token=token)
    d.sign_up("c1", "carol")
    d.send("a1", action="send", to="bob", text="before", client_id="k0")
    d.send("b1", action="send", to="alice", text="reply", client_id="k1")
    pushes(d)
    assert d.send("b1", action="block", username="alice") == {
        "type": "blocked", "username": "alice"}
    assert pushes(d)["b2"] == [{"type": "blocked", "username": "alice"}]
    return d


def pushes(d: Driver) -> dict[str, list[dict[str, Any]]]:
    return {conn: d.take(conn) for conn in CONNS}


def texts(d: Driver, conn: str, with_: str) -> list[str]:
    reply = d.send(conn, action="history", **{"with": with_})
    return [m["text"] for m in reply["messages"]]


def conversation(d: Driver, conn: str, with_: str) -> dict[str, Any]:
    items = d.send(conn, action="conversations")["items"]
    (item,) = [i for i in items if i["with"] == with_]
    return dict(item)


def test_what_the_blocked_person_sends_never_reaches_the_blocker(people: Driver) -> None:
    d = people
    before = conversation(d, "b1", "alice")
    ack = d.send("a1", action="send", to="bob", text="let me in", client_id="k2")
    assert ack["type"] == "ack"  # alice is not told
    seen = pushes(d)
    assert seen["b1"] == seen["b2"] == []
    assert [f["text"] for f in seen["a2"]] == ["let me in"]  # alice's own view
    assert texts(d, "a1", "bob") == ["before", "reply", "let me in"]
    assert texts(d, "b1", "alice") == ["before", "reply"]
    assert conversation(d, "b1", "alice") == before  # not last, not unread
    assert conversation(d, "a1", "bob")["last"]["text"] == "let me in"
    # a retry is the same ack; still nothing for bob
    assert d.send("a1", action="send", to="bob", text="let me in", client_id="k2") == ack
    # never shown later, not even after unblocking, nor unread after a read
    d.send("b1", action="read", **{"with": "alice", "up_to": ack["id"]})
    assert conversation(d, "b1", "alice")["unread"] == 0
    assert d.send("b1", action="unblock", username="alice")["type"] == "unblocked"
    assert texts(d, "b1", "alice") == ["before", "reply"]
    assert d.send("b1", action="react", id=ack["id"], emoji="👍")["code"] == protocol.NOT_FOUND
    pushes(d)
    d.send("a1", action="send", to="bob", text="thanks", client_id="k3")
    assert [f["text"] for f in pushes(d)["b1"]] == ["thanks"]
    assert texts(d, "b1", "alice") == ["before", "reply", "thanks"]


def test_a_first_message_from_a_blocked_person_makes_no_conversation(people: Driver) -> None:
    d = people
    d.send("c1", action="block", username="alice")
    d.send("a1", action="send", to="carol", text="hi carol", client_id="k2")
    assert d.send("c1", action="conversations")["items"] == []
    assert texts(d, "c1", "alice") == []
    assert conversation(d, "a1", "carol")["last"]["text"] == "hi carol"


def test_the_blocker_keeps_writing_and_the_conversation(people: Driver) -> None:
    d = people
    d.send("b1", action="send", to="alice", text="bye", client_id="k2")
    assert [f["text"] for f in pushes(d)["a1"]] == ["bye"]
    item = conversation(d, "b1", "alice")
    assert item["blocked"] is True and item["last"]["text"] == "bye"
    assert "blocked" not in conversation(d, "a1", "bob")  # alice is not told


def test_no_typing_either_way(people: Driver) -> None:
    d = people
    for conn, to in (("a1", "bob"), ("b1", "alice")):
        outcome = d.raw(conn, json.dumps({"action": "typing", "to": to}))
        assert outcome.frames == []
    d.raw("a1", json.dumps({"action": "typing", "to": "carol"}))
    assert pushes(d)["c1"] == [{"type": "typing", "from": "alice"}]


def test_no_presence_either_way(people: Driver) -> None:
    d = people
    d.send("c1", action="send", to="alice", text="hi", client_id="k9")
    pushes(d)
    for conn in ("a1", "a2"):
        d.disconnect(conn)
    seen = pushes(d)
    assert seen["b1"] == seen["b2"] == []
    assert seen["c1"] == [{"type": "presence", "username": "alice", "online": False}]
    d.send("a1", action="login", username="alice", password="correct horse")
    assert pushes(d)["b1"] == []
    for conn in ("b1", "b2"):
        d.disconnect(conn)
    assert pushes(d)["a1"] == []
    # and the lists say offline, either way
    assert conversation(d, "a1", "bob")["online"] is False
    d.send("b1", action="login", username="bob", password="correct horse")
    assert conversation(d, "a1", "bob")["online"] is False
    assert conversation(d, "b1", "alice")["online"] is False
    users = d.send("a1", action="users", query="bo")["items"]
    assert users == [{"username": "bob", "online": False}]


def test_no_read_receipts_either_way(people: Driver) -> None:
    d = people
    history = d.send("b1", action="history", **{"with": "alice"})["messages"]
    alices = history[0]["id"]
    bobs = history[1]["id"]
    reply = d.send("b1", action="read", **{"with": "alice", "up_to": alices})
    seen = pushes(d)
    assert seen["a1"] == seen["a2"] == [] and seen["b2"] == [reply]
    d.send("a1", action="read", **{"with": "bob", "up_to": bobs})
    assert pushes(d)["b1"] == []
    assert conversation(d, "a1", "bob")["their_read_up_to"] == ""
    assert conversation(d, "b1", "alice")["their_read_up_to"] == ""
    assert conversation(d, "b1", "alice")["unread"] == 0


def test_no_reactions_either_way(people: Driver) -> None:
    d = people
    history = d.send("a1", action="history", **{"with": "bob"})["messages"]
    alices, bobs = history[0]["id"], history[1]["id"]
    # alice (blocked) is answered as usual; nothing is stored or pushed
    reply = d.send("a1", action="react", id=bobs, emoji="👍")
    assert reply["type"] == "reaction" and reply["on"] is True
    assert pushes(d)["b1"] == []
    # bob (the blocker) is refused
    assert d.send("b1", action="react", id=alices, emoji="👍")["code"] == protocol.FORBIDDEN
    for conn, other in (("a1", "bob"), ("b1", "alice")):
        messages = d.send(conn, action="history", **{"with": other})["messages"]
        assert all("reactions" not in m for m in messages)


def test_edits_of_the_blocked_person_do_not_reach_the_blocker(people: Driver) -> None:
    d = people
    alices = d.send("a1", action="history", **{"with": "bob"})["messages"][0]["id"]
    reply = d.send("a1", action="edit", id=alices, text="changed")
    assert reply["type"] == "edited"  # as if done
    assert pushes(d)["b1"] == []
    assert texts(d, "b1", "alice") == ["before", "reply"]
    # deleting is always possible: a take-back, seen by bob after a reload
    d.send("a1", action="delete", id=alices)
    assert pushes(d)["b1"] == []
    assert texts(d, "b1", "alice") == ["", "reply"]


def test_the_blocked_persons_withheld_messages_stay_theirs(people: Driver) -> None:
    d = people
    ack = d.send("a1", action="send", to="bob", text="hidden", client_id="k2")
    pushes(d)
    edited = d.send("a1", action="edit", id=ack["id"], text="hidden!")
    seen = pushes(d)
    assert seen["a2"] == [edited] and seen["b1"] == []
    assert texts(d, "a1", "bob")[-1] == "hidden!"
    assert d.send("b1", action="edit", id=ack["id"], text="x")["code"] == protocol.NOT_FOUND
    assert d.send("b1", action="delete", id=ack["id"])["code"] == protocol.NOT_FOUND


def test_block_unblock_and_blocks(people: Driver) -> None:
    d = people
    assert d.send("b1", action="blocks") == {"type": "blocks", "items": ["alice"]}
    assert d.send("b1", action="block", username="Alice") == {
        "type": "blocked", "username": "alice"}
    assert pushes(d)["b2"] == []  # idempotent: nothing changed
    d.send("b1", action="block", username="carol")
    assert pushes(d)["b2"] == [{"type": "blocked", "username": "carol"}]
    assert d.send("b1", action="blocks")["items"] == ["alice", "carol"]
    assert d.send("a1", action="blocks")["items"] == []  # alice is not told
    assert d.send("b1", action="block", username="nobody")["code"] == protocol.NO_SUCH_USER
    assert d.send("b1", action="block", username="bob")["code"] == protocol.INVALID
    assert d.send("b1", action="unblock", username="alice") == {
        "type": "unblocked", "username": "alice"}
    assert pushes(d)["b2"] == [{"type": "unblocked", "username": "alice"}]
    assert d.send("b1", action="unblock", username="alice")["type"] == "unblocked"
    assert d.send("b1", action="unblock", username="nobody")["type"] == "unblocked"
    assert pushes(d)["b2"] == []
    assert d.send("b1", action="blocks")["items"] == ["carol"]


def test_both_block_each_other(people: Driver) -> None:
    d = people
    d.send("a1", action="block", username="bob")
    d.send("b1", action="send", to="alice", text="no", client_id="k2")
    d.send("a1", action="send", to="bob", text="nor", client_id="k3")
    seen = pushes(d)
    assert seen["a1"] == seen["b1"] == []
    assert texts(d, "a1", "bob") == ["before", "reply", "nor"]
    assert texts(d, "b1", "alice") == ["before", "reply", "no"]
    d.send("b1", action="unblock", username="alice")
    d.send("a1", action="send", to="bob", text="now?", client_id="k4")
    assert [f["text"] for f in pushes(d)["b1"]] == ["now?"]
