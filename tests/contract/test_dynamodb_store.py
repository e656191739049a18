"""What only the DynamoDB store promises: requests per operation, no Scan, TTL
on ephemeral items, retries of throttling and transaction conflicts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.model import Attachment, SaveOutcome, Session, Upload, User
from chalicelib.store.dynamodb import DynamoDBStore
from tests.contract.helpers import Factory, now


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def _error(code: str, **fields: Any) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", **fields})
    headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse("http://injected", 400, headers, _Body(body.encode()))


@pytest.fixture
def dynamo(dynamodb_table: Callable[[], str]) -> DynamoDBStore:
    return DynamoDBStore(dynamodb_table())


@pytest.fixture
def calls(dynamo: DynamoDBStore) -> list[str]:
    """Names of the DynamoDB operations the store calls (retries not included)."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    dynamo.client.meta.events.register("before-call.dynamodb", record)
    return seen


def test_the_per_message_path_is_three_requests_and_never_scans(
    dynamo: DynamoDBStore, calls: list[str]
) -> None:
    factory = Factory(dynamo)
    factory.users("alice", "bob")
    dynamo.bind_connection(factory.connection("a1", "alice"), now=now())
    dynamo.bind_connection(factory.connection("b1", "bob"), now=now())
    calls.clear()
    # what the core does for one send
    assert dynamo.get_connection("a1", now=now()) is not None
    saved = dynamo.save_message(factory.message("alice", "bob"), 3600, now=now())
    assert saved.outcome is SaveOutcome.STORED
    assert dynamo.connections_of(["bob", "alice"], now=now()) == {
        "bob": frozenset({"b1"}),
        "alice": frozenset({"a1"}),
    }
    assert calls == ["GetItem", "TransactWriteItems", "BatchGetItem"]


def test_no_store_operation_scans(dynamo: DynamoDBStore, calls: list[str]) -> None:
    factory = Factory(dynamo)
    factory.users("alice", "bob")
    dynamo.get_user("alice")
    dynamo.hit("login#alice", time.time(), 900)
    dynamo.clear_hits("login#alice")
    dynamo.set_password("alice", "h2", sessions_valid_from=time.time())
    dynamo.revoke_sessions("alice", valid_from=time.time())
    dynamo.search_users("a", 20, now=now())
    dynamo.search_users("", 20, now=now())
    dynamo.put_session(Session("h" * 64, "alice", time.time() + 60))
    dynamo.get_session("h" * 64, now=now())
    dynamo.delete_session("h" * 64)
    dynamo.bind_connection(factory.connection("a1", "alice"), now=now())
    dynamo.bind_connection(factory.connection("a2", "alice"), now=now())
    dynamo.get_connection("a1", now=now())
    dynamo.connections_of(["alice", "bob"], now=now())
    message = factory.send("alice", "bob")
    dynamo.save_message(message, 3600, now=now())
    dynamo.history("alice", "bob", None, 50)
    dynamo.conversations("bob")
    dynamo.mark_read("bob", "alice", message.id)
    dynamo.unbind_connection("a1", now=now())
    dynamo.put_upload(Upload("up-1", "alice", "a.txt", "text/plain", 1, now(), now() + 60))
    dynamo.get_upload("up-1", now=now())
    dynamo.claim_upload("up-1", "alice", "k1", now=now())
    dynamo.release_upload("up-1", "k1", expires_at=now() + 60)
    dynamo.delete_upload("up-1")
    assert "Scan" not in calls
    assert set(calls) <= {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
    }


def test_connections_of_reads_a_hundred_users_per_request(
    dynamo: DynamoDBStore, calls: list[str]
) -> None:
    calls.clear()
    dynamo.connections_of([f"user{i}" for i in range(100)], now=now())
    assert calls == ["BatchGetItem"]
    calls.clear()
    dynamo.connections_of([f"user{i}" for i in range(101)], now=now())
    assert calls == ["BatchGetItem", "BatchGetItem"]


def test_ephemeral_items_carry_the_ttl_attribute(dynamo: DynamoDBStore) -> None:
    factory = Factory(dynamo)
    factory.users("alice", "bob")
    dynamo.put_session(Session("s" * 64, "alice", 1_900_000_000.0))
    connection = factory.connection("a1", "alice")
    dynamo.bind_connection(connection, now=now())
    message = factory.send("alice", "bob", client_id="k1")

    def item(pk: str, sk: str) -> dict[str, Any]:
        reply = dynamo.client.get_item(
            TableName=dynamo.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )
        return dict(reply["Item"])

    assert item(f"SESSION#{'s' * 64}", "SESSION")["expires_at"] == {"N": "1900000000.0"}
    assert float(item("CONN#a1", "CONN")["expires_at"]["N"]) == connection.expires_at
    marker = item("SEND#alice", "k1")
    assert 3500 < float(marker["expires_at"]["N"]) - time.time() <= 3600
    assert "expires_at" not in item("USER#alice", "PROFILE")
    assert "expires_at" not in item("CONV#alice#bob", f"MSG#{message.id}")
    assert "expires_at" not in item("USER#bob", "CONV#alice")


