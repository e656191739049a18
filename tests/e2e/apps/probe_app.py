"""A Chalice app that exercises the gateway contract: it rejects or fails $connect on
request (or posts to itself from it), raises on demand, calls send/info/close through
app.websocket_api, and records every $connect and $disconnect event as a JSON line in
the file named by PROBE_LOG."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any

import boto3
from chalice.app import Chalice, Response, WebsocketDisconnectedError, WebsocketEvent

app = Chalice(app_name="probe")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.Session()

_lock = threading.Lock()


def record(event: dict[str, Any]) -> None:
    with _lock, open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(event) + "\n")


def reply(event: WebsocketEvent, payload: dict[str, Any]) -> None:
    app.websocket_api.send(event.connection_id, json.dumps(payload, default=str))


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> Response | None:
    raw = event.to_dict()
    query = raw.get("queryStringParameters") or {}
    if "post" in query:
        # the connection exists only once $connect returns: API Gateway answers Gone
        try:
            app.websocket_api.send(event.connection_id, "too early")
            raw["probe_post"] = "sent"
        except WebsocketDisconnectedError:
            raw["probe_post"] = "gone"
    record(raw)
    if "boom" in query:
        raise RuntimeError("connect failed on purpose")
    if "reject" in query:
        return Response(body="go away", status_code=int(query["reject"]))
    return None


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    record(event.to_dict())


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    raw = event.to_dict()
    if raw.get("isBase64Encoded"):
        reply(event, {"binary": raw["body"]})
        return
    command, _, rest = event.body.partition(" ")
    if command == "boom":
        raise RuntimeError("handler failed on purpose")
    if command == "whoami":
        reply(event, {"id": event.connection_id})
    elif command == "event":
        reply(event, raw)
    elif command == "send":
        target, _, text = rest.partition(" ")
        try:
            app.websocket_api.send(target, text)
            reply(event, {"sent": True})
        except WebsocketDisconnectedError as gone:
            reply(event, {"gone": gone.connection_id})
    elif command == "info":
        reply(event, app.websocket_api.info(rest or event.connection_id))
    elif command == "close":
        app.websocket_api.close(rest or event.connection_id)
    elif command == "swap":
        # an app that builds its session and client late: this reply goes out before the
        # gateway can hook the new session, so it must reach the gateway over HTTP
        app.websocket_api.session = boto3.Session()
        app.websocket_api._client = None
        reply(event, {"swapped": True})
    elif command == "die":
        os._exit(3)  # the handler's process ends mid-invocation
    elif command == "wait-send":
        # posts after the target may have closed during this invocation
        seconds, target = rest.split(" ", 1)
        time.sleep(float(seconds))
        try:
            app.websocket_api.send(target, "late")
            reply(event, {"sent": True})
        except WebsocketDisconnectedError as gone:
            reply(event, {"gone": gone.connection_id})
    elif command == "sleep":
        time.sleep(float(rest))
        reply(event, {"slept": float(rest)})
    elif command == "seq":
        time.sleep(random.random() / 500)  # jitter: order must come from the gateway
        reply(event, {"seq": int(rest)})
    else:
        reply(event, {"len": len(event.body)})
