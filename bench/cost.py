"""Part 3, cost: AWS API calls per direct message by operation with the DynamoDB store
(moto's server on loopback) at 2 and 1,000 registered users (bench/aws_calls.py does
the counting), the DynamoDB request units those calls consume, the handler's duration,
and dollars per million direct messages from AWS's public on-demand prices; and the same
for a message with an attachment, S3 requests included (bench/attachment_cost.py counts
them, on moto's S3)."""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bench import attachment_cost, aws_calls, capacity
from bench.machine import ROOT

SCALES = (2, 1000)
QUICK_SCALES = (2, 50)
SEND = "send"  # aws_calls' label for a message in an existing conversation
TIMED_SENDS = 50
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, a share below it

APIGW_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
# S3's "GB" is 2^30 bytes: the storage example in its FAQ converts byte-hours with it
S3_FAQ = "https://aws.amazon.com/s3/faqs/"
S3_GB = 2**30
LAMBDA_MEMORY_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"
CAPACITY_DOC = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html"
)
TRANSACTION_DOC = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html"
)
# US East (N. Virginia), on-demand, as published on the pages above
PRICES: dict[str, dict[str, Any]] = {
    "apigw_message": {"usd": 1.00, "per": 1e6, "unit": "WebSocket messages (32 KB each)",
                      "url": APIGW_PRICING},
    "apigw_connection_minute": {"usd": 0.25, "per": 1e6, "unit": "connection minutes",
                                "url": APIGW_PRICING},
    "lambda_request": {"usd": 0.20, "per": 1e6, "unit": "Lambda requests", "url": LAMBDA_PRICING},
    "lambda_gb_second": {"usd": 0.0000166667, "per": 1, "unit": "GB-second (x86)",
                         "url": LAMBDA_PRICING},
    "dynamodb_wru": {"usd": 0.625, "per": 1e6, "unit": "write request units",
                     "url": DYNAMODB_PRICING},
    "dynamodb_rru": {"usd": 0.125, "per": 1e6, "unit": "read request units",
                     "url": DYNAMODB_PRICING},
    # S3 Standard; PutObjectTagging is billed as a PUT-tier request, DELETE is free
    "s3_storage_gb_month": {"usd": 0.023, "per": 1, "unit": "GB-month (S3 Standard, first 50 TB)",
                            "url": S3_PRICING},
    "s3_put_request": {"usd": 0.005, "per": 1e3, "unit": "PUT, COPY, POST, LIST requests",
                       "url": S3_PRICING},
    "s3_get_request": {"usd": 0.0004, "per": 1e3,
                       "unit": "GET, SELECT and all other requests (HEAD included)",
                       "url": S3_PRICING},
    "s3_delete_request": {"usd": 0.0, "per": 1e3, "unit": "DELETE requests", "url": S3_PRICING},
}
# which price each S3 request pays: the server's through S3Blobs, the browser's named
# as S3 bills them (a presigned POST is a POST, a download a GET)
S3_REQUEST_PRICE = {
    "PostObject": "s3_put_request",
    "PutObject": "s3_put_request",
    "PutObjectTagging": "s3_put_request",
    "GetObject": "s3_get_request",
    "HeadObject": "s3_get_request",
    "DeleteObject": "s3_delete_request",
}
# the photo of the storage example: the size of the local delivery bench's (bench/attachments.py)
STORED_EXAMPLE_BYTES = 5 * 1024 * 1024
# the worked example for connection minutes, which depend on how people use the chat
EXAMPLE_ONLINE_MINUTES_PER_DAY = 8 * 60
EXAMPLE_MESSAGES_PER_DAY = 100


