"""Parsing client frames: every action, every validation rule, every parse error."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import protocol
from chalicelib.actions import ACTIONS, parse
from chalicelib.ids import iso_timestamp, message_id
from chalicelib.protocol import ProtocolError

VALID_ID = message_id(1_800_000_000.0, 12345)


def problem(frame: object) -> ProtocolError:
    raw = frame if isinstance(frame, str | bytes) else json.dumps(frame)
    with pytest.raises(ProtocolError) as caught:
        parse(raw)
    return caught.value


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"action": "register", "username": "Alice", "password": "12345678"},
         protocol.Register("alice", "12345678")),
        ({"action": "login", "username": "BOB", "password": "x"}, protocol.Login("bob", "x")),
        ({"action": "resume", "token": "abc"}, protocol.Resume("abc")),
        ({"action": "send", "to": "bob", "text": "hi", "client_id": "c1"},
         protocol.Send("bob", "hi", "c1")),
        ({"action": "history", "with": "bob"}, protocol.History("bob", None, 50)),
        ({"action": "history", "with": "bob", "before": VALID_ID, "limit": 100},
         protocol.History("bob", VALID_ID, 100)),
        ({"action": "conversations"}, protocol.Conversations()),
        ({"action": "users", "query": "Al"}, protocol.Users("al")),
        ({"action": "read", "with": "bob", "up_to": VALID_ID}, protocol.Read("bob", VALID_ID)),
        ({"action": "typing", "to": "bob"}, protocol.Typing("bob")),
        ({"action": "ping"}, protocol.Ping()),
        ({"action": "logout"}, protocol.Logout()),
    ],
)
def test_every_action_parses(frame: dict[str, object], expected: protocol.Request) -> None:
    assert parse(json.dumps(frame)).request == expected


def test_identity_fields_in_frames_are_ignored() -> None:
    parsed = parse(json.dumps(
        {"action": "send", "to": "bob", "text": "hi", "client_id": "c", "from": "mallory"}
    ))
    assert parsed.request == protocol.Send("bob", "hi", "c")


@pytest.mark.parametrize("raw", ["", "nope", "[1,2]", '"text"', "42", "null", b"\xff\xfe"])
def test_frames_that_are_not_json_objects_are_bad_json(raw: str | bytes) -> None:
    assert problem(raw).code == protocol.BAD_JSON


@pytest.mark.parametrize("frame", [{}, {"action": 3}, {"action": "fly"}])
def test_missing_or_unknown_action(frame: dict[str, object]) -> None:
    assert problem(frame).code == protocol.UNKNOWN_ACTION


@pytest.mark.parametrize(
    "frame",
    [
        {"action": "register", "username": "al", "password": "12345678"},
        {"action": "register", "username": "a" * 33, "password": "12345678"},
        {"action": "register", "username": "al ice", "password": "12345678"},
        {"action": "register", "username": "alice", "password": "short"},
        {"action": "register", "username": 5, "password": "12345678"},
        {"action": "send", "to": "bob", "text": "", "client_id": "c"},
        {"action": "send", "to": "bob", "text": "   ", "client_id": "c"},
        {"action": "send", "to": "bob", "text": "hi"},
        {"action": "send", "to": "bob", "text": "hi", "client_id": "c" * 65},
        {"action": "send", "to": "bob", "text": 7, "client_id": "c"},
        {"action": "history", "with": "bob", "limit": 0},
        {"action": "history", "with": "bob", "limit": 101},
        {"action": "history", "with": "bob", "limit": True},
        {"action": "history", "with": "bob", "before": "nope"},
        {"action": "users", "query": ""},
        {"action": "read", "with": "bob"},
        {"action": "typing"},
    ],
)
def test_wrong_fields_are_invalid(frame: dict[str, object]) -> None:
    assert problem(frame).code == protocol.INVALID


def test_errors_echo_action_and_client_id() -> None:
    error = problem({"action": "send", "to": "x", "text": "hi", "client_id": "c9"})
    assert error.frame() == {
        "type": "error", "code": "invalid", "action": "send", "client_id": "c9",
        "message": error.message,
    }


def test_text_over_the_limit_is_too_large() -> None:
    frame = {"action": "send", "to": "bob", "text": "x" * 4001, "client_id": "c"}
    assert problem(frame).code == protocol.TOO_LARGE
    assert parse(json.dumps({**frame, "text": "x" * 4000})).request.text == "x" * 4000
    assert parse(json.dumps(frame), max_text=5000).request.text == "x" * 4001


def test_huge_frames_are_too_large() -> None:
    assert problem("x" * (protocol.MAX_FRAME_BYTES + 1)).code == protocol.TOO_LARGE


def test_message_ids_sort_in_time_order_and_timestamps_have_milliseconds() -> None:
    earlier = message_id(1_800_000_000.001, (1 << 80) - 1)
    later = message_id(1_800_000_000.002, 0)
    assert earlier < later
    assert len(earlier) == 26 and protocol.MESSAGE_ID_PATTERN.match(earlier)
    assert iso_timestamp(1_800_000_000.5) == "2027-01-15T08:00:00.500Z"


@given(st.one_of(st.text(), st.binary()))
def test_parse_raises_only_protocol_errors_for_any_text(raw: str | bytes) -> None:
    try:
        parse(raw)
    except ProtocolError as error:
        assert error.code in {protocol.BAD_JSON, protocol.UNKNOWN_ACTION, protocol.INVALID,
                              protocol.TOO_LARGE}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=12,
)


@given(
    st.sampled_from(sorted(ACTIONS)),
    st.dictionaries(
        st.sampled_from(["username", "password", "token", "to", "text", "client_id", "with",
                         "before", "limit", "query", "up_to"]),
        json_values,
    ),
)
def test_parse_raises_only_protocol_errors_for_any_fields(
    action: str, fields: dict[str, object]
) -> None:
    with contextlib.suppress(ProtocolError):
        parse(json.dumps({**fields, "action": action}))
