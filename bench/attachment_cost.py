"""What one message with an attachment costs on AWS, counted for real: the real handlers
(Chalice's test client, API-Gateway-shaped events) on the DynamoDB store and S3Blobs,
both on moto's server on loopback, and the browser's two HTTP requests (the multipart
POST of the file, the GET of its download URL) made with ``requests`` against the same
server. bench/cost.py prices the figures.

Per message: alice's ``upload`` frame, her POST, her ``send`` with the attachment, one
``history`` fetch by bob that returns the message (``limit`` 1: a page per message, the
dearest reading) and bob's GET of the file; at the end alice deletes every message
(the blob goes with it). DynamoDB requests are counted by the store's client, S3
requests by S3Blobs' client (``before-call``), PostToConnection at a stub that answers
200 and keeps each frame's size.
"""

from __future__ import annotations

import copy
import json
import math
import os
import secrets
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from bench import aws_calls, capacity
from bench.machine import ROOT

PHOTO_TYPE = "image/jpeg"
APIGW_MESSAGE_BYTES = 32 * 1024  # API Gateway bills WebSocket messages in 32 KB steps
# request counts and request units do not depend on the file's size; a small one keeps
# moto's memory and the run short
PHOTO_BYTES = 256 * 1024
MESSAGES = 20
QUICK_MESSAGES = 3
BLOB_PREFIX = "attachments/"
# a frame's kind for the tables: the handler steps of one message, then the delete
STEPS = ("upload", "send", "history", "delete")
# the browser's requests, named as S3 bills them
BROWSER_POST = "PostObject"
BROWSER_GET = "GetObject"


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class _Recorder:
    """Everything one handler invocation did: DynamoDB requests (with parameters and
    replies, for the request units), S3 requests by operation, frames posted."""

    def __init__(self) -> None:
        self.dynamodb: list[list[Any]] = []
        self.s3: Counter[str] = Counter()
        self.posted: list[tuple[str, bytes]] = []  # (connection id, frame)

    def clear(self) -> None:
        self.dynamodb.clear()
        self.s3.clear()
        self.posted.clear()

    def before_dynamodb(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.dynamodb.append([model.name, copy.deepcopy(params), None])

    def after_dynamodb(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self.dynamodb and self.dynamodb[-1][0] == model.name:
            self.dynamodb[-1][2] = parsed

    def on_s3(self, model: Any, **_: Any) -> None:
        self.s3[model.name] += 1

    def on_post(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        connection_id = unquote(str(request.url).rsplit("/", 1)[1])
        body = request.body if isinstance(request.body, bytes) else bytes(request.body or b"")
        self.posted.append((connection_id, body))
        return AWSResponse(request.url, 200, HTTPHeaders(), _Raw(b""))

    def frames_to(self, connection_id: str) -> list[dict[str, Any]]:
        return [json.loads(body) for target, body in self.posted if target == connection_id]


def _billed_messages(frame_bytes: int) -> int:
    return max(1, math.ceil(frame_bytes / APIGW_MESSAGE_BYTES))


def _step_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the invocations of one step (medians for the times)."""
    s3: Counter[str] = Counter()
    for run in runs:
        s3.update(run["s3"])
    return {
        "invocations": len(runs),
        "wall_ms_median": statistics.median(r["wall_ms"] for r in runs),
        "cpu_ms_median": statistics.median(r["cpu_ms"] for r in runs),
        "dynamodb_requests_mean": statistics.fmean(len(r["requests"]) for r in runs),
        "dynamodb_operations": dict(sorted(
            Counter(req["operation"] for req in runs[-1]["requests"]).items())),
        "wru_mean": statistics.fmean(r["wru"] for r in runs),
        "rru_mean": statistics.fmean(r["rru"] for r in runs),
        "s3_requests_mean": {op: n / len(runs) for op, n in sorted(s3.items())},
        "frames_out_mean": statistics.fmean(len(r["frames_out"]) for r in runs),
        "apigw_messages_mean": statistics.fmean(
            sum(_billed_messages(size) for size in [r["frame_in"], *r["frames_out"]])
            for r in runs),
        "frames_out_bytes_max": max(max(r["frames_out"], default=0) for r in runs),
        "frame_in_bytes_max": max(r["frame_in"] for r in runs),
        "last": runs[-1]["requests"],
    }


def measure(endpoint: str, bucket: str, messages: int,
            environment: Mapping[str, str]) -> dict[str, Any]:
    """Runs ``messages`` messages with an attachment through the handlers on a fresh
    table (the bucket must exist), with ``environment`` (the limits) applied; returns
    per step the figures over every invocation, and the browser's requests."""
    import boto3
    import requests
    from chalice.test import Client

    import app as chat_app
    from chalicelib.blobs.s3 import S3Blobs
    from chalicelib.store import schema
    from chalicelib.store.dynamodb import DynamoDBStore

    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    table = f"attach-{uuid.uuid4().hex[:8]}"
    schema.ensure_table(dynamodb, table)
    saved_environment = dict(os.environ)
    os.environ.update(environment)
    os.environ["CHAT_STORE"] = f"dynamodb:{table}"
    os.environ["CHAT_BLOBS"] = f"s3://{bucket}/{BLOB_PREFIX}"
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    chat_app.service.cache_clear()
    chat = chat_app.service().chat
    store, blobs = chat.store, chat.blobs
    if not isinstance(store, DynamoDBStore) or not isinstance(blobs, S3Blobs):
        raise RuntimeError(f"expected DynamoDB and S3, opened {store!r} and {blobs!r}")
    record = _Recorder()
    store.client.meta.events.register("before-parameter-build.dynamodb",
                                      record.before_dynamodb)
    store.client.meta.events.register("after-call.dynamodb", record.after_dynamodb)
    blobs._s3.meta.events.register("before-call.s3", record.on_s3)
    api = chat_app.app.websocket_api
    api._client = None
    session: Any = api.session
    session.events.register("before-send.apigatewaymanagementapi", record.on_post,
                                unique_id="bench.attachment_cost")

    def fetch(key: dict[str, Any]) -> dict[str, Any] | None:
        return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    runs: dict[str, list[dict[str, Any]]] = {step: [] for step in STEPS}
    browser: Counter[str] = Counter()
    problems: list[str] = []
    sent: list[str] = []
    try:
        with Client(chat_app.app, project_dir=str(ROOT)) as client:

            def invoke(route: str, connection_id: str, body: Any = None) -> None:
                name = {"$connect": "connect", "$default": "message"}[route]
                client.lambda_.invoke(name, aws_calls.bench_event(route, connection_id, body))

            def timed(step: str, connection_id: str, frame: dict[str, Any]
                      ) -> list[dict[str, Any]]:
                """One invocation, measured; returns the frames posted to the caller."""
                record.clear()
                started, cpu_started = time.perf_counter(), time.thread_time()
                invoke("$default", connection_id, frame)
                cpu_ms = (time.thread_time() - cpu_started) * 1000
                wall_ms = (time.perf_counter() - started) * 1000
                requests_made = [capacity.units(op, params, fetch, reply)
                                 for op, params, reply in record.dynamodb]
                runs[step].append({
                    "wall_ms": wall_ms, "cpu_ms": cpu_ms, "requests": requests_made,
                    "wru": sum(r["wru"] for r in requests_made),
                    "rru": sum(r["rru"] for r in requests_made),
                    "s3": dict(record.s3),
                    "frame_in": len(json.dumps(frame).encode()),
                    "frames_out": [len(body) for _, body in record.posted],
                })
                return record.frames_to(connection_id)

            for conn, name in (("A", "alice"), ("B", "bob")):
                invoke("$connect", conn)
                invoke("$default", conn, {"action": "register", "username": name,
                                          "password": aws_calls.PASSWORD})
            invoke("$default", "A", {"action": "send", "to": "bob", "text": "first",
                                     "client_id": "warm"})
            for n in range(messages):
                photo = secrets.token_bytes(PHOTO_BYTES)
                (offer,) = timed("upload", "A", {
                    "action": "upload", "name": f"photo-{n}.jpg", "type": PHOTO_TYPE,
                    "size": len(photo), "client_id": f"u{n}"})
                if offer.get("type") != "upload":
                    raise RuntimeError(f"upload refused: {offer}")
                posted = requests.post(offer["url"], data=list(offer["fields"].items()),
                                       files={"file": ("photo.jpg", photo, PHOTO_TYPE)},
                                       timeout=60)
                browser[BROWSER_POST] += 1
                if not posted.ok:
                    problems.append(f"POST {posted.status_code}: {posted.text[:200]}")
                replies = timed("send", "A", {"action": "send", "to": "bob", "text": "",
                                              "client_id": f"c{n}",
                                              "attachment": offer["upload_id"]})
                ack = next((f for f in replies if f.get("type") == "ack"), None)
                if ack is None:
                    raise RuntimeError(f"send refused: {replies}")
                sent.append(ack["id"])
                (page,) = timed("history", "B", {"action": "history", "with": "alice",
                                                 "limit": 1})
                (shown,) = page["messages"]
                got = requests.get(shown["attachment"]["url"], timeout=60)
                browser[BROWSER_GET] += 1
                if got.content != photo:
                    problems.append(f"GET {got.status_code}: {len(got.content)} bytes back"
                                    f" of {len(photo)}")
            for message_id in sent:
                timed("delete", "A", {"action": "delete", "id": message_id})
            left = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(
                Bucket=bucket, Prefix=BLOB_PREFIX).get("KeyCount", 0)
    finally:
        chat_app.service.cache_clear()
        os.environ.clear()
        os.environ.update(saved_environment)
    return {
        "messages": messages,
        "photo_bytes": PHOTO_BYTES,
        "photo_type": PHOTO_TYPE,
        "steps": {step: _step_figures(found) for step, found in runs.items()},
        "browser_requests_per_message": {op: n / messages for op, n in sorted(browser.items())},
        "objects_left_after_delete": left,
        "problems": problems,
    }
