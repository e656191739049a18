"""The action table (chalicelib/actions.py) walked: every action has a parser
and a handler, and dispatching any documented frame gives the caller exactly
one direct reply (none for a valid ``typing``, by protocol), of the type the
table names or an ``error``; unknown actions are answered from the table."""

from __future__ import annotations

import json

import pytest

from chalicelib import protocol
from chalicelib.actions import ACTIONS, Action
from chalicelib.chat import Chat

from .conftest import Driver
from .test_protocol_doc import EXAMPLES

DOCUMENTED = {example["action"]: example for example in EXAMPLES if "action" in example}


def direct_replies(driver: Driver, connection_id: str, frame: dict[str, object]) -> list[str]:
    outcome = driver.raw(connection_id, json.dumps(frame))
    return [o.frame["type"] for o in outcome.frames if o.connection_id == connection_id]


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_action_has_a_parser_a_handler_and_an_example(name: str) -> None:
    action: Action[protocol.Request] = ACTIONS[name]
    assert action.name == name
    assert callable(action.parse) and callable(action.handle)
    assert name in DOCUMENTED


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_signed_in_caller_gets_exactly_the_tables_reply(name: str, driver: Driver) -> None:
    token = driver.sign_up("a0", "alice")
    driver.sign_up("b0", "bob")
    driver.send("a0", action="send", to="bob", text="hi", client_id="k0")
    resumed = driver.send("a1", action="resume", token=token)
    assert resumed["type"] == "welcome"
    replies = direct_replies(driver, "a1", DOCUMENTED[name])
    reply = ACTIONS[name].reply
    if reply is None:
        assert replies == []
    else:
        assert len(replies) == 1 and replies[0] in {reply, "error"}, replies


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_signed_out_caller_gets_exactly_one_reply(name: str, driver: Driver) -> None:
    replies = direct_replies(driver, "x1", DOCUMENTED[name])
    assert len(replies) == 1, replies
    if ACTIONS[name].needs_sign_in:
        outcome = driver.raw("x1", json.dumps(DOCUMENTED[name]))
        assert outcome.code == protocol.UNAUTHENTICATED


def test_an_action_missing_from_the_table_is_unknown(chat: Chat) -> None:
    outcome = chat.receive("c1", json.dumps({"action": "teleport", "client_id": "k"}))
    assert [o.frame for o in outcome.frames] == [
        protocol.error(protocol.UNKNOWN_ACTION, "unknown action 'teleport'", "teleport", "k")
    ]


def test_a_handler_that_forgets_its_reply_is_an_internal_failure(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from chalicelib import actions
    from chalicelib.chat import InternalFailure

    silent = replace(ACTIONS["ping"], handle=lambda turn, request: None)
    monkeypatch.setattr(actions, "ACTIONS", {**ACTIONS, "ping": silent})
    with pytest.raises(InternalFailure):
        chat.receive("c1", json.dumps({"action": "ping"}))
