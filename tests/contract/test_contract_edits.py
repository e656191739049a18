"""Edit, delete and react (issue 13) through the chat core, on every store:
permissions, errors that change nothing, idempotency, pushes to every device of
both people, and what history and conversations show afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import protocol
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.model import Store
from tests.unit.conftest import Clock, Driver

PASSWORD = "correct horse"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def driver(store: Store, clock: Clock) -> Driver:
    return Driver(Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)), clock=clock))


@pytest.fixture
def people(driver: Driver) -> Driver:
    """alice on a1 and a2, bob on b1 and b2, carol on c1; inboxes emptied."""
    token = driver.sign_up("a1", "alice")
    driver.send("a2", action="resume", token=token)
    token = driver.sign_up("b1", "bob")
    driver.send("b2", action="resume", token=token)
    driver.sign_up("c1", "carol")
    for conn in ("a1", "a2", "b1", "b2", "c1"):
        driver.take(conn)
    return driver


def send(d: Driver, conn: str, to: str, text: str, client_id: str) -> str:
    ack = d.send(conn, action="send", to=to, text=text, client_id=client_id)
    assert ack["type"] == "ack", ack
    for other in ("a1", "a2", "b1", "b2", "c1"):
        d.take(other)
    return str(ack["id"])


def history(d: Driver, conn: str, with_: str) -> list[dict[str, Any]]:
    reply = d.send(conn, action="history", **{"with": with_})
    return list(reply["messages"])


def last(d: Driver, conn: str, with_: str) -> dict[str, Any]:
    reply = d.send(conn, action="conversations")
    (item,) = [i for i in reply["items"] if i["with"] == with_]
    return dict(item["last"])


def pushes(d: Driver) -> dict[str, list[dict[str, Any]]]:
    return {conn: d.take(conn) for conn in ("a1", "a2", "b1", "b2", "c1")}


# edit


def test_edit_is_pushed_to_both_people_and_shown_everywhere(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "helo", "k1")
    reply = d.send("a1", action="edit", id=message_id, text="hello")
    assert reply == {"type": "edited", "id": message_id, "with": "bob", "text": "hello",
                     "edited_at": reply["edited_at"]}
    seen = pushes(d)
    assert seen["a1"] == [] and seen["c1"] == []
    assert seen["a2"] == seen["b1"] == seen["b2"] == [reply]
    for conn, other in (("a1", "bob"), ("b1", "alice")):
        (shown,) = history(d, conn, other)
        assert shown["text"] == "hello" and shown["edited_at"] == reply["edited_at"]
        assert last(d, conn, other)["text"] == "hello"
        assert last(d, conn, other)["edited_at"] == reply["edited_at"]


def test_editing_an_older_message_leaves_the_summary_alone(people: Driver) -> None:
    d = people
    first = send(d, "a1", "bob", "one", "k1")
    send(d, "b1", "alice", "two", "k2")
    d.send("a1", action="edit", id=first, text="uno")
    assert last(d, "a1", "bob")["text"] == "two"
    assert last(d, "b1", "alice")["text"] == "two"
    assert [m["text"] for m in history(d, "b1", "alice")] == ["uno", "two"]


def test_edit_again_with_the_same_text_changes_nothing(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "helo", "k1")
    first = d.send("a1", action="edit", id=message_id, text="hello")
    pushes(d)
    again = d.send("a1", action="edit", id=message_id, text="hello")
    assert again == first
    assert pushes(d)["b1"] == []


def test_edit_refusals_change_nothing(people: Driver, clock: Clock) -> None:
    d = people
    mine = send(d, "a1", "bob", "mine", "k1")
    theirs = send(d, "b1", "alice", "theirs", "k2")
    elsewhere = send(d, "b1", "carol", "not yours", "k3")
    cases = [
        ({"id": theirs, "text": "x"}, protocol.FORBIDDEN),
        ({"id": elsewhere, "text": "x"}, protocol.NOT_FOUND),
        ({"id": "01KAYZ8Q7R5M6W1X2Y3Z4A5B6C", "text": "x"}, protocol.NOT_FOUND),
        ({"id": mine, "text": "   "}, protocol.INVALID),
        ({"id": mine, "text": "x" * 4001}, protocol.TOO_LARGE),
        ({"id": "nope", "text": "x"}, protocol.INVALID),
    ]
    for fields, code in cases:
        reply = d.send("a1", action="edit", **fields)
        assert reply["type"] == "error" and reply["code"] == code, (fields, reply)
    clock.advance(24 * 3600)  # connections last 2 hours: sign in again
    for conn, name in (("a1", "alice"), ("b1", "bob")):
        d.send(conn, action="login", username=name, password=PASSWORD)
    pushes(d)
    reply = d.send("a1", action="edit", id=mine, text="too late")
    assert reply["code"] == protocol.FORBIDDEN
    assert all(frames == [] for frames in pushes(d).values())
    assert [m["text"] for m in history(d, "b1", "alice")] == ["mine", "theirs"]
    assert "edited_at" not in history(d, "b1", "alice")[0]


def test_the_edit_window_is_configurable(store: Store, clock: Clock) -> None:
    config = ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1), edit_window=60)
    d = Driver(Chat(store, config, clock=clock))
    d.sign_up("a1", "alice")
    d.sign_up("b1", "bob")
    message_id = send(d, "a1", "bob", "hi", "k1")
    clock.advance(59)
    assert d.send("a1", action="edit", id=message_id, text="hi!")["type"] == "edited"
    clock.advance(2)
    assert d.send("a1", action="edit", id=message_id, text="hi!!")["code"] == protocol.FORBIDDEN


# delete


def test_delete_leaves_a_tombstone_for_both_people(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "oops", "k1")
    d.send("b1", action="react", id=message_id, emoji="😂")
    d.send("a1", action="edit", id=message_id, text="oops!")
    pushes(d)
    reply = d.send("a1", action="delete", id=message_id)
    assert reply == {"type": "deleted", "id": message_id, "with": "bob"}
    seen = pushes(d)
    assert seen["a2"] == seen["b1"] == seen["b2"] == [reply] and seen["c1"] == []
    for conn, other in (("a1", "bob"), ("b1", "alice")):
        (shown,) = history(d, conn, other)
        for message in (shown, last(d, conn, other)):
            assert message["deleted"] is True and message["text"] == ""
            assert "reactions" not in message and message["id"] == message_id


def test_delete_is_idempotent_and_own_messages_only(people: Driver) -> None:
    d = people
    mine = send(d, "a1", "bob", "mine", "k1")
    theirs = send(d, "b1", "alice", "theirs", "k2")
    assert d.send("a1", action="delete", id=theirs)["code"] == protocol.FORBIDDEN
    assert d.send("a1", action="delete", id="01KAYZ8Q7R5M6W1X2Y3Z4A5B6C")["code"] == (
        protocol.NOT_FOUND
    )
    first = d.send("a1", action="delete", id=mine)
    pushes(d)
    assert d.send("a1", action="delete", id=mine) == first
    assert pushes(d)["b1"] == []
    assert d.send("a1", action="edit", id=mine, text="back")["code"] == protocol.NOT_FOUND
    assert d.send("b1", action="react", id=mine, emoji="👍")["code"] == protocol.NOT_FOUND
    assert [m["text"] for m in history(d, "b1", "alice")] == ["", "theirs"]


def test_a_deleted_unread_message_leaves_the_unread_count(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "hi", "k1")
    d.send("a1", action="delete", id=message_id)
    (item,) = d.send("b1", action="conversations")["items"]
    assert item["unread"] == 1 and item["last"]["deleted"] is True


# react


def test_reactions_toggle_replace_and_show_everywhere(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "lunch?", "k1")
    on = d.send("b1", action="react", id=message_id, emoji="👍")
    assert on == {"type": "reaction", "id": message_id, "with": "alice", "by": "bob",
                  "emoji": "👍", "on": True}
    seen = pushes(d)
    assert seen["a1"] == seen["a2"] == seen["b2"] == [on] and seen["b1"] == []
    d.send("a1", action="react", id=message_id, emoji="❤")  # stored as ❤️
    for conn, other in (("a1", "bob"), ("b1", "alice")):
        assert history(d, conn, other)[0]["reactions"] == {"👍": ["bob"], "❤️": ["alice"]}
        assert last(d, conn, other)["reactions"] == {"👍": ["bob"], "❤️": ["alice"]}
    replaced = d.send("b1", action="react", id=message_id, emoji="❤️")
    assert replaced["on"] is True
    assert history(d, "a1", "bob")[0]["reactions"] == {"❤️": ["alice", "bob"]}
    off = d.send("b1", action="react", id=message_id, emoji="❤️")
    assert off["on"] is False and off["emoji"] == "❤️"
    assert history(d, "a1", "bob")[0]["reactions"] == {"❤️": ["alice"]}
    d.send("a1", action="react", id=message_id, emoji="❤️")
    assert "reactions" not in history(d, "b1", "alice")[0]
    assert "reactions" not in last(d, "b1", "alice")


def test_react_with_on_sets_and_repeats_change_nothing(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "hi", "k1")
    first = d.send("b1", action="react", id=message_id, emoji="🎉", on=True)
    pushes(d)
    assert d.send("b1", action="react", id=message_id, emoji="🎉", on=True) == first
    assert pushes(d)["a1"] == []
    assert d.send("b1", action="react", id=message_id, emoji="👍", on=False)["on"] is False
    assert pushes(d)["a1"] == []
    assert history(d, "a1", "bob")[0]["reactions"] == {"🎉": ["bob"]}


def test_react_refusals(people: Driver) -> None:
    d = people
    message_id = send(d, "a1", "bob", "hi", "k1")
    elsewhere = send(d, "b1", "carol", "hey", "k2")
    for fields, code in (
        ({"id": message_id, "emoji": "🦄"}, protocol.INVALID),
        ({"id": message_id, "emoji": "👍👍"}, protocol.INVALID),
        ({"id": message_id, "emoji": "👍", "on": "yes"}, protocol.INVALID),
        ({"id": elsewhere, "emoji": "👍"}, protocol.NOT_FOUND),
    ):
        assert d.send("a1", action="react", **fields)["code"] == code, fields
    assert "reactions" not in history(d, "b1", "alice")[0]


def test_identity_comes_from_the_connection(people: Driver) -> None:
    d = people
    message_id = send(d, "b1", "alice", "bob's", "k1")
    reply = d.send("a1", action="edit", id=message_id, text="forged", username="bob",
                   **{"from": "bob"})
    assert reply["code"] == protocol.FORBIDDEN
    reply = d.send("a1", action="react", id=message_id, emoji="👍", by="bob")
    assert reply["by"] == "alice"
