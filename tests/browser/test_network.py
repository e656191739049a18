"""The client across server restarts and long histories: banner, outbox delivered once, paging."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import WebSocket, expect

from tests.browser.conftest import (
    PASSWORD,
    Gateway,
    Person,
    message_texts,
    messages,
    open_conversation_via_search,
    screenshot,
    send,
    sign_in,
    sign_up,
    unique,
)
from tests.browser.wire import Client


def test_messages_written_offline_are_delivered_once_after_the_server_returns(
    own_gateway: Gateway, people: Callable[..., Person]
) -> None:
    hana, ivan = people(unique("hana")), people(unique("ivan"))
    hana.allow_refused_websocket = ivan.allow_refused_websocket = True
    sign_up(hana, own_gateway.url)
    sign_up(ivan, own_gateway.url)
    open_conversation_via_search(hana, ivan.name)
    send(hana, "before the outage")
    ivan.page.locator("#conversation-list").get_by_role("link").first.click()
    expect(messages(ivan.page)).to_have_count(1)

    own_gateway.stop()
    banner = hana.page.locator("#connection-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Reconnecting")
    send(hana, "written while offline 1")
    send(hana, "written while offline 2")
    pending = messages(hana.page).filter(has_text="written while offline")
    expect(pending).to_have_count(2)
    for i in range(2):
        expect(pending.nth(i)).to_have_attribute("data-status", "pending")
    screenshot(hana.page, "offline-banner")

    own_gateway.start()  # same port, same SQLite file
    expect(banner).to_be_hidden(timeout=20_000)
    expect(ivan.page.locator("#connection-banner")).to_be_hidden(timeout=20_000)
    for i in range(2):
        expect(pending.nth(i)).to_have_attribute("data-status", re.compile("sent|read"))
    expect(messages(ivan.page)).to_have_count(3)
    assert message_texts(ivan.page) == [
        "before the outage", "written while offline 1", "written while offline 2",
    ]
    # and the server stored each exactly once
    with Client(own_gateway.ws_url) as client:
        client.login(ivan.name, PASSWORD)
        stored = [m["text"] for m in client.all_messages(hana.name)]
    assert stored == ["before the outage", "written while offline 1", "written while offline 2"]
    # a reload shows no duplicates either
    hana.page.reload()
    expect(messages(hana.page)).to_have_count(3)


def test_older_history_loads_on_scroll_up(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    jo, kim = people(unique("jo")), people(unique("kim"))
    total = 120
    with Client(gateway.ws_url) as a, Client(gateway.ws_url) as b:
        a.register(jo.name, PASSWORD)
        b.register(kim.name, PASSWORD)
        for n in range(1, total + 1):
            (a if n % 3 else b).send(kim.name if n % 3 else jo.name, f"message number {n}")
        # all read: opening the conversation lands at the newest (unread ones would fetch
        # older pages up to the first unread; tests/browser/test_rough_edges.py)
        newest = a.history(kim.name, 1)["messages"][0]["id"]
        a.call({"action": "read", "with": kim.name, "up_to": newest}, "read")

    sign_in(jo, gateway.url, path=f"/chat/{kim.name}")
    page = jo.page
    expect(page).to_have_url(re.compile(f"/chat/{kim.name}$"))
    expect(page.locator("#messages .msg-text").last).to_have_text(f"message number {total}")
    first_page = messages(page).count()
    assert 50 <= first_page < total

    thread = page.locator("#thread")
    for _ in range(10):
        if messages(page).count() == total:
            break
        thread.evaluate("el => { el.scrollTop = 0; }")
        page.wait_for_timeout(300)
    expect(messages(page)).to_have_count(total)
    texts = message_texts(page)
    assert texts == [f"message number {n}" for n in range(1, total + 1)]
    expect(page.locator("#thread-top")).to_contain_text("This is the beginning")
    # scrolling up kept the reader where they were rather than jumping to the top
    assert thread.evaluate("el => el.scrollTop") > 0


def test_sign_in_errors_are_shown_in_plain_words(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    taken = unique("lena")
    with Client(gateway.ws_url) as client:
        client.register(taken, PASSWORD)
    visitor = people(taken)
    page = visitor.page
    page.goto(gateway.url + "/")
    screenshot(page, "sign-in")
    error = page.locator("#signin-error")

    page.get_by_label("Username").fill(taken)
    page.get_by_label("Password").fill("another password")
    page.get_by_role("button", name="Create account").click()
    expect(error).to_have_text("That username is already taken. Try another one.")

    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(error).to_contain_text("at least 8 characters")

    for _ in range(5):
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(error).to_have_text("Wrong username or password.")
        expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
        page.evaluate("document.getElementById('signin-error').textContent = ''")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_contain_text("Too many attempts")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_pings_every_five_minutes_to_stay_inside_the_idle_timeout(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    mo = people(unique("mo"))
    page = mo.page
    page.clock.install()
    sockets: list[str] = []
    sent: list[str] = []
    received: list[str] = []

    def track(ws: WebSocket) -> None:
        sockets.append(ws.url)
        ws.on("framesent", lambda payload: sent.append(str(payload)))
        ws.on("framereceived", lambda payload: received.append(str(payload)))

    page.on("websocket", track)
    sign_up(mo, gateway.url)
    pings = lambda: [f for f in sent if '"action":"ping"' in f]  # noqa: E731
    page.clock.fast_forward("04:50")
    assert not pings()
    page.clock.fast_forward("00:15")
    for _ in range(50):
        if pings() and any('"type":"pong"' in f for f in received):
            break
        page.wait_for_timeout(100)
    assert len(pings()) == 1
    assert any('"type":"pong"' in f for f in received)
    # the pong arrived, so the connection is kept: no reconnect after the pong deadline
    page.clock.fast_forward("00:30")
    page.wait_for_timeout(300)
    expect(page.locator("#connection-banner")).to_be_hidden()
    assert len(sockets) == 1