def test_binding_drops_expired_connections_from_the_profile(dynamo: DynamoDBStore) -> None:
    factory = Factory(dynamo)
    factory.users("alice")
    dynamo.bind_connection(factory.connection("old", "alice", lifetime=-1), now=now())
    dynamo.bind_connection(factory.connection("new", "alice"), now=now())
    profile = dynamo.client.get_item(
        TableName=dynamo.table, Key={"pk": {"S": "USER#alice"}, "sk": {"S": "PROFILE"}}
    )["Item"]
    assert set(profile["conns"]["M"]) == {"new"}


def test_a_transaction_conflict_is_retried(dynamo: DynamoDBStore, calls: list[str]) -> None:
    factory = Factory(dynamo)
    factory.users("alice", "bob")
    injected: list[str] = []

    def conflict_once(**_: Any) -> AWSResponse | None:
        if injected:
            return None
        injected.append("conflict")
        reasons = [{"Code": "None"}] * 3 + [{"Code": "TransactionConflict"}, {"Code": "None"}]
        return _error(
            "TransactionCanceledException",
            Message="Transaction cancelled",
            CancellationReasons=reasons,
        )

    dynamo.client.meta.events.register("before-send.dynamodb.TransactWriteItems", conflict_once)
    calls.clear()
    message = factory.message("alice", "bob")
    assert dynamo.save_message(message, 3600, now=now()).outcome is SaveOutcome.STORED
    assert injected == ["conflict"]
    assert calls == ["TransactWriteItems", "TransactWriteItems"]
    assert dynamo.history("alice", "bob", None, 10) == ([message], False)
    assert dynamo.conversations("bob")[0].unread == 1


def test_throttling_is_retried_by_botocore(dynamo: DynamoDBStore) -> None:
    dynamo.create_user(User("alice", "h", 0.0))
    sent: list[str] = []

    def throttle_once(**_: Any) -> AWSResponse | None:
        sent.append("GetItem")
        if len(sent) > 1:
            return None
        return _error("ProvisionedThroughputExceededException", message="slow down")

    dynamo.client.meta.events.register("before-send.dynamodb.GetItem", throttle_once)
    user = dynamo.get_user("alice")
    assert user is not None and user.username == "alice"
    assert len(sent) == 2


def _item(dynamo: DynamoDBStore, pk: str, sk: str) -> dict[str, Any]:
    reply = dynamo.client.get_item(TableName=dynamo.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    return dict(reply.get("Item", {}))


def test_an_upload_carries_the_ttl_only_while_unattached(
    dynamo: DynamoDBStore, calls: list[str]
) -> None:
    upload = Upload("up-1", "alice", "cat.png", "image/png", 12345, 1_800_000_000.0,
                    1_800_086_400.0)
    dynamo.put_upload(upload)
    assert _item(dynamo, "UPLOAD#up-1", "UPLOAD")["expires_at"] == {"N": "1800086400.0"}
    calls.clear()
    assert dynamo.get_upload("up-1", now=1_800_000_001.0) == upload
    assert calls == ["GetItem"]
    calls.clear()
    assert dynamo.claim_upload("up-1", "alice", "k1", now=1_800_000_001.0) is not None
    assert calls == ["UpdateItem"]
    assert "expires_at" not in _item(dynamo, "UPLOAD#up-1", "UPLOAD")
    calls.clear()
    assert dynamo.claim_upload("up-1", "alice", "k2", now=1_800_000_001.0) is None
    assert calls == ["UpdateItem"]
    dynamo.release_upload("up-1", "k1", expires_at=1_900_000_000.0)
    assert _item(dynamo, "UPLOAD#up-1", "UPLOAD")["expires_at"] == {"N": "1900000000.0"}


def test_delete_removes_the_attachment_from_the_items(dynamo: DynamoDBStore) -> None:
    factory = Factory(dynamo)
    factory.users("alice", "bob")
    message = replace(factory.message("alice", "bob"),
                      attachment=Attachment("up-1", "cat.png", "image/png", 12345))
    assert dynamo.save_message(message, 3600, now=now()).outcome is SaveOutcome.STORED
    stored = _item(dynamo, "CONV#alice#bob", f"MSG#{message.id}")
    assert stored["att"] == {"M": {"id": {"S": "up-1"}, "name": {"S": "cat.png"},
                                   "type": {"S": "image/png"}, "size": {"N": "12345"}}}
    assert _item(dynamo, "USER#bob", "CONV#alice")["last_att"] == stored["att"]
    dynamo.delete_message(message)
    assert "att" not in _item(dynamo, "CONV#alice#bob", f"MSG#{message.id}")
    for owner, other in (("alice", "bob"), ("bob", "alice")):
        assert "last_att" not in _item(dynamo, f"USER#{owner}", f"CONV#{other}")
