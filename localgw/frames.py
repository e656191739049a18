"""API Gateway's per-frame limit, which aiohttp does not have: a data frame over 32 KB
closes the connection with 1009, while a message of up to 128 KB may arrive in several
frames. aiohttp reassembles fragmented messages before anything sees them and limits
only the whole message (``max_msg_size``), so each connection's bytes are also read by
python-websockets' sans-I/O frame parser, which knows each frame's length."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.http import WebSocketWriter
from aiohttp.http_websocket import WebSocketError
from aiohttp.web_request import BaseRequest
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame
from websockets.streams import StreamReader


class FrameSizeGuard:
    """Stands in front of aiohttp's frame parser: sees every byte first, and on a frame
    over the limit fails the connection's message queue with 1009 (aiohttp then closes
    as it does for a message over ``max_msg_size``) and drops the rest."""

    def __init__(self, parser: Any, queue: Any, max_frame_bytes: int) -> None:
        self._parser = parser
        self._queue = queue
        self._max = max_frame_bytes
        self._stream = StreamReader()
        self._frames: Generator[None, None, None] | None = self._parse()
        self._failed = False

    def _parse(self) -> Generator[None, None, None]:
        while True:
            yield from Frame.parse(self._stream.read_exact, mask=True, max_size=self._max)

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._failed:
            return False, b""
        if self._frames is not None:
            self._stream.feed_data(data)
            try:
                next(self._frames)
            except PayloadTooBig:
                self._failed = True
                self._queue.set_exception(WebSocketError(
                    WSCloseCode.MESSAGE_TOO_BIG, f"Frame exceeds {self._max} bytes"))
                return False, b""
            except ProtocolError:
                self._frames = None  # malformed: aiohttp's parser answers that
        result: tuple[bool, bytes] = self._parser.feed_data(data)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class FrameLimitedResponse(web.WebSocketResponse):
    """aiohttp's WebSocket response with the per-frame limit in front of its parser."""

    def __init__(self, max_frame_bytes: int, **options: Any) -> None:
        super().__init__(**options)
        self._max_frame_bytes = max_frame_bytes

    def _post_start(
        self, request: BaseRequest, protocol: str | None, writer: WebSocketWriter
    ) -> None:
        super()._post_start(request, protocol, writer)
        handler = request.protocol
        # aiohttp keeps the parser it just installed in a private slot; should that
        # change, fail at the first connection rather than lose the limit silently
        if handler._payload_parser is not self._parser:
            raise RuntimeError("this aiohttp installs its WebSocket parser differently")
        handler._payload_parser = FrameSizeGuard(
            self._parser, self._reader, self._max_frame_bytes
        )