def lambda_memory_mb() -> int:
    """The configured memory (.chalice/config.json, stage dev, then top level), else
    Chalice's default."""
    from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config.get("stages", {}).get("dev", {})
    return int(stage.get("lambda_memory_size", config.get("lambda_memory_size",
                                                          DEFAULT_LAMBDA_MEMORY_SIZE)))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _posted(request: Any, **_: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse(request.url, 200, {}, _Raw(b""))


# the limiter as deployed, but with a send limit no bench burst reaches: a send's cost
# does not depend on the limit's numbers (one UpdateItem of a small item either way)
LIMITER_ON = {
    "CHAT_LIMIT_LOGIN": "5/900",
    "CHAT_LIMIT_SEND": "1000000/30",
    "CHAT_LIMIT_UPLOAD": "1000000/60",
    "CHAT_LIMIT_SIGN_IN": "1000/60",
    "CHAT_TYPING_INTERVAL": "3",
}
MEASURED_ACTIONS = ("send", "typing", "read", "edit", "react", "delete")


def _action_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-invocation figures of one action, summed over its DynamoDB requests."""
    wall = [r["wall_ms"] for r in runs]
    return {
        "invocations": len(runs),
        "wall_ms_median": statistics.median(wall),
        "wall_ms_p95": sorted(wall)[max(0, math.ceil(len(wall) * 0.95) - 1)],
        "cpu_ms_median": statistics.median(r["cpu_ms"] for r in runs),
        "requests_mean": statistics.fmean(len(r["requests"]) for r in runs),
        "wru_mean": statistics.fmean(r["wru"] for r in runs),
        "rru_mean": statistics.fmean(r["rru"] for r in runs),
        "wru_max": max(r["wru"] for r in runs),
        "first": runs[0]["requests"],
        "last": runs[-1]["requests"],
    }


def measure_send(endpoint: str, sends: int, limiter: bool = True) -> dict[str, Any]:
    """Times ``sends`` direct messages, then as many ``typing`` and ``read`` frames,
    through the handlers on a fresh table, with the rate limiter on or off; returns
    the send's duration, handler CPU and request units (of the last send, and per
    action the figures over every invocation)."""
    import boto3
    from chalice.test import Client

    import app as chat_app
    from bench.servers import LIMITS_OFF
    from chalicelib.store import schema

    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    table = f"cost-{uuid.uuid4().hex[:8]}"
    schema.ensure_table(dynamodb, table)
    saved_environment = dict(os.environ)
    os.environ["CHAT_STORE"] = f"dynamodb:{table}"
    os.environ.update(LIMITER_ON if limiter else LIMITS_OFF)
    chat_app.service.cache_clear()
    store = chat_app.service().chat.store
    calls: list[list[Any]] = []

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append([model.name, copy.deepcopy(params), None])

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if calls and calls[-1][0] == model.name:
            calls[-1][2] = parsed

    store.client.meta.events.register("before-parameter-build.dynamodb", before)
    store.client.meta.events.register("after-call.dynamodb", after)
    api = chat_app.app.websocket_api
    api._client = None
    api.session.events.register("before-send.apigatewaymanagementapi", _posted,
                                unique_id="bench.cost")

    def fetch(key: dict[str, Any]) -> dict[str, Any] | None:
        return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in MEASURED_ACTIONS}
    with Client(chat_app.app, project_dir=str(ROOT)) as client:

        def invoke(route: str, connection_id: str, body: Any = None) -> None:
            name = {"$connect": "connect", "$default": "message"}[route]
            client.lambda_.invoke(name, aws_calls.bench_event(route, connection_id, body))

        def timed(action: str, connection_id: str, frame: dict[str, Any]) -> None:
            calls.clear()
            started, cpu_started = time.perf_counter(), time.thread_time()
            invoke("$default", connection_id, frame)
            cpu_ms = (time.thread_time() - cpu_started) * 1000
            wall_ms = (time.perf_counter() - started) * 1000
            # units are read after the timing: fetching items is the bench's, not the app's
            requests = [capacity.units(op, params, fetch, reply) for op, params, reply in calls]
            runs[action].append({
                "wall_ms": wall_ms, "cpu_ms": cpu_ms, "requests": requests,
                "wru": sum(r["wru"] for r in requests), "rru": sum(r["rru"] for r in requests),
            })

        for conn, name in (("A", "alice"), ("B", "bob")):
            invoke("$connect", conn)
            invoke("$default", conn, {"action": "register", "username": name,
                                      "password": aws_calls.PASSWORD})
        invoke("$default", "A", {"action": "send", "to": "bob", "text": "first",
                                 "client_id": "warm"})
        for n in range(sends):
            timed("send", "A", {"action": "send", "to": "bob", "text": f"message number {n}",
                                "client_id": f"c{n}"})
        for _ in range(sends):
            timed("typing", "A", {"action": "typing", "to": "bob"})
        newest = store.history("alice", "bob", None, 1)[0][-1].id
        for _ in range(sends):
            timed("read", "B", {"action": "read", "with": "alice", "up_to": newest})
        # each message alice sent is edited, reacted to and deleted by her, once each
        sent = [m.id for m in store.history("alice", "bob", None, sends)[0]]
        for message_id in sent:
            timed("edit", "A", {"action": "edit", "id": message_id, "text": "edited text"})
        for message_id in sent:
            timed("react", "A", {"action": "react", "id": message_id, "emoji": "👍"})
        for message_id in sent:
            timed("delete", "A", {"action": "delete", "id": message_id})
    chat_app.service.cache_clear()
    os.environ.clear()
    os.environ.update(saved_environment)

    last_send = runs["send"][-1]
    figures = {name: _action_figures(found) for name, found in runs.items()}
    return {
        "limiter": limiter,
        "sends": sends,
        "wall_ms_median": figures["send"]["wall_ms_median"],
        "wall_ms_p95": figures["send"]["wall_ms_p95"],
        "cpu_ms_median": figures["send"]["cpu_ms_median"],
        "requests": last_send["requests"],
        "wru": last_send["wru"],
        "rru": last_send["rru"],
        "actions": figures,
    }


def limiter_comparison(on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    """Per action, with the limiter beside without it: mean DynamoDB requests, request
    units and DynamoDB $ per million frames (on-demand prices)."""

    def dollars_per_million(figures: dict[str, Any]) -> float:
        wru, rru = PRICES["dynamodb_wru"], PRICES["dynamodb_rru"]
        return (figures["wru_mean"] * 1e6 * wru["usd"] / wru["per"]
                + figures["rru_mean"] * 1e6 * rru["usd"] / rru["per"])

    table: dict[str, Any] = {}
    for action in MEASURED_ACTIONS:
        row: dict[str, Any] = {}
        for label, run in (("with_limiter", on), ("without_limiter", off)):
            figures = run["actions"][action]
            row[label] = {
                "requests": figures["requests_mean"],
                "wru": figures["wru_mean"],
                "rru": figures["rru_mean"],
                "wru_max": figures["wru_max"],
                "dynamodb_usd_per_million": dollars_per_million(figures),
                "operations_first": [r["operation"] for r in figures["first"]],
                "operations_last": [r["operation"] for r in figures["last"]],
            }
        row["added_wru_max"] = (
            on["actions"][action]["wru_max"] - off["actions"][action]["wru_max"]
        )
        table[action] = row
    return table


def lambda_duration(wall_ms: float, cpu_ms: float, memory_mb: int) -> dict[str, Any]:
    """An invocation measured here as it would bill at ``memory_mb``: the time waiting
    on I/O as measured, the CPU time scaled by Lambda's share of a vCPU."""
    io_ms = max(wall_ms - cpu_ms, 0.0)
    estimated_ms = io_ms + cpu_ms * max(LAMBDA_FULL_VCPU_MB / memory_mb, 1)
    billed_ms = math.ceil(estimated_ms)  # Lambda bills duration in 1 ms steps
    return {"estimated_ms": estimated_ms, "billed_ms": billed_ms,
            "gb_seconds": memory_mb / 1024 * billed_ms / 1000}


