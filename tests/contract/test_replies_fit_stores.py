"""Issue 11, item 1 on every store: the real handlers (the chat core) on memory,
SQLite and DynamoDB (moto) page ``conversations`` for 1,000 partners (250 on
moto, where writing 1,000 items of 24 KB takes minutes) whose last messages are
the largest possible, every reply within the frame budget."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib import budget
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.ids import MessageIds, iso_timestamp
from chalicelib.model import Message, SaveOutcome, Store, User
from chalicelib.store.dynamodb import DynamoDBStore

ESCAPED = "\x01" * 4000  # 6 bytes a character in JSON
PARTNERS = 1000
PARTNERS_ON_MOTO = 250


def test_conversations_of_1000_partners_page_within_the_budget(store: Store) -> None:
    partners = PARTNERS_ON_MOTO if isinstance(store, DynamoDBStore) else PARTNERS
    chat = Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)))
    welcome = chat.receive(
        "a1", json.dumps({"action": "register", "username": "alice", "password": "password-1"})
    )
    assert welcome.frames[-1].frame["type"] == "welcome"
    ids, now = MessageIds(), time.time()
    for n in range(partners):
        partner = f"p{n:04d}"
        assert store.create_user(User(partner, "unused", now))
        moment = now + n / 1000
        message = Message(ids(moment), partner, "alice", ESCAPED, iso_timestamp(moment), "k")
        result = store.save_message(message, 3600, now=now)
        # DUPLICATE of itself: a write botocore retried after it had committed
        assert result.outcome is SaveOutcome.STORED or result.message == message, result

    seen: list[str] = []
    before: str | None = None
    while True:
        frame: dict[str, Any] = {"action": "conversations", "limit": 100}
        if before:
            frame["before"] = before
        (reply,) = [o.frame for o in chat.receive("a1", json.dumps(frame)).frames]
        assert reply["type"] == "conversations", reply
        assert budget.size(reply) <= budget.DEFAULT_BUDGET
        seen.extend(item["with"] for item in reply["items"])
        if not reply["more"]:
            break
        before = reply["next"]
    assert seen == [f"p{n:04d}" for n in reversed(range(partners))]
