"""The conversations list loads further pages as it scrolls.

The server pages `conversations` (`limit`, `before` -> `more`, `next`; issue 11). Between
the page and the real server sits a WebSocket route that only records what the page asks
and checks each reply is a page, so the client is driven by the real paged protocol.
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
                asked.pop(0)
                assert isinstance(frame["more"], bool) and "next" in frame, frame
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


LONG_PARTNERS = 40


def test_pages_cut_short_by_the_frame_budget_still_reach_every_conversation(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    """40 partners whose last messages are 4,000 characters: the server's first page holds
    fewer than 40 (it is cut to fit one frame, `more: true`), and the list still reaches
    every one of them as it scrolls, each once, newest first."""
    reader = people(unique("long"))
    with Client(gateway.ws_url) as client:
        client.register(reader.name, PASSWORD)
    partners = [unique(f"l{n:02d}x") for n in range(LONG_PARTNERS)]
    for name in partners:
        with Client(gateway.ws_url) as client:
            client.register(name, PASSWORD)
            client.send(reader.name, f"{name} " + "é" * (3999 - len(name)))

    pages: list[int] = []

    def on_frame(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("type") == "conversations":
            pages.append(len(frame["items"]))

    page = reader.page
    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    sign_in(reader, gateway.url)
    rows = page.locator("#conversation-list li")
    expect(rows.first).to_be_visible()
    for _ in range(20):
        if rows.count() == LONG_PARTNERS:
            break
        page.locator("#lists").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(150)
    expect(rows).to_have_count(LONG_PARTNERS)
    assert pages[0] < LONG_PARTNERS, f"the first page was not cut short: {pages}"
    names = page.locator("#conversation-list .conv-name").all_text_contents()
    assert names == partners[::-1], "newest first, each once"