def price(key: str, quantity_per_message: float) -> dict[str, Any]:
    p = PRICES[key]
    return {
        "quantity_per_message": quantity_per_message,
        "usd_per_million_messages": quantity_per_message * 1e6 * p["usd"] / p["per"],
        "price": p,
    }


def dollars(send_calls: dict[str, Any], units: dict[str, Any], memory_mb: int
            ) -> dict[str, Any]:
    """$ per million direct messages, line by line."""
    frames_in = 1  # the send frame
    frames_out = int(send_calls["post_to_connection"])  # message to the recipient + ack
    duration = lambda_duration(units["wall_ms_median"], units["cpu_ms_median"], memory_mb)
    estimated_ms, billed_ms = duration["estimated_ms"], duration["billed_ms"]
    gb_seconds = duration["gb_seconds"]

    lines = {
        "API Gateway messages": price("apigw_message", frames_in + frames_out),
        "Lambda requests": price("lambda_request", 1),
        "Lambda duration": price("lambda_gb_second", gb_seconds),
        "DynamoDB writes": price("dynamodb_wru", units["wru"]),
        "DynamoDB reads": price("dynamodb_rru", units["rru"]),
    }
    per_message_total = sum(line["usd_per_million_messages"] for line in lines.values())
    minutes = EXAMPLE_ONLINE_MINUTES_PER_DAY / EXAMPLE_MESSAGES_PER_DAY
    connection = price("apigw_connection_minute", minutes)
    return {
        "lines": lines,
        "total_usd_per_million": per_message_total,
        "connection_minutes_example": {
            "online_minutes_per_day": EXAMPLE_ONLINE_MINUTES_PER_DAY,
            "messages_sent_per_day": EXAMPLE_MESSAGES_PER_DAY,
            **connection,
        },
        "total_with_connection_example": per_message_total
        + connection["usd_per_million_messages"],
        "lambda": {
            "memory_mb": memory_mb,
            "measured_wall_ms": units["wall_ms_median"],
            "measured_cpu_ms": units["cpu_ms_median"],
            "estimated_ms_at_memory": estimated_ms,
            "billed_ms": billed_ms,
            "gb_seconds": gb_seconds,
        },
        "frames": {"in": frames_in, "out": frames_out},
    }


