"""Issue 11, items 2, 3, 7 and 8 on the core (MemoryStore): look-alike usernames,
client_id reuse, ``read`` clamped and pushed only when it advances, and text
that is not valid Unicode (lone surrogates) in every field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import protocol
from chalicelib.actions import ACTIONS
from chalicelib.store.memory import MemoryStore

from .conftest import Driver
from .test_protocol_doc import EXAMPLES

LOOK_ALIKES = [
    "bob\n",  # "$" matched before a trailing newline
    "bob\r",
    "bob\t",
    " bob",
    "\u212aate",  # KELVIN SIGN, lower-cases to "k"
    "\u0130van",  # LATIN CAPITAL I WITH DOT ABOVE, lower-cases to "i" + a combining dot
    "bo\u0431",  # Cyrillic be
    "bob\u200b",  # zero-width space
    "\uff42\uff4f\uff42",  # fullwidth "bob"
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_register_refuses_look_alike_names(driver: Driver, name: str) -> None:
    reply = driver.send("c1", action="register", username=name, password="correct horse")
    assert reply["type"] == "error" and reply["code"] == protocol.INVALID, reply


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_send_to_a_look_alike_name_is_invalid(driver: Driver, name: str) -> None:
    driver.sign_up("a1", "alice")
    reply = driver.send("a1", action="send", to=name, text="hi", client_id="k")
    assert reply["type"] == "error" and reply["code"] == protocol.INVALID, reply


def test_usernames_are_still_lower_cased_ascii(driver: Driver) -> None:
    assert driver.send("c1", action="register", username="Kate.B-1_", password="correct horse")[
        "username"
    ] == "kate.b-1_"


@pytest.mark.parametrize("name", ["\u212aate", "kate\n", "KATE\n", "\u212aATE"])
def test_login_with_a_look_alike_never_matches_the_real_account(
    driver: Driver, name: str
) -> None:
    driver.sign_up("k1", "kate", password="correct horse")
    reply = driver.send("c1", action="login", username=name, password="correct horse")
    assert reply == protocol.error(
        protocol.BAD_CREDENTIALS, "wrong username or password", "login"
    )
    assert driver.send("c1", action="login", username="KATE", password="correct horse")[
        "type"
    ] == "welcome"


# client_id reuse


def test_a_client_id_reused_for_another_recipient_is_refused(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.sign_up("c1", "carol")
    first = driver.send("a1", action="send", to="bob", text="hi", client_id="k1")
    assert first["type"] == "ack"
    driver.take("b1")
    reply = driver.send("a1", action="send", to="carol", text="hi", client_id="k1")
    assert reply == protocol.error(
        protocol.INVALID, "client_id already used for another message", "send", "k1"
    )
    assert driver.take("c1") == [] and driver.take("b1") == []


def test_a_client_id_reused_for_another_text_is_refused(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.send("a1", action="send", to="bob", text="hi", client_id="k1")
    driver.take("b1")
    reply = driver.send("a1", action="send", to="bob", text="hi!", client_id="k1")
    assert reply["code"] == protocol.INVALID and reply["client_id"] == "k1"
    assert driver.take("b1") == []


def test_a_true_retry_still_gets_the_first_ack(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    first = driver.send("a1", action="send", to="BOB", text="hi", client_id="k1")
    assert driver.send("a1", action="send", to="bob", text="hi", client_id="k1") == first


# read


def exchange(driver: Driver) -> list[str]:
    """alice and bob signed in; bob sent alice three messages; returns their ids."""
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    ids = [
        driver.send("b1", action="send", to="alice", text=f"m{n}", client_id=f"k{n}")["id"]
        for n in range(3)
    ]
    driver.take("a1")
    return ids


def test_read_up_to_the_future_is_clamped_to_the_last_message(
    driver: Driver, store: MemoryStore
) -> None:
    ids = exchange(driver)
    future = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
    reply = driver.send("a1", action="read", up_to=future, **{"with": "bob"})
    assert reply == protocol.read("alice", "bob", ids[-1])
    assert driver.take("b1") == [reply]
    (summary,) = store.conversations("alice")
    assert summary.read_up_to == ids[-1] and summary.unread == 0
    # a message written later is unread
    driver.send("b1", action="send", to="alice", text="later", client_id="k9")
    (summary,) = store.conversations("alice")
    assert summary.unread == 1


def test_read_pushes_only_when_the_pointer_advances(driver: Driver) -> None:
    ids = exchange(driver)
    driver.sign_up("a2", "alice2")  # a bystander
    replies = [
        driver.send("a1", action="read", up_to=ids[1], **{"with": "bob"}) for _ in range(500)
    ]
    assert all(r == protocol.read("alice", "bob", ids[1]) for r in replies)
    assert driver.take("b1") == [protocol.read("alice", "bob", ids[1])]
    # backwards: the reply tells the pointer as it stands, nobody else hears of it
    assert driver.send("a1", action="read", up_to=ids[0], **{"with": "bob"}) == protocol.read(
        "alice", "bob", ids[1]
    )
    assert driver.take("b1") == []
    driver.send("a1", action="read", up_to=ids[2], **{"with": "bob"})
    assert driver.take("b1") == [protocol.read("alice", "bob", ids[2])]


# text that is not valid Unicode


def raw_frame(fields: dict[str, Any], name: str) -> str:
    """The frame as JSON with field ``name`` a lone surrogate (``\\ud800`` escaped)."""
    return json.dumps({**fields, name: "SURROGATE"}).replace("SURROGATE", "a\\ud800b")


STRING_FIELDS = [
    (example["action"], name)
    for example in EXAMPLES
    if "action" in example
    for name, value in example.items()
    if isinstance(value, str) and name != "action"
] + [("send", "client_id"), ("login", "password"), ("register", "password")]


@pytest.mark.parametrize(("action", "name"), sorted(set(STRING_FIELDS)))
def test_a_lone_surrogate_in_any_field_is_invalid(
    driver: Driver, action: str, name: str
) -> None:
    token = driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    driver.send("a1", action="send", to="bob", text="hi", client_id="k0")
    example = next(e for e in EXAMPLES if e.get("action") == action)
    connection = "a1" if ACTIONS[action].needs_sign_in else "x1"
    if action == "resume":
        example = {**example, "token": token}
    before = driver.chat.store.history("alice", "bob", None, 100)
    outcome = driver.raw(connection, raw_frame(example, name))
    replies = [o.frame for o in outcome.frames if o.connection_id == connection]
    assert len(replies) == 1, replies
    assert replies[0]["type"] == "error" and replies[0]["code"] == protocol.INVALID, replies
    assert all(protocol.is_text(protocol.encode(o.frame)) for o in outcome.frames)
    assert [o.connection_id for o in outcome.frames] == [connection]  # nothing pushed
    assert driver.chat.store.history("alice", "bob", None, 100) == before


@pytest.mark.parametrize("name", ["action", "client_id"])
def test_an_echoed_field_that_cannot_be_encoded_is_not_echoed(
    driver: Driver, name: str
) -> None:
    frame = {"action": "ping", "client_id": "k1"}
    outcome = driver.raw("x1", raw_frame(frame, name))
    (reply,) = [o.frame for o in outcome.frames]
    encoded = protocol.encode(reply)
    assert protocol.is_text(encoded)
    if name == "action":
        assert reply["code"] == protocol.INVALID and "action" not in reply
        assert reply["client_id"] == "k1"
    else:
        assert reply == protocol.pong()


def test_an_unencodable_client_id_of_a_refused_send_is_not_echoed(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    frame = {"action": "send", "to": "bob", "text": "hi"}
    outcome = driver.raw("a1", raw_frame(frame, "client_id"))
    (reply,) = [o.frame for o in outcome.frames]
    assert reply["code"] == protocol.INVALID and "client_id" not in reply
    assert protocol.is_text(protocol.encode(reply))


def test_a_surrogate_pair_is_valid_text(driver: Driver) -> None:
    driver.sign_up("a1", "alice")
    driver.sign_up("b1", "bob")
    raw = json.dumps({"action": "send", "to": "bob", "client_id": "k", "text": "T"})
    outcome = driver.raw("a1", raw.replace('"T"', '"\\ud83d\\ude00"'))
    assert outcome.frames[-1].frame["type"] == "ack"
    assert driver.take("b1")[-1]["text"] == "\U0001f600"
