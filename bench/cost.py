"""Part 3, cost: AWS API calls per direct message by operation with the DynamoDB store
(moto's server on loopback) at 2 and 1,000 registered users (bench/aws_calls.py does
the counting), the DynamoDB request units those calls consume, the handler's duration,
and dollars per million direct messages from AWS's public on-demand prices."""

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

from bench import aws_calls, capacity
from bench.machine import ROOT

# issue 13: the changes costed beside a send, each made by alice to one message she sent
CHANGES: dict[str, Any] = {
    "edit": lambda message_id: {"action": "edit", "id": message_id, "text": "edited text"},
    "react": lambda message_id: {"action": "react", "id": message_id, "emoji": "👍"},
    "delete": lambda message_id: {"action": "delete", "id": message_id},
}
# the aws_calls label whose PostToConnection count each change's bill uses
CHANGE_LABELS = {"edit": "edit", "react": "react", "delete": "delete"}
SCALES = (2, 1000)
QUICK_SCALES = (2, 50)
SEND = "send"  # aws_calls' label for a message in an existing conversation
TIMED_SENDS = 50
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, a share below it

APIGW_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
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
}
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


def measure_send(endpoint: str, sends: int) -> dict[str, Any]:
    """Times ``sends`` direct messages through the handlers on a fresh table and returns
    the duration, handler CPU, and the request units of the last one."""
    import boto3
    from chalice.test import Client

    import app as chat_app
    from chalicelib.store import schema

    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    table = f"cost-{uuid.uuid4().hex[:8]}"
    schema.ensure_table(dynamodb, table)
    os.environ["CHAT_STORE"] = f"dynamodb:{table}"
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
    wall: list[float] = []
    cpu: list[float] = []
    with Client(chat_app.app, project_dir=str(ROOT)) as client:

        def invoke(route: str, connection_id: str, body: Any = None) -> None:
            name = {"$connect": "connect", "$default": "message"}[route]
            client.lambda_.invoke(name, aws_calls.bench_event(route, connection_id, body))

        for conn, name in (("A", "alice"), ("B", "bob")):
            invoke("$connect", conn)
            invoke("$default", conn, {"action": "register", "username": name,
                                      "password": aws_calls.PASSWORD})
        invoke("$default", "A", {"action": "send", "to": "bob", "text": "first",
                                 "client_id": "warm"})
        for n in range(sends):
            calls.clear()
            frame = {"action": "send", "to": "bob", "text": f"message number {n}",
                     "client_id": f"c{n}"}
            started, cpu_started = time.perf_counter(), time.thread_time()
            invoke("$default", "A", frame)
            cpu.append((time.thread_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        send_calls = list(calls)
        # issue 13: the same for an edit, a reaction and a delete of each message sent
        ids = [m.id for m in store.history("alice", "bob", None, sends)[0]]
        changes: dict[str, Any] = {}
        for kind, frame_of in CHANGES.items():
            times: dict[str, list[float]] = {"wall": [], "cpu": []}
            for message_id in ids:
                calls.clear()
                started, cpu_started = time.perf_counter(), time.thread_time()
                invoke("$default", "A", frame_of(message_id))
                times["cpu"].append((time.thread_time() - cpu_started) * 1000)
                times["wall"].append((time.perf_counter() - started) * 1000)
            changes[kind] = (times, list(calls))
    chat_app.service.cache_clear()

    def fetch(key: dict[str, Any]) -> dict[str, Any] | None:
        return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def summary(count: int, wall: list[float], cpu: list[float], last: list[Any]
                ) -> dict[str, Any]:
        per_request = [capacity.units(op, params, fetch, reply) for op, params, reply in last]
        return {
            "sends": count,
            "wall_ms_median": statistics.median(wall),
            "wall_ms_p95": sorted(wall)[max(0, math.ceil(len(wall) * 0.95) - 1)],
            "cpu_ms_median": statistics.median(cpu),
            "requests": per_request,
            "wru": sum(r["wru"] for r in per_request),
            "rru": sum(r["rru"] for r in per_request),
        }

    # sizes are read after the run: a deleted message is measured as its tombstone
    result = summary(sends, wall, cpu, send_calls)
    result["changes"] = {
        kind: summary(len(ids), times["wall"], times["cpu"], last)
        for kind, (times, last) in changes.items()
    }
    return result


def dollars(send_calls: dict[str, Any], units: dict[str, Any], memory_mb: int
            ) -> dict[str, Any]:
    """$ per million direct messages, line by line."""
    frames_in = 1  # the send frame
    frames_out = int(send_calls["post_to_connection"])  # message to the recipient + ack
    io_ms = max(units["wall_ms_median"] - units["cpu_ms_median"], 0.0)
    estimated_ms = io_ms + units["cpu_ms_median"] * max(LAMBDA_FULL_VCPU_MB / memory_mb, 1)
    billed_ms = math.ceil(estimated_ms)  # Lambda bills duration in 1 ms steps
    gb_seconds = memory_mb / 1024 * billed_ms / 1000

    def price(key: str, quantity_per_message: float) -> dict[str, Any]:
        p = PRICES[key]
        return {
            "quantity_per_message": quantity_per_message,
            "usd_per_million_messages": quantity_per_message * 1e6 * p["usd"] / p["per"],
            "price": p,
        }

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


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    import logging

    from moto.server import ThreadedMotoServer

    aws_calls._fake_aws_environment()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    scales = QUICK_SCALES if quick else SCALES
    meter = aws_calls.Meter()
    aws_calls._count_server_requests(meter)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    started = time.monotonic()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        calls: dict[str, Any] = {}
        for users in scales:
            began = time.monotonic()
            calls[str(users)] = aws_calls.measure(endpoint, users, meter)
            log(f"  cost: calls per event counted with {users} users"
                f" ({time.monotonic() - began:.1f} s)")
        units = measure_send(endpoint, 5 if quick else TIMED_SENDS)
    finally:
        server.stop()
    memory = lambda_memory_mb()
    small, large = (calls[str(n)] for n in scales)
    send_labels = [label for label in small if label.startswith("send")]
    scans = sum(row["dynamodb"].get("Scan", 0) + row["server"].get("Scan", 0)
                for rows in calls.values() for row in rows.values())
    same = all(small[label]["dynamodb"] == large[label]["dynamodb"] for label in send_labels)
    money = dollars(small[SEND], units, memory)
    change_units = units.pop("changes")
    change_money = {
        kind: dollars(small[CHANGE_LABELS[kind]], change_units[kind], memory)
        for kind in change_units
    }
    for kind, spent in change_money.items():
        log(f"  cost: {kind}: {small[CHANGE_LABELS[kind]]['dynamodb_requests']} DynamoDB"
            f" requests, {change_units[kind]['wru']:g} WRU + {change_units[kind]['rru']:g} RRU,"
            f" ${spent['total_usd_per_million']:.2f} per million")
    log(f"  cost: {small[SEND]['dynamodb_requests']} DynamoDB requests per message"
        f" ({small[SEND]['dynamodb']}), {units['wru']:g} WRU + {units['rru']:g} RRU,"
        f" ${money['total_usd_per_million']:.2f} per million messages")
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
        },
        "send_units": units,
        "dollars": money,
        "change_units": change_units,
        "change_dollars": change_money,
        "prices": PRICES,
        "sources": {
            "lambda_memory": LAMBDA_MEMORY_DOC,
            "capacity_units": CAPACITY_DOC,
            "transactions": TRANSACTION_DOC,
        },
    }
