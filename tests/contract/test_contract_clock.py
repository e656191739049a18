"""The core owns time: run on each real store with a clock years before or
after the wall clock, a connection stays signed in between frames, and
sessions expire by the core's clock, not the store's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import auth, protocol
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.model import Store

YEARS = 5 * 365 * 24 * 3600


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def reply(chat: Chat, connection_id: str, **frame: Any) -> dict[str, Any]:
    outcome = chat.receive(connection_id, json.dumps(frame))
    own = [o.frame for o in outcome.frames if o.connection_id == connection_id]
    assert len(own) == 1, own
    return own[0]


@pytest.mark.parametrize("offset", [-YEARS, YEARS], ids=["years-before", "years-after"])
def test_the_core_clock_decides_every_expiry(
    make_store: Callable[[], Store], offset: float
) -> None:
    clock = Clock(time.time() + offset)
    chat = Chat(make_store(), ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)), clock=clock)
    welcome = reply(chat, "c1", action="register", username="alice", password="correct horse")
    assert welcome["type"] == "welcome"
    reply(chat, "c2", action="register", username="bob", password="correct horse")
    # the next frame on the same connection is still signed in
    assert reply(chat, "c1", action="send", to="bob", text="hi", client_id="k1")["type"] == "ack"
    assert reply(chat, "c1", action="users", query="bo")["items"] == [
        {"username": "bob", "online": True}
    ]
    assert reply(chat, "c3", action="resume", token=welcome["token"])["type"] == "welcome"
    # a week later by the core's clock the session is over, whatever the wall clock says
    clock.now += auth.SESSION_LIFETIME + 1
    expired = reply(chat, "c4", action="resume", token=welcome["token"])
    assert expired["code"] == protocol.BAD_TOKEN
    assert reply(chat, "c1", action="conversations")["code"] == protocol.UNAUTHENTICATED
