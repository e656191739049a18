"""API-Gateway-shaped WebSocket events for invoking the handlers directly
(Chalice's test client has none): the local gateway's own event builder,
localgw/events.py, with a fixed API id and stage."""

from __future__ import annotations

import time
from typing import Any

from localgw.events import Peer, route_event

API_ID = "abc123"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"


def websocket_event(route: str, connection_id: str, body: str | None = None) -> dict[str, Any]:
    peer = Peer(connection_id, time.time(), "127.0.0.1", "pytest", DOMAIN, "dev", API_ID)
    return route_event(route, peer, body)
