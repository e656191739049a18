"""Two people chat in real Chromium; a third sees nothing; markup stays text; reloads keep state."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import (
    PHONE,
    Gateway,
    Person,
    message_texts,
    messages,
    open_conversation_via_search,
    screenshot,
    send,
    sign_up,
    unique,
)

XSS = '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'">'


def test_two_people_chat_and_a_third_sees_nothing(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice, gateway.url)
    sign_up(bob, gateway.url)

    open_conversation_via_search(alice, bob.name)
    send(alice, "Hi Bob, lunch at noon?")
    mine = messages(alice.page).last
    expect(mine).to_have_attribute("data-status", re.compile("sent|read"))

    # bob sees the conversation in his list with an unread badge, then opens it
    row = bob.page.locator("#conversation-list").get_by_role("link", name=re.compile(alice.name))
    expect(row).to_contain_text("Hi Bob, lunch at noon?")
    expect(row.locator(".badge")).to_have_text("1")
    expect(row.locator(".avatar-slot")).to_have_class(re.compile("is-online"))
    row.click()
    expect(bob.page).to_have_url(re.compile(f"/chat/{alice.name}$"))
    expect(messages(bob.page)).to_have_count(1)
    expect(row.locator(".badge")).to_be_hidden()
    # bob read it: alice sees the read receipt
    expect(mine).to_have_attribute("data-status", "read")
    expect(mine).to_contain_text("Read")
    # the receipt survives a reload (conversations carry their_read_up_to)
    alice.page.reload()
    mine = messages(alice.page).last
    expect(mine).to_have_attribute("data-status", "read")

    # typing indicator, then a two-line reply (Shift+Enter adds a line)
    box = bob.page.get_by_label("Message")
    box.press_sequentially("Sure")
    expect(alice.page.locator("#typing")).to_have_text(f"{bob.name} is typing…")
    box.press("Shift+Enter")
    box.press_sequentially("see you there")
    bob.page.get_by_role("button", name="Send").click()
    expect(messages(alice.page)).to_have_count(2)
    assert message_texts(alice.page)[-1] == "Sure\nsee you there"
    expect(alice.page.locator("#typing")).to_have_text("")
    expect(alice.page.locator(".day-label").first).to_have_text("Today")
    expect(alice.page.locator("#announcer")).to_contain_text(f"New message from {bob.name}")

    screenshot(alice.page, "chat-desktop")

    # a third person sees nothing of it
    carol = people(unique("carol"))
    sign_up(carol, gateway.url)
    expect(carol.page.locator("#conversations-empty")).to_be_visible()
    expect(carol.page.locator("#conversation-list li")).to_have_count(0)
    carol.page.goto(f"{gateway.url}/chat/{alice.name}")
    expect(carol.page.locator("#thread-top")).to_contain_text("No messages yet")
    expect(messages(carol.page)).to_have_count(0)
    assert "lunch" not in carol.page.content()


def test_markup_is_shown_literally_and_never_runs(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    mallory, victim = people(unique("mallory")), people(unique("victim"))
    sign_up(mallory, gateway.url)
    sign_up(victim, gateway.url)
    open_conversation_via_search(mallory, victim.name)
    send(mallory, XSS)

    victim.page.locator("#conversation-list").get_by_role("link").first.click()
    expect(messages(victim.page)).to_have_count(1)
    for page in (mallory.page, victim.page):
        expect(page.locator("#messages .msg-text")).to_have_text(XSS)
        expect(page.locator("#messages img")).to_have_count(0)
        assert page.evaluate("window.__pwned") is None
        assert page.title() != "pwned"
    preview = victim.page.locator("#conversation-list .conv-preview").first
    expect(preview).to_have_text(XSS)


def test_reload_keeps_the_session_and_the_open_conversation(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    dana, eli = people(unique("dana")), people(unique("eli"))
    sign_up(dana, gateway.url)
    sign_up(eli, gateway.url)
    open_conversation_via_search(dana, eli.name)
    send(dana, "still here after a reload?")

    dana.page.reload()
    expect(dana.page).to_have_url(re.compile(f"/chat/{eli.name}$"))
    expect(dana.page.get_by_role("heading", name=eli.name)).to_be_visible()
    expect(dana.page.locator("#messages .msg-text")).to_have_text(["still here after a reload?"])
    expect(dana.page.get_by_role("button", name="Sign out")).to_be_visible()

    # a new tab of the same browser is signed in too, and the back link leads to the list
    tab = dana.context.new_page()
    dana.watch(tab)
    tab.goto(gateway.url + "/")
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    expect(tab.locator("#conversation-list")).to_contain_text(eli.name)
    tab.close()

    # signing out forgets the session here and revokes it on the server
    token = dana.page.evaluate("localStorage.getItem('chat.token')")
    assert token
    dana.page.get_by_role("button", name="Sign out").click()
    expect(dana.page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(dana.page).to_have_url(re.compile(r"/$"))
    dana.page.reload()
    expect(dana.page.get_by_role("button", name="Sign in")).to_be_visible()
    assert dana.page.evaluate("localStorage.getItem('chat.token')") is None

    # an old token gets a plain-words message and the sign-in form
    dana.page.evaluate(
        "([u, t]) => { localStorage.setItem('chat.username', u);"
        " localStorage.setItem('chat.token', t); }",
        [dana.name, token],
    )
    dana.page.goto(f"{gateway.url}/chat/{eli.name}")
    expect(dana.page.locator("#signin-notice")).to_have_text(
        "Your session has ended: it expired or was signed out. Sign in again."
    )
    expect(dana.page.locator("#signin-error")).to_be_empty()
    expect(dana.page.get_by_label("Username")).to_be_visible()
    expect(dana.page).to_have_url(re.compile(f"/chat/{eli.name}$"))
    assert dana.page.evaluate("localStorage.getItem('chat.token')") is None


def test_phone_width_shows_one_pane_at_a_time(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    finn = people(unique("finn"), viewport=PHONE)
    gia = people(unique("gia"))
    sign_up(finn, gateway.url)
    sign_up(gia, gateway.url)
    screenshot(finn.page, "phone-list-empty")
    open_conversation_via_search(gia, finn.name)
    send(gia, "Hello from a wide screen! This line is long enough to wrap on a phone.")

    page = finn.page
    page.locator("#conversation-list").get_by_role("link").first.click()
    expect(page.get_by_label("Find user")).to_be_hidden()
    expect(messages(page)).to_have_count(1)
    send(finn, "And hello from a phone.")
    expect(messages(page)).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide at {PHONE['width']}px"
    screenshot(page, "chat-phone")
    page.get_by_role("link", name="Back to conversations").click()
    expect(page.get_by_label("Find user")).to_be_visible()
    screenshot(page, "phone-list")
