"""DynamoDB rejects a request whose ExpressionAttributeValues or Names hold an
entry no expression uses; moto does not. This runs the issue 13 paths (edit,
delete, react, block, a withheld send) on the DynamoDB store with every request
checked that way, so such a request cannot pass here and fail on AWS."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.store.dynamodb import DynamoDBStore
from tests.unit.conftest import Clock, Driver

EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "KeyConditionExpression",
               "FilterExpression", "ProjectionExpression")


def unused(request: Mapping[str, Any]) -> list[str]:
    text = " ".join(str(request.get(name, "")) for name in EXPRESSIONS)
    used = set(re.findall(r"[:#][A-Za-z0-9_]+", text))
    declared = [*request.get("ExpressionAttributeValues", {}),
                *request.get("ExpressionAttributeNames", {})]
    return [name for name in declared if name not in used]


def checked(params: dict[str, Any], problems: list[str], **_: Any) -> None:
    requests = [params]
    for entry in params.get("TransactItems", []):
        requests.extend(entry.values())
    for request in requests:
        problems.extend(unused(request))


def test_no_request_declares_what_it_does_not_use(dynamodb_table: Callable[[], str]) -> None:
    store = DynamoDBStore(dynamodb_table())
    problems: list[str] = []
    store.client.meta.events.register(
        "before-parameter-build.dynamodb",
        lambda params, **kw: checked(params, problems, **kw),
    )
    d = Driver(Chat(store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)), clock=Clock()))
    d.sign_up("a1", "alice")
    d.sign_up("b1", "bob")
    first = d.send("a1", action="send", to="bob", text="hi", client_id="k1")["id"]
    d.send("a1", action="edit", id=first, text="hi!")
    d.send("b1", action="react", id=first, emoji="👍")
    d.send("b1", action="react", id=first, emoji="👍")
    d.send("b1", action="react", id=first, emoji="😂")
    d.send("a1", action="delete", id=first)
    d.send("b1", action="block", username="alice")
    d.send("a1", action="send", to="bob", text="withheld", client_id="k2")
    d.send("a1", action="send", to="bob", text="withheld", client_id="k2")  # a retry
    d.send("b1", action="read", **{"with": "alice", "up_to": first})
    d.send("b1", action="conversations")
    d.send("b1", action="history", **{"with": "alice"})
    d.send("b1", action="unblock", username="alice")
    d.send("b1", action="blocks")
    d.send("a1", action="send", to="nobody", text="?", client_id="k3")
    assert problems == []
