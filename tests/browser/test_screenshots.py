"""Screenshots of a lived-in conversation: light and dark, desktop and phone, and the README's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from playwright.sync_api import Browser, expect

from tests.browser.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    ROOT,
    Gateway,
    Person,
    messages,
    screenshot,
    sign_in,
)
from tests.browser.wire import Client

CONVERSATION = [
    ("sam", "Morning! Did the deploy go out last night?"),
    ("maya", "It did, around 11. The new table is live and the old one is on read-only."),
    ("maya", "Latency looks fine so far, p99 under 80 ms."),
    ("sam", "Nice. Anything I should watch today?"),
    ("maya", "Just the reconnect graph. If it spikes after 2 pm, ping me."),
    ("sam", "Will do.\nAlso: lunch at the usual place?"),
    ("maya", "Yes! 12:30?"),
]


def test_screenshots_of_a_real_conversation(
    gateway: Gateway, browser: Browser, people: Callable[..., Person]
) -> None:
    maya, sam = "maya", "sam"
    with (
        Client(gateway.ws_url) as m,
        Client(gateway.ws_url) as s,
        Client(gateway.ws_url) as j,
    ):
        m.register(maya, PASSWORD)
        s.register(sam, PASSWORD)
        with Client(gateway.ws_url) as p:
            p.register("priya", PASSWORD)  # offline by the time maya looks
            p.send(maya, "Thanks for the review, merged it.")
        j.register("jordan", PASSWORD)
        last_mine = ""
        for who, text in CONVERSATION:
            if who == maya:
                last_mine = m.send(sam, text)["id"]
            else:
                s.send(maya, text)
        m.call({"action": "edit", "id": last_mine, "text": "Yes! 12:30 works."}, "edited")
        j.send(maya, "Are you joining the planning call?")
        j.send(maya, "We're starting in 5.")

        person = people(maya)
        sign_in(person, gateway.url, path=f"/chat/{sam}")
        expect(messages(person.page)).to_have_count(len(CONVERSATION))
        s.call({"action": "read", "with": maya, "up_to": last_mine}, "read")
        expect(messages(person.page).last).to_have_attribute("data-status", "read")
        expect(messages(person.page).last.locator(".msg-edited")).to_be_visible()
        s.typing(maya)
        expect(person.page.locator("#typing")).to_have_text("sam is typing…")
        person.page.get_by_label("Message").fill("Perfect, see you there")
        person.page.mouse.move(0, 0)
        path = screenshot(person.page, "readme-desktop")
        # the README's picture is refreshed on request, so a test run leaves the tree clean
        if os.environ.get("UPDATE_SCREENSHOT"):
            shutil.copyfile(path, ROOT / "docs" / "screenshot.png")

        for name, scheme, viewport in (
            ("readme-dark-desktop", "dark", DESKTOP),
            ("readme-phone", "light", PHONE),
            ("readme-dark-phone", "dark", PHONE),
        ):
            context = browser.new_context(viewport=viewport, color_scheme=scheme, locale="en-US")
            page = context.new_page()
            viewer = Person(maya, context, page)
            viewer.watch(page)
            # same localStorage origin is per context: sign in again
            sign_in(viewer, gateway.url, path=f"/chat/{sam}")
            expect(messages(page)).to_have_count(len(CONVERSATION))
            screenshot(page, name)
            context.close()
            assert not viewer.errors, viewer.errors
