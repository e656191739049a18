"""The conversation view without rough edges (issue 13): no page scroll, Enter in Find user,
"New messages" and the unread divider, focus after every view change, Enter on a touch
screen, /chat/<nobody>, failed sends, landmarks, ticks and tap targets. Screenshots of the
new states go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Gateway,
    Person,
    expect_signed_in,
    messages,
    screenshot,
    send,
    serve_a_larger_limit,
    sign_in,
    sign_up,
    unique,
)
from tests.browser.wire import Client

focused_id = "() => document.activeElement && document.activeElement.id"


def seed(gateway: Gateway, me: str, peer: str, total: int, unread: int = 0) -> None:
    """`total` messages between me and peer (every third from peer, then `unread` more
    from peer that I have not read)."""
    with Client(gateway.ws_url) as a, Client(gateway.ws_url) as b:
        a.register(me, PASSWORD)
        b.register(peer, PASSWORD)
        for n in range(1, total + 1):
            (b if n % 3 == 0 else a).send(me if n % 3 == 0 else peer, f"message number {n}")
        newest = a.history(peer, 1)["messages"][0]["id"]
        a.call({"action": "read", "with": peer, "up_to": newest}, "read")
        for n in range(1, unread + 1):
            b.send(me, f"unread number {n}")


def seeded_person(
    gateway: Gateway,
    people: Callable[..., Person],
    total: int,
    *,
    unread: int = 0,
    viewport: dict[str, int] = DESKTOP,
    path: str = "/",
) -> tuple[Person, str]:
    """A person signed in (at `path`, "{peer}" filled in) after `seed`; and the peer."""
    me, peer = unique("me"), unique("peer")
    seed(gateway, me, peer, total, unread)
    person = people(me, viewport=viewport)
    sign_in(person, gateway.url, path=path.format(peer=peer))
    return person, peer


def page_height(page: Page) -> tuple[int, int]:
    height, viewport = page.evaluate("[document.scrollingElement.scrollHeight, window.innerHeight]")
    return height, viewport


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_page_never_scrolls_only_the_lists_and_the_thread_do(
    gateway: Gateway, people: Callable[..., Person], viewport: dict[str, int]
) -> None:
    total = 300
    person, _ = seeded_person(gateway, people, total, viewport=viewport, path="/chat/{peer}")
    page = person.page
    expect(messages(page).last).to_contain_text(f"message number {total}")
    # scroll the thread to its top until every page is loaded
    while messages(page).count() < total:
        count = messages(page).count()
        page.locator("#thread").evaluate("el => { el.scrollTop = 0; }")
        expect(messages(page)).not_to_have_count(count)
    assert page_height(page) == (viewport["height"], viewport["height"])
    # the wheel over the header and the message box moves nothing
    for target in ("#peer-name", "#message"):
        page.locator(target).hover()
        page.mouse.wheel(0, 2000)
    page.wait_for_timeout(100)
    assert page.evaluate("window.scrollY") == 0
    thread = page.locator("#thread")
    assert thread.evaluate("el => el.scrollHeight > el.clientHeight")
    if viewport is PHONE:
        page.get_by_role("link", name="Back to conversations").click()
        expect(page.get_by_label("Find user")).to_be_visible()
        assert page_height(page) == (viewport["height"], viewport["height"])


def test_enter_in_find_user_opens_the_chat_and_leaves_the_message_box_alone(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    ann, ben = people(unique("ann")), people(unique("ben"))
    sign_up(ann, gateway.url)
    sign_up(ben, gateway.url)
    page = ann.page
    find = page.get_by_label("Find user")
    find.fill(ben.name)
    found = page.locator("#search-results").get_by_role("link", name=re.compile(ben.name))
    expect(found).to_be_visible()
    find.press("Enter")
    expect(page).to_have_url(re.compile(f"/chat/{ben.name}$"))
    box = page.get_by_label("Message")
    expect(box).to_be_focused()
    expect(box).to_have_value("")
    box.press_sequentially("first line")
    box.press("Enter")
    expect(page.locator("#messages .msg-text")).to_have_text(["first line"])

    # Enter before the search answers opens the name typed
    page.goto(gateway.url + "/")
    expect_signed_in(page)
    find.fill(ben.name)
    find.press("Enter")
    expect(page).to_have_url(re.compile(f"/chat/{ben.name}$"))
    expect(box).to_have_value("")


def test_unread_divider_and_the_new_messages_button(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    # the first unread is beyond the first page
    person, peer = seeded_person(gateway, people, 60, unread=70)
    me = person.name
    page = person.page
    row = page.locator("#conversation-list").get_by_role("link", name=re.compile(peer))
    expect(row.locator(".badge")).to_have_text("70")
    row.click()
    divider = page.locator("#unread-divider")
    expect(divider).to_have_text("Unread messages")
    expect(divider).to_be_in_viewport()
    first_unread = page.locator("#unread-divider + li.msg .msg-text")
    expect(first_unread).to_have_text("unread number 1")
    expect(first_unread).to_be_in_viewport()
    expect(page.locator("#new-messages")).to_be_hidden()
    screenshot(page, "rough-unread-divider")

    # scrolled up, a new message arrives: the button shows; it leads to the newest
    with Client(gateway.ws_url) as b:
        b.login(peer, PASSWORD)
        b.send(me, "are you there?")
    button = page.get_by_role("button", name="New messages")
    expect(button).to_be_visible()
    newest = messages(page).last
    expect(newest).to_contain_text("are you there?")
    expect(newest).not_to_be_in_viewport()
    screenshot(page, "rough-new-messages")
    button.click()
    expect(newest).to_be_in_viewport()
    expect(button).to_be_hidden()
    expect(page.locator("#thread")).to_be_focused()

    # at the bottom, the next one needs no button
    with Client(gateway.ws_url) as b:
        b.login(peer, PASSWORD)
        b.send(me, "ok, later")
    expect(messages(page).last).to_be_in_viewport()
    expect(button).to_be_hidden()
    # leaving and coming back: everything is read, no divider
    page.goto(f"{gateway.url}/")
    expect_signed_in(page)
    page.locator("#conversation-list").get_by_role("link", name=re.compile(peer)).click()
    expect(messages(page).last).to_contain_text("ok, later")
    expect(divider).to_have_count(0)


def test_focus_follows_sign_in_and_every_view_change_on_a_phone(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    person, peer = seeded_person(gateway, people, 3, viewport=PHONE)
    page = person.page
    expect(page.get_by_label("Find user")).to_be_focused()
    page.locator("#conversation-list").get_by_role("link", name=re.compile(peer)).click()
    expect(page.get_by_role("heading", name=peer, exact=True)).to_be_focused()
    page.get_by_role("link", name="Back to conversations").click()
    row = page.locator("#conversation-list").get_by_role("link", name=re.compile(peer))
    expect(row).to_be_focused()
    page.go_back()
    expect(page.get_by_role("heading", name=peer, exact=True)).to_be_focused()


def test_focus_after_sign_in_on_a_conversation_is_the_message_box(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    person, _ = seeded_person(gateway, people, 3, path="/chat/{peer}")
    expect(person.page.get_by_label("Message")).to_be_focused()


def test_on_a_touch_screen_enter_adds_a_line_and_send_sends(
    gateway: Gateway, browser: Browser, people: Callable[..., Person]
) -> None:
    me, peer = unique("sol"), unique("tex")
    seed(gateway, me, peer, 1)
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="en-US")
    page = context.new_page()
    phone = Person(me, context, page)
    phone.watch(page)
    try:
        sign_in(phone, gateway.url, path=f"/chat/{peer}")
        assert page.evaluate("matchMedia('(pointer: coarse)').matches")
        box = page.get_by_label("Message")
        expect(box).to_have_attribute("enterkeyhint", "enter")
        hint = page.locator("#composer-hint")
        expect(hint).to_have_text("Enter adds a line; the Send button sends.")
        box.press_sequentially("two")
        box.press("Enter")
        box.press_sequentially("lines")
        expect(box).to_have_value("two\nlines")
        page.get_by_role("button", name="Send").tap()
        expect(page.locator("#messages .msg-text").last).to_have_text("two\nlines")
        expect(box).to_have_value("")
    finally:
        context.close()
    assert not phone.errors, phone.errors

    desktop = people(me)
    sign_in(desktop, gateway.url, path=f"/chat/{peer}")
    expect(desktop.page.get_by_label("Message")).to_have_attribute("enterkeyhint", "send")
    hint = desktop.page.locator("#composer-hint")
    expect(hint).to_have_text("Enter sends, Shift+Enter adds a line.")


def test_a_chat_with_nobody_says_so(gateway: Gateway, people: Callable[..., Person]) -> None:
    person = people(unique("uma"))
    sign_up(person, gateway.url)
    page = person.page
    nobody = unique("nobody")
    page.goto(f"{gateway.url}/chat/{nobody}")
    expect(page.locator("#no-such-user")).to_have_text(
        f"There is no one with the username {nobody}. Check the spelling, or use Find user."
    )
    expect(page.locator("#peer-status")).to_have_text("No such user")
    expect(page.get_by_label("Message")).to_be_hidden()
    expect(page.locator("#thread-top")).to_have_text("")
    expect(page.get_by_role("heading", name=nobody, exact=True)).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(f"There is no one with the username {nobody}.")
    screenshot(page, "rough-no-such-user")
    # a real person with no messages yet is not mistaken for nobody
    real = people(unique("vic"))
    sign_up(real, gateway.url)
    page.goto(f"{gateway.url}/chat/{real.name}")
    expect(page.locator("#thread-top")).to_have_text(f"No messages yet. Say hello to {real.name}!")
    expect(page.get_by_label("Message")).to_be_visible()
    expect(page.locator("#no-such-user")).to_be_hidden()


def test_a_send_the_server_refuses_fails_clearly_and_can_be_dismissed(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    """A client with an older config (a larger limit) than the server: the server's
    `too_large` is final, so there is no Retry, only Dismiss."""
    writer, reader = people(unique("wes")), people(unique("xia"))
    sign_up(writer, gateway.url)
    sign_up(reader, gateway.url)
    page = writer.page
    serve_a_larger_limit(page, 100)
    page.goto(f"{gateway.url}/chat/{reader.name}")
    limit = page.evaluate("window.CHAT_CONFIG.maxText") - 100
    box = page.get_by_label("Message")
    box.fill("y" * (limit + 1))
    box.press("Enter")
    failed = messages(page).last
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed).to_contain_text("Not sent: That message is too long.")
    expect(failed.get_by_role("button", name="Retry")).to_have_count(0)
    dismiss = failed.get_by_role("button", name="Dismiss")
    expect(dismiss).to_be_visible()
    expect(page.get_by_label("Message")).to_have_count(1)  # the fixed label stays unique
    expect(page.locator("#announcer")).to_have_text(
        f"Message to {reader.name} not sent: That message is too long. You can dismiss it."
    )
    screenshot(page, "rough-failed-send")
    dismiss.click()
    expect(messages(page)).to_have_count(0)
    expect(box).to_be_focused()
    expect(page.locator("#conversation-list li")).to_have_count(0)


def test_landmarks_headings_ticks_and_tap_targets(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    person, peer = seeded_person(gateway, people, 5, viewport=PHONE)
    page = person.page
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert_tap_targets(page, "list")
    page.locator("#conversation-list").get_by_role("link", name=re.compile(peer)).click()
    send(person, "ticks please")
    expect(page.get_by_role("log", name=f"Conversation history with {peer}")).to_be_visible()
    mine = messages(page).last
    expect(mine).to_have_attribute("data-status", "sent")
    expect(mine.locator(".msg-tick")).to_have_text("✓")
    expect(mine.locator(".msg-tick")).to_have_attribute("aria-hidden", "true")
    expect(mine.locator(".msg-status")).to_have_text("Sent")
    # what a screen reader gets: words, no check marks
    assert "✓" not in page.get_by_role("log").aria_snapshot()
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert_tap_targets(page, "conversation")


def assert_tap_targets(page: Page, view: str) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input, textarea, [tabindex="0"]')]
          .filter((el) => el.checkVisibility())
          .map((el) => [el.id || el.className || el.tagName, el.getBoundingClientRect()])
          .filter(([, r]) => r.width < 44 || r.height < 44)
          .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    assert not small, f"tap targets under 44px on a phone ({view}): {small}"
