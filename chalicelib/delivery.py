"""Posts outgoing frames through Chalice's WebsocketAPI (the @connections API).

A connection that answers GoneException is reported back so the core can
forget it; a failure to reach one connection never stops delivery to others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chalice.app import WebsocketDisconnectedError

from chalicelib import protocol
from chalicelib.chat import Outgoing

logger = logging.getLogger("chat")

# posts one encoded frame to one connection id (Chalice's websocket_api.send)
PostToConnection = Callable[[str, str], None]


@dataclass
class Report:
    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: int = 0


def deliver(frames: Iterable[Outgoing], post: PostToConnection) -> Report:
    report = Report()
    for item in frames:
        if item.connection_id in report.gone:
            continue
        try:
            post(item.connection_id, protocol.encode(item.frame))
            report.delivered += 1
        except WebsocketDisconnectedError:
            report.gone.append(item.connection_id)
        except Exception:
            # Stored already; the recipient sees it in history. Keep going.
            report.failed += 1
            logger.warning("delivery to %s failed", item.connection_id, exc_info=True)
    return report
