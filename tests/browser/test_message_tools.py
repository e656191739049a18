"""Edit, delete, react and block in real Chromium, seen live by the other person and after a
reload; links open safely and javascript: URLs stay text."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    PHONE,
    Gateway,
    Person,
    messages,
    open_conversation_via_search,
    screenshot,
    send,
    sign_up,
    unique,
)


def row(page: Page, text: str) -> Locator:
    return messages(page).filter(has_text=text)


def button(scope: Page | Locator, name: str) -> Locator:
    return scope.get_by_role("button", name=name, exact=True)


def chat_pair(
    gateway: Gateway, people: Callable[..., Person], **kw: object
) -> tuple[Person, Person]:
    alice, bob = people(unique("alice"), **kw), people(unique("bob"))
    sign_up(alice, gateway.url)
    sign_up(bob, gateway.url)
    open_conversation_via_search(alice, bob.name)
    open_conversation_via_search(bob, alice.name)
    return alice, bob


def test_edit_and_delete_live_and_after_reload(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice, bob = chat_pair(gateway, people)
    send(alice, "Lunch at noon?")
    send(alice, "Never mind this one")
    expect(row(bob.page, "Never mind this one")).to_have_count(1)

    # bob's side offers no Edit/Delete on alice's messages
    theirs = row(bob.page, "Lunch at noon?")
    theirs.hover()
    expect(button(theirs, "Edit message")).to_have_count(0)
    expect(button(theirs, "React")).to_be_visible()

    # edit: the text goes into the Message box, Save and Cancel; Escape cancels
    mine = row(alice.page, "Lunch at noon?")
    mine.hover()
    button(mine, "Edit message").click()
    box = alice.page.get_by_label("Message")
    expect(box).to_have_value("Lunch at noon?")
    expect(box).to_be_focused()
    expect(button(alice.page, "Save")).to_be_visible()
    expect(button(alice.page, "Cancel")).to_be_visible()
    box.press("Escape")
    expect(box).to_have_value("")
    expect(button(alice.page, "Send")).to_be_visible()
    expect(button(alice.page, "Cancel")).to_be_hidden()

    mine.hover()
    button(mine, "Edit message").click()
    box.fill("Lunch at one?")
    button(alice.page, "Save").click()
    expect(box).to_have_value("")
    edited = row(alice.page, "Lunch at one?")
    expect(edited.locator(".msg-edited")).to_have_text("edited")
    expect(edited.locator(".msg-edited")).to_be_visible()
    theirs = row(bob.page, "Lunch at one?")
    expect(theirs.locator(".msg-edited")).to_be_visible()
    expect(row(bob.page, "Lunch at noon?")).to_have_count(0)

    # delete: asks first, then a tombstone on both sides
    gone = row(alice.page, "Never mind this one")
    gone.hover()
    button(gone, "Delete message").click()
    confirm = button(alice.page, "Delete for everyone")
    expect(confirm).to_be_focused()
    screenshot(alice.page, "delete-confirmation")
    confirm.click()
    expect(row(alice.page, "This message was deleted")).to_have_count(1)
    expect(row(bob.page, "This message was deleted")).to_have_count(1)
    expect(row(bob.page, "Never mind this one")).to_have_count(0)
    tomb = row(bob.page, "This message was deleted")
    expect(button(tomb, "React")).to_have_count(0)

    # the same after a reload, on both sides
    for person in (alice, bob):
        person.page.reload()
        expect(row(person.page, "This message was deleted")).to_have_count(1)
        expect(row(person.page, "Lunch at one?").locator(".msg-edited")).to_be_visible()
        expect(row(person.page, "Never mind this one")).to_have_count(0)
    preview = bob.page.locator("#conversation-list").get_by_role(
        "link", name=re.compile(alice.name)
    )
    expect(preview).not_to_contain_text("Never mind")
    expect(preview).to_contain_text("This message was deleted")
    screenshot(bob.page, "edited-and-deleted")


def test_react_and_unreact_live_and_after_reload(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice, bob = chat_pair(gateway, people)
    send(alice, "Got the tickets!")
    theirs = row(bob.page, "Got the tickets!")
    theirs.hover()
    button(theirs, "React").click()
    picker = theirs.get_by_role("group", name="Pick a reaction")
    for emoji in ["👍", "❤️", "😂", "😮", "😢", "🙏"]:
        expect(button(picker, emoji)).to_be_visible()
    expect(button(picker, "👍")).to_be_focused()
    screenshot(bob.page, "reaction-picker")
    # Escape closes the picker, focus back on React
    bob.page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(button(theirs, "React")).to_be_focused()
    button(theirs, "React").click()
    button(theirs, "❤️").click()

    chip_bob = theirs.locator(".chip")
    expect(chip_bob).to_have_text("❤️1")
    expect(chip_bob).to_have_attribute("aria-pressed", "true")
    mine = row(alice.page, "Got the tickets!")
    expect(mine.locator(".chip")).to_have_text("❤️1")
    expect(mine.locator(".chip")).to_have_attribute("aria-pressed", "false")

    # alice adds the same: a count of two
    mine.locator(".chip").click()
    expect(mine.locator(".chip")).to_have_text("❤️2")
    expect(chip_bob).to_have_text("❤️2")

    for person in (alice, bob):
        person.page.reload()
        expect(row(person.page, "Got the tickets!").locator(".chip")).to_have_text("❤️2")

    # bob clicks his own chip: it goes down to alice's one, live and after reload
    theirs = row(bob.page, "Got the tickets!")
    theirs.locator(".chip").click()
    expect(theirs.locator(".chip")).to_have_text("❤️1")
    expect(theirs.locator(".chip")).to_have_attribute("aria-pressed", "false")
    expect(row(alice.page, "Got the tickets!").locator(".chip")).to_have_text("❤️1")
    alice_row = row(alice.page, "Got the tickets!")
    alice_row.locator(".chip").click()
    expect(alice_row.locator(".chip")).to_have_count(0)
    expect(row(bob.page, "Got the tickets!").locator(".chip")).to_have_count(0)
    bob.page.reload()
    expect(row(bob.page, "Got the tickets!").locator(".chip")).to_have_count(0)


def test_block_and_unblock_live_and_after_reload(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice, bob = chat_pair(gateway, people)
    carol = people(unique("carol"))
    sign_up(carol, gateway.url)
    open_conversation_via_search(carol, alice.name)
    send(bob, "hello alice")
    expect(row(alice.page, "hello alice")).to_have_count(1)

    button(alice.page.locator("#conversation-actions"), "Block").click()
    question = alice.page.get_by_role("group", name=re.compile(f"Block {bob.name}"))
    expect(question).to_be_visible()
    screenshot(alice.page, "block-confirmation")
    # Cancel keeps things as they were
    button(question, "Cancel").click()
    expect(alice.page.get_by_label("Message")).to_be_visible()
    button(alice.page.locator("#conversation-actions"), "Block").click()
    expect(button(alice.page, "Block")).to_be_focused()
    button(alice.page, "Block").click()

    expect(button(alice.page, "Unblock")).to_be_visible()
    expect(alice.page.locator("#conversation-notice")).to_contain_text(f"You blocked {bob.name}")
    expect(alice.page.get_by_label("Message")).to_be_hidden()

    # bob is not told; what he sends does not reach alice, while carol's does
    send(bob, "are you there?")
    send(carol, "hi from carol")
    carol_row = alice.page.locator("#conversation-list").get_by_role(
        "link", name=re.compile(carol.name)
    )
    expect(carol_row).to_contain_text("hi from carol")
    expect(row(alice.page, "are you there?")).to_have_count(0)

    alice.page.reload()
    expect(button(alice.page, "Unblock")).to_be_visible()
    expect(alice.page.get_by_label("Message")).to_be_hidden()
    expect(row(alice.page, "are you there?")).to_have_count(0)

    button(alice.page, "Unblock").click()
    expect(button(alice.page.locator("#conversation-actions"), "Block")).to_be_visible()
    expect(alice.page.get_by_label("Message")).to_be_visible()
    send(bob, "back again")
    expect(row(alice.page, "back again")).to_have_count(1)
    alice.page.reload()
    expect(button(alice.page.locator("#conversation-actions"), "Block")).to_be_visible()
    expect(row(alice.page, "back again")).to_have_count(1)


def test_tools_are_reachable_by_touch_on_a_phone(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice = people(unique("alice"), viewport=PHONE)
    alice.context.close()
    browser = alice.context.browser
    assert browser
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    alice.context, alice.page = context, context.new_page()
    alice.watch(alice.page)
    bob = people(unique("bob"))
    sign_up(alice, gateway.url)
    sign_up(bob, gateway.url)
    open_conversation_via_search(alice, bob.name)
    alice.page.get_by_label("Message").fill("from my phone")
    button(alice.page, "Send").tap()  # on a touch screen Enter adds a line
    mine = row(alice.page, "from my phone")
    for name in ("React", "Edit message", "Delete message"):
        tool = button(mine, name)
        expect(tool).to_be_visible()
        assert tool.evaluate("el => getComputedStyle(el.closest('.msg-tools')).opacity") == "1"
        box = tool.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44, (name, box)
    button(mine, "React").tap()
    button(mine, "👍").tap()
    expect(mine.locator(".chip")).to_have_text("👍1")
    block = button(alice.page.locator("#conversation-actions"), "Block")
    box = block.bounding_box()
    assert box and box["height"] >= 44
    screenshot(alice.page, "message-tools-phone")


def test_links_open_safely_and_javascript_is_not_a_link(
    gateway: Gateway, people: Callable[..., Person]
) -> None:
    alice, bob = chat_pair(gateway, people)
    send(alice, "See https://example.org/a?b=1. and javascript:alert(1) or http://x.test/p")
    mine = row(bob.page, "See https://example.org")
    links = mine.locator("a")
    expect(links).to_have_count(2)
    first = links.first
    expect(first).to_have_attribute("href", "https://example.org/a?b=1")
    expect(first).to_have_text("https://example.org/a?b=1")
    expect(first).to_have_attribute("target", "_blank")
    expect(first).to_have_attribute("rel", "noopener noreferrer")
    expect(links.nth(1)).to_have_attribute("href", "http://x.test/p")
    expect(mine.locator(".msg-text")).to_contain_text("javascript:alert(1)")
    assert mine.locator("a[href^='javascript']").count() == 0
