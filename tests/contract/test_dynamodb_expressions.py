"""DynamoDB rejects a request whose ExpressionAttributeValues or Names hold an
entry no expression uses; moto does not. This runs the issue 13 paths (edit,
delete, react, block, a withheld send) and the issue 14 ones (attachments,
uploads) on the DynamoDB store with every request checked that way, so such a
request cannot pass here and fail on AWS."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.model import Attachment, Upload
from chalicelib.store.dynamodb import DynamoDBStore
from tests.contract.helpers import Factory, now
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


def test_attachment_and_upload_requests_declare_only_what_they_use(
    dynamodb_table: Callable[[], str],
) -> None:
    store = DynamoDBStore(dynamodb_table())
    problems: list[str] = []
    store.client.meta.events.register(
        "before-parameter-build.dynamodb",
        lambda params, **kw: checked(params, problems, **kw),
    )
    factory = Factory(store)
    factory.users("alice", "bob")
    store.put_upload(Upload("up-1", "alice", "a.txt", "text/plain", 1, now(), now() + 60))
    store.get_upload("up-1", now=now())
    store.claim_upload("up-1", "alice", "k1", now=now())
    store.claim_upload("up-1", "alice", "k2", now=now())
    store.release_upload("up-1", "k2", expires_at=now() + 60)
    store.release_upload("up-1", "k1", expires_at=now() + 60)
    attached = replace(factory.message("alice", "bob"),
                       attachment=Attachment("up-1", "a.txt", "text/plain", 1))
    store.save_message(attached, 3600, now=now())
    store.save_message(attached, 3600, now=now())  # a retry
    store.edit_message(attached, "see", "2026-12-02T10:00:00.000Z")
    store.set_reaction(attached, "bob", "👍")
    plain = factory.send("bob", "alice")
    store.delete_message(attached)
    store.delete_message(plain)
    store.delete_upload("up-1")
    assert problems == []
