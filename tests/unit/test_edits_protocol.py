"""The wire of edit, delete, react, block, unblock and blocks (issue 13): their
parsers, the emoji allow-list, the edit-window rule and its setting, and the
message object's new fields (left out when unset, so old clients see no change)."""

from __future__ import annotations

import json

import pytest

from chalicelib import protocol, rules
from chalicelib.actions import parse
from chalicelib.model import Message
from chalicelib.settings import Settings

ID = "01KAYZ8Q7R5M6W1X2Y3Z4A5B6C"


def test_parsers_build_the_requests() -> None:
    assert parse(json.dumps({"action": "edit", "id": ID, "text": "hi"})).request == (
        protocol.Edit(ID, "hi"))
    assert parse(json.dumps({"action": "delete", "id": ID})).request == protocol.Delete(ID)
    assert parse(json.dumps({"action": "react", "id": ID, "emoji": "👍"})).request == (
        protocol.React(ID, "👍", None))
    assert parse(json.dumps({"action": "react", "id": ID, "emoji": "🎉", "on": False})
                 ).request == protocol.React(ID, "🎉", False)
    assert parse(json.dumps({"action": "block", "username": "Bob"})).request == (
        protocol.Block("bob"))
    assert parse(json.dumps({"action": "unblock", "username": "bob"})).request == (
        protocol.Unblock("bob"))
    assert parse(json.dumps({"action": "blocks"})).request == protocol.Blocks()


def test_the_heart_is_stored_one_way() -> None:
    for heart in ("❤", "❤️"):
        request = parse(json.dumps({"action": "react", "id": ID, "emoji": heart})).request
        assert isinstance(request, protocol.React) and request.emoji == "❤️"


@pytest.mark.parametrize("frame", [
    {"action": "edit", "id": ID},
    {"action": "edit", "id": ID, "text": ""},
    {"action": "edit", "id": "not-an-id", "text": "x"},
    {"action": "delete"},
    {"action": "delete", "id": 7},
    {"action": "react", "id": ID},
    {"action": "react", "id": ID, "emoji": "x"},
    {"action": "react", "id": ID, "emoji": "👍🏽"},
    {"action": "react", "id": ID, "emoji": "👍", "on": 1},
    {"action": "block", "username": "x"},
    {"action": "unblock"},
])
def test_bad_fields_are_invalid(frame: dict[str, object]) -> None:
    with pytest.raises(protocol.ProtocolError) as raised:
        parse(json.dumps(frame))
    assert raised.value.code == protocol.INVALID


def test_edit_text_has_sends_limit() -> None:
    with pytest.raises(protocol.ProtocolError) as raised:
        parse(json.dumps({"action": "edit", "id": ID, "text": "x" * 11}), max_text=10)
    assert raised.value.code == protocol.TOO_LARGE


def test_the_allow_list_has_the_common_reactions() -> None:
    assert {"👍", "❤️", "😂", "😮", "😢", "🙏"} <= set(protocol.REACTIONS.values())


def test_edit_window_rule_and_setting() -> None:
    sent = "2026-11-25T17:10:05.000Z"
    at = 1795626605.0  # the same instant
    assert rules.edit_window_open(sent, at + 59.9, 60)
    assert not rules.edit_window_open(sent, at + 60, 60)
    assert Settings.from_env({}).edit_window == 24 * 3600
    assert Settings.from_env({"CHAT_EDIT_WINDOW": "600"}).edit_window == 600


def test_message_objects_carry_only_what_applies() -> None:
    plain = Message(ID, "alice", "bob", "hi", "2026-11-25T17:10:05.123Z", "c1")
    assert set(plain.to_wire()) == {"id", "from", "to", "text", "ts", "client_id"}
    reacted = Message(ID, "alice", "bob", "hi", "t", "c1", edited_at="e",
                      reactions=(("alice", "👍"), ("bob", "👍")), withheld=True)
    wire = reacted.to_wire()
    assert wire["edited_at"] == "e" and wire["reactions"] == {"👍": ["alice", "bob"]}
    assert "withheld" not in wire  # never on the wire: the sender is not told
    tombstone = Message(ID, "alice", "bob", "", "t", "c1", deleted=True,
                        reactions=(("bob", "👍"),))
    assert tombstone.to_wire()["deleted"] is True and "reactions" not in tombstone.to_wire()
