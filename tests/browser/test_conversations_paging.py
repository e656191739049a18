"""The conversations list loads further pages as it scrolls.

Today's server answers `conversations` with the whole list and no `more`; the documented
extension pages it (`limit`, `before` -> `more`, `next`). Between the page and the real
server sits a WebSocket route that cuts the real list into pages exactly as the extension
describes, so the client is driven by the paged protocol end to end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import WebSocketRoute, expect

from tests.browser.conftest import PASSWORD, Gateway, Person, sign_in, unique
from tests.browser.wire import Client

PARTNERS = 57


def paged(reply: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """One page of a full `conversations` reply, as a paging server would answer `request`."""
    items = reply["items"]
    before = request.get("before")
    if before:
        starts = [i for i, item in enumerate(items) if item["last"]["id"] == before]
        items = items[starts[0] + 1:] if starts else []
    limit = request.get("limit", 50)
    more = len(items) > limit
    page = items[:limit]
    return {**reply, "items": page, "more": more, "next": page[-1]["last"]["id"] if more else None}


def test_the_conversations_list_loads_more_as_it_scrolls(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    reader = people(unique("pat"))
    with Client(gateway.ws_url) as client:
        client.register(reader.name, PASSWORD)
    partners = [unique(f"p{n:02d}x") for n in range(PARTNERS)]
    for name in partners:
        with Client(gateway.ws_url) as client:
            client.register(name, PASSWORD)
            client.send(reader.name, f"hello from {name}")

    requests: list[dict[str, Any]] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        asked: list[dict[str, Any]] = []

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("action") == "conversations":
                asked.append(frame)
                requests.append(frame)
            server.send(message)

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "conversations":
                assert "more" not in frame, "the server pages by itself now: drop this route"
                ws.send(json.dumps(paged(frame, asked.pop(0))))
            else:
                ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    page = reader.page
    page.route_web_socket(re.compile(r"/ws$"), route)
    sign_in(reader, gateway.url)
    rows = page.locator("#conversation-list li")
    expect(rows).to_have_count(50)
    assert requests == [{"action": "conversations", "limit": 50}]

    page.locator("#lists").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(rows).to_have_count(PARTNERS)
    assert len(requests) == 2 and requests[1]["before"], requests
    names = page.locator("#conversation-list .conv-name").all_text_contents()
    assert names == partners[::-1], "newest first, each once"
    # the end of the list: no further requests however far it scrolls
    page.locator("#lists").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_timeout(300)
    assert len(requests) == 2
