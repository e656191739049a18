"""DynamoDB throttles: the first attempt of every request the app makes while sending
answers ProvisionedThroughputExceededException (injected at botocore's HTTP layer, in
front of moto's DynamoDB server), and each message's transaction is also cancelled once
with a ThrottlingError reason. Every send is still acknowledged, stored once and
delivered once."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from tests.faults.conftest import Lambda
from tests.lambda_harness import http_response

SENDS = 3
PREFIX = "com.amazonaws.dynamodb.v20120810#"


class Throttler:
    """A ``before-send.dynamodb`` hook. Returning a response skips the real request."""

    def __init__(self) -> None:
        self.active = False
        self.seen: set[bytes] = set()
        self.cancelled: set[str] = set()
        self.throttled: Counter[str] = Counter()
        self.passed: Counter[str] = Counter()

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
        body = bytes(request.body or b"")
        if not self.active:
            return None
        # botocore sends a retry with the same body: only a first attempt is throttled
        if body not in self.seen:
            self.seen.add(body)
            self.throttled[operation] += 1
            return self._error(request, "ProvisionedThroughputExceededException",
                               "The level of configured provisioned throughput for the table"
                               " was exceeded. Consider increasing your provisioning level")
        if operation == "TransactWriteItems":
            items = json.loads(body)["TransactItems"]
            message_key = items[0]["Put"]["Item"]["sk"]["S"]
            if message_key not in self.cancelled:
                self.cancelled.add(message_key)
                self.throttled["TransactWriteItems (cancelled: ThrottlingError)"] += 1
                reasons = [{"Code": "None"} for _ in items]
                reasons[0] = {"Code": "ThrottlingError",
                              "Message": "Throughput exceeds the current capacity of your table"}
                return self._error(request, "TransactionCanceledException",
                                   "Transaction cancelled, please refer cancellation reasons"
                                   " for specific reasons [ThrottlingError]",
                                   CancellationReasons=reasons)
        self.passed[operation] += 1
        return None

    @staticmethod
    def _error(request: AWSPreparedRequest, code: str, message: str, **extra: Any
               ) -> AWSResponse:
        body = json.dumps({"__type": PREFIX + code, "message": message, **extra}).encode()
        return http_response(request, 400, {"x-amzn-ErrorType": code,
                                            "Content-Type": "application/x-amz-json-1.0"}, body)


@pytest.mark.timeout(60)
def test_throttled_requests_are_retried_and_nothing_is_lost(
    dynamodb_lambda: Lambda, figures: Callable[..., None]
) -> None:
    app = dynamodb_lambda
    throttler = Throttler()
    app.store.client.meta.events.register("before-send.dynamodb", throttler)  # type: ignore[attr-defined]
    app.sign_up("A", "alice")
    app.sign_up("B", "bob")

    throttler.active = True
    started = time.monotonic()
    acks = []
    for n in range(SENDS):
        throttler.seen.clear()  # each send's requests are new requests, throttled again
        acks.append(app.say("A", action="send", to="bob", text=f"hello {n}", client_id=f"c{n}"))
    elapsed = time.monotonic() - started
    throttler.active = False

    assert [a["type"] for a in acks] == ["ack"] * SENDS, acks
    assert len({a["id"] for a in acks}) == SENDS
    delivered = app.connections.to("B", "message")
    assert sorted(m["client_id"] for m in delivered) == [f"c{n}" for n in range(SENDS)]
    history = app.say("B", action="history", **{"with": "alice"})
    assert [m["client_id"] for m in history["messages"]] == [f"c{n}" for n in range(SENDS)]
    assert [m["id"] for m in history["messages"]] == [a["id"] for a in acks]
    conversations = app.say("B", action="conversations")["items"]
    # each transaction applied once: the unread count was not bumped by a retry
    assert [(c["with"], c["unread"]) for c in conversations] == [("alice", SENDS)]
    # per message: the store's first transaction (throttled, then cancelled) and its
    # retry after the cancellation (throttled once more): two requests, each throttled
    assert throttler.throttled["TransactWriteItems"] == 2 * SENDS
    assert throttler.throttled["TransactWriteItems (cancelled: ThrottlingError)"] == SENDS
    assert throttler.throttled["GetItem"] == throttler.throttled["BatchGetItem"] == SENDS
    figures(
        sends=SENDS,
        throttled_responses=dict(throttler.throttled),
        throttled_total=sum(throttler.throttled.values()),
        requests_that_got_through=dict(throttler.passed),
        acknowledged=len(acks),
        in_history=len(history["messages"]),
        delivered=len(delivered),
        lost=SENDS - len(history["messages"]),
        duplicated=len(delivered) - len({m["client_id"] for m in delivered}),
        seconds_for_all_sends=round(elapsed, 2),
    )
