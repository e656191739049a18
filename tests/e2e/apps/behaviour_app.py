"""A Chalice app for the gateway behaviours API Gateway documents, deployable as it is to
localgw and to MiniStack (tests/e2e/test_api_gateway_behaviour.py): it posts from inside
$connect when asked, reports what a late post to a closed connection answered, and
returns @connections GET as botocore parsed it."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import boto3
from chalice.app import Chalice, WebsocketDisconnectedError, WebsocketEvent

from chalicelib.endpoint import OverridableWebsocketAPI

app = Chalice(app_name="behaviour")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api = OverridableWebsocketAPI()
app.websocket_api.session = boto3.Session()
POSTED_IN_CONNECT = "posted during $connect"


def reply(connection_id: str, payload: dict[str, Any]) -> None:
    app.websocket_api.send(connection_id, json.dumps(payload, default=str))


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> None:
    query = event.to_dict().get("queryStringParameters") or {}
    if "post" in query:
        # The connection exists only once $connect returns: API Gateway answers Gone.
        with contextlib.suppress(WebsocketDisconnectedError):
            app.websocket_api.send(event.connection_id, POSTED_IN_CONNECT)


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    return None


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    command, _, rest = event.body.partition(" ")
    if command == "whoami":
        reply(event.connection_id, {"id": event.connection_id})
    elif command == "info":
        info = dict(app.websocket_api.info(event.connection_id))
        info.pop("ResponseMetadata", None)
        reply(event.connection_id, info)
    elif command == "later":
        # "later SECONDS WATCHER": the sender closes meanwhile; the watcher learns
        # what the post to the closed connection answered.
        seconds, watcher = rest.split()
        time.sleep(float(seconds))
        try:
            app.websocket_api.send(event.connection_id, "too late")
            outcome = "sent"
        except WebsocketDisconnectedError:
            outcome = "gone"
        reply(watcher, {"later": outcome})
    else:
        reply(event.connection_id, {"len": len(event.body)})
