"""What the browser client is told about the server's rules: the fields of /config.js.

One function turns the server's settings and protocol constants into the JSON object the
client reads as ``window.CHAT_CONFIG``, so the client checks input by the same rules the
server enforces. The local gateway serves it; Amplify writes the same fields at build time
(frontend/amplify.yml).
"""

from __future__ import annotations

from typing import Any

from chalicelib import blobs, protocol
from chalicelib.settings import Settings

USERNAME_MESSAGE = "Choose a username of 3 to 32 characters: letters, digits, “_”, “.” or “-”."


def username_pattern() -> str:
    """The server's username rule as a JavaScript RegExp source that must match in full.

    The server lower-cases, then matches ``protocol.USERNAME_PATTERN`` against the whole
    string; the client does the same with this source (anchored, no flags: ASCII only).
    """
    body = protocol.USERNAME_PATTERN.pattern
    body = body.removeprefix("^").removeprefix(r"\A")
    for anchor in (r"\Z", "$"):
        body = body.removesuffix(anchor)
    return f"^(?:{body})$"


def client_config(settings: Settings, websocket_url: str) -> dict[str, Any]:
    return {
        "websocketUrl": websocket_url,
        "maxText": settings.max_text,
        "passwordMin": protocol.PASSWORD_MIN,
        "username": {"pattern": username_pattern(), "message": USERNAME_MESSAGE},
        "maxUpload": settings.attachments.max_size,
        "uploadTypes": list(settings.attachments.types) if settings.blobs_url != blobs.OFF else [],
    }