MESSAGE_STEPS = ("upload", "send", "history")  # the frames one message with an attachment takes


def _priced_steps(steps: list[dict[str, Any]], browser_s3: dict[str, float],
                  memory_mb: int) -> dict[str, Any]:
    """$ per million of what ``steps`` (handler invocations, figures from
    bench/attachment_cost.py) and the browser's S3 requests do together, line by line."""
    durations = [lambda_duration(step["wall_ms_median"], step["cpu_ms_median"], memory_mb)
                 for step in steps]
    s3: dict[str, float] = dict(browser_s3)
    for step in steps:
        for operation, n in step["s3_requests_mean"].items():
            s3[operation] = s3.get(operation, 0.0) + n
    tiers: dict[str, dict[str, float]] = {}
    for operation, n in sorted(s3.items()):
        tiers.setdefault(S3_REQUEST_PRICE[operation], {})[operation] = n
    lines = {
        "API Gateway messages": price("apigw_message",
                                      sum(step["apigw_messages_mean"] for step in steps)),
        "Lambda requests": price("lambda_request", len(steps)),
        "Lambda duration": price("lambda_gb_second", sum(d["gb_seconds"] for d in durations)),
        "DynamoDB writes": price("dynamodb_wru", sum(step["wru_mean"] for step in steps)),
        "DynamoDB reads": price("dynamodb_rru", sum(step["rru_mean"] for step in steps)),
    }
    tier_names = {"s3_put_request": "S3 PUT-tier requests", "s3_get_request":
                  "S3 GET-tier requests", "s3_delete_request": "S3 DELETE requests"}
    for key, operations in tiers.items():
        line = price(key, sum(operations.values()))
        lines[tier_names[key]] = {**line, "operations": operations}
    return {
        "lines": lines,
        "total_usd_per_million": sum(line["usd_per_million_messages"]
                                     for line in lines.values()),
        "lambda_billed_ms": [d["billed_ms"] for d in durations],
    }


