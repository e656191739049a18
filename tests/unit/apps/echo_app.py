"""The smallest app the local gateway's runtime can load: its one route answers with the
message's body as its response, after sleeping when the body says ``sleep <seconds>``."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any


def message(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event["body"]
    command, _, rest = body.partition(" ")
    if command == "sleep":
        time.sleep(float(rest))
    return {"statusCode": 200, "body": body}


app = SimpleNamespace(
    app_name="echo",
    websocket_handlers={"$default": SimpleNamespace(name="message", handler_string="")},
    handler_map={"message": message},
)
