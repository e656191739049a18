"""One structured JSON line per handled event, through ``logging``.

Never passwords, tokens or message text: only the fields named here.
"""

from __future__ import annotations

import json
import logging
import sys

logger = logging.getLogger("chat")


def configure(level: str) -> None:
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level.upper())


def event(
    *,
    route: str,
    connection_id: str,
    request_id: str,
    outcome: str,
    duration_ms: float,
    action: str | None = None,
    username: str | None = None,
    delivered: int = 0,
    gone: int = 0,
    failed: int = 0,
) -> None:
    record = {
        "route": route,
        "action": action,
        "connection_id": connection_id,
        "request_id": request_id,
        "outcome": outcome,
        "duration_ms": round(duration_ms, 2),
        "user": username,
        "delivered": delivered,
        "gone": gone,
        "failed": failed,
    }
    logger.info(json.dumps(record, separators=(",", ":")))


def failure(route: str, connection_id: str, request_id: str) -> None:
    logger.exception(
        json.dumps(
            {"route": route, "connection_id": connection_id, "request_id": request_id,
             "outcome": "internal"},
            separators=(",", ":"),
        )
    )


def undelivered(
    *,
    route: str,
    connection_id: str,
    request_id: str,
    target: str,
    frame_type: str,
    reason: str,
    error: BaseException | None,
) -> None:
    """A frame that could not be posted (not Gone): at error level, with the cause."""
    logger.error(
        json.dumps(
            {"route": route, "connection_id": connection_id, "request_id": request_id,
             "outcome": "undelivered", "target": target, "frame": frame_type,
             "reason": reason},
            separators=(",", ":"),
        ),
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
    )