def attachment_dollars(measured: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """$ per million messages with an attachment (the upload, the browser's POST, the
    send, one history fetch and one view by the recipient), per further view, per
    delete, and the storage per month."""
    steps = measured["steps"]
    browser = measured["browser_requests_per_message"]
    per_gb = PRICES["s3_storage_gb_month"]
    stored_gb = STORED_EXAMPLE_BYTES / S3_GB
    return {
        "message": _priced_steps([steps[name] for name in MESSAGE_STEPS], browser, memory_mb),
        "further_view": price("s3_get_request", 1),
        "delete": _priced_steps([steps["delete"]], {}, memory_mb),
        "storage": {
            "usd_per_gb_month": per_gb["usd"],
            "price": per_gb,
            "gb_definition": {"bytes": S3_GB, "url": S3_FAQ},
            "example_bytes": STORED_EXAMPLE_BYTES,
            "example_usd_per_million_messages_per_month":
                stored_gb * 1e6 * per_gb["usd"] / per_gb["per"],
        },
        "memory_mb": memory_mb,
    }


def _attachment_checks(measured: dict[str, Any]) -> bool:
    """Each step made the S3 requests it must, and nothing was left behind."""
    s3 = {name: step["s3_requests_mean"] for name, step in measured["steps"].items()}
    return (not measured["problems"]
            and s3["upload"] == {} and s3["history"] == {}
            and s3["send"] == {"HeadObject": 1.0, "PutObjectTagging": 1.0}
            and s3["delete"] == {"DeleteObject": 1.0}
            and measured["objects_left_after_delete"] == 0)


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    import logging

    from moto.server import ThreadedMotoServer

    aws_calls._fake_aws_environment()
    os.environ.update(LIMITER_ON)  # the calls per event as deployed, limiter included
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    scales = QUICK_SCALES if quick else SCALES
    meter = aws_calls.Meter()
    aws_calls._count_server_requests(meter)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    started = time.monotonic()
    try:
        import boto3

        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        # attachments in S3 as deployed (moto's S3, on the same server)
        bucket = f"cost-{uuid.uuid4().hex[:10]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        os.environ["CHAT_BLOBS"] = f"s3://{bucket}/{attachment_cost.BLOB_PREFIX}"
        os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
        calls: dict[str, Any] = {}
        for users in scales:
            began = time.monotonic()
            calls[str(users)] = aws_calls.measure(endpoint, users, meter)
            log(f"  cost: calls per event counted with {users} users"
                f" ({time.monotonic() - began:.1f} s)")
        units = measure_send(endpoint, 5 if quick else TIMED_SENDS, limiter=True)
        unlimited = measure_send(endpoint, 5 if quick else TIMED_SENDS, limiter=False)
        began = time.monotonic()
        attached = attachment_cost.measure(
            endpoint, bucket,
            attachment_cost.QUICK_MESSAGES if quick else attachment_cost.MESSAGES, LIMITER_ON)
        log(f"  cost: {attached['messages']} messages with an attachment"
            f" ({time.monotonic() - began:.1f} s)")
    finally:
        server.stop()
    memory = lambda_memory_mb()
    small, large = (calls[str(n)] for n in scales)
    send_labels = [label for label in small if label.startswith("send")]
    scans = sum(row["dynamodb"].get("Scan", 0) + row["server"].get("Scan", 0)
                for rows in calls.values() for row in rows.values())
    same = all(small[label]["dynamodb"] == large[label]["dynamodb"] for label in send_labels)
    money = dollars(small[SEND], units, memory)
    log(f"  cost: {small[SEND]['dynamodb_requests']} DynamoDB requests per message"
        f" ({small[SEND]['dynamodb']}), {units['wru']:g} WRU + {units['rru']:g} RRU,"
        f" ${money['total_usd_per_million']:.2f} per million messages")
    limiter = limiter_comparison(units, unlimited)
    attached_money = attachment_dollars(attached, memory)
    per_message = attached_money["message"]
    log("  cost: a message with an attachment: "
        + ", ".join(f"{name} {line['quantity_per_message']:.4g}"
                    for name, line in per_message["lines"].items())
        + f"; ${per_message['total_usd_per_million']:.2f} per million, storage"
        f" ${attached_money['storage']['usd_per_gb_month']} per GB-month")
    for action, row in limiter.items():
        on, off = row["with_limiter"], row["without_limiter"]
        log(f"  cost: {action}: {on['requests']:.2f} requests, {on['wru']:.2f} WRU +"
            f" {on['rru']:.2f} RRU with the limiter; {off['requests']:.2f}, {off['wru']:.2f} +"
            f" {off['rru']:.2f} without")
    return {
        "scales": list(scales),
        "quick": quick,
        "duration_s": time.monotonic() - started,
        "calls": calls,
        "send_labels": send_labels,
        "checks": {
            "no_scan": scans == 0,
            "same_at_both_scales": same,
            # a send posts the ack and the recipient's copy: if no post was counted the
            # API Gateway line of the bill would be wrong
            "posts_counted": small[SEND]["post_to_connection"] == 2,
            # issue 11: the limiter adds at most one write request unit per send
            "limiter_adds_at_most_one_wru_per_send": limiter["send"]["added_wru_max"] <= 1,
            # issue 14: HeadObject + PutObjectTagging per send, DeleteObject per delete,
            # none for upload or history, every file back intact, none left behind
            "attachment_s3_counted": _attachment_checks(attached),
        },
        "send_units": units,
        "send_units_without_limiter": unlimited,
        "limiter": limiter,
        "dollars": money,
        "attachment": attached,
        "attachment_dollars": attached_money,
        "prices": PRICES,
        "sources": {
            "lambda_memory": LAMBDA_MEMORY_DOC,
            "capacity_units": CAPACITY_DOC,
            "transactions": TRANSACTION_DOC,
        },
    }
