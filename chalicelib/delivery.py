"""Posts outgoing frames through Chalice's WebsocketAPI (the @connections API).

A connection that answers GoneException is reported back so the core can
forget it; any other failure is reported as ``Undelivered`` (the service logs
it and answers the caller in its place); a failure to reach one connection
never stops delivery to others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from chalice.app import WebsocketDisconnectedError

from chalicelib import budget, protocol
from chalicelib.chat import Outgoing

# posts one encoded frame to one connection id (Chalice's websocket_api.send)
PostToConnection = Callable[[str, str], None]
# API Gateway's error code for a post over its limit
PAYLOAD_TOO_LARGE = "PayloadTooLargeException"


@dataclass(frozen=True)
class Undelivered:
    """A frame that could not be posted, for a reason other than Gone."""

    connection_id: str
    frame: dict[str, Any]
    too_large: bool
    error: BaseException | None = None


@dataclass
class Report:
    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    undelivered: list[Undelivered] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.undelivered)


def deliver(frames: Iterable[Outgoing], post: PostToConnection) -> Report:
    report = Report()
    for item in frames:
        if item.connection_id in report.gone:
            continue
        try:
            data = protocol.encode(item.frame)
            if len(data.encode("utf-8")) > budget.FRAME_LIMIT:
                # API Gateway would refuse it: don't spend a call to learn that
                report.undelivered.append(Undelivered(item.connection_id, item.frame, True))
                continue
            post(item.connection_id, data)
            report.delivered += 1
        except WebsocketDisconnectedError:
            report.gone.append(item.connection_id)
        except Exception as error:
            too_large = isinstance(error, ClientError) and (
                error.response.get("Error", {}).get("Code") == PAYLOAD_TOO_LARGE
            )
            report.undelivered.append(
                Undelivered(item.connection_id, item.frame, too_large, error)
            )
    return report
