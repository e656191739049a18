"""axe-core finds no serious or critical violation on sign-in, the conversation list and an
open conversation, in light and dark mode, on a desktop and a phone; screenshots of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import axe_violations, describe, require_axe
from tests.browser.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Gateway,
    Person,
    expect_signed_in,
    messages,
    screenshot,
    serve_a_larger_limit,
    unique,
)
from tests.browser.wire import Client


@dataclass
class Seeded:
    me: str
    peer: str
    other: str


@pytest.fixture
def seeded(gateway: Gateway) -> Seeded:
    """A lived-in account (fresh for each test: opening it reads it): two conversations,
    messages both ways, read and unread."""
    me, peer, other = unique("axe"), unique("peer"), unique("pal")
    with Client(gateway.ws_url) as m, Client(gateway.ws_url) as p, Client(gateway.ws_url) as o:
        m.register(me, PASSWORD)
        p.register(peer, PASSWORD)
        o.register(other, PASSWORD)
        p.send(me, "Morning! Did the deploy go out?")
        mine = m.send(peer, "It did, around 11. Latency looks fine.")["id"]
        p.call({"action": "read", "with": me, "up_to": mine}, "read")
        m.send(peer, "Watch the reconnect graph after 2 pm, please.")
        p.send(me, "Will do.\nLunch at the usual place?")
        o.send(me, "Are you joining the planning call?")
    return Seeded(me, peer, other)


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["desktop", "phone"])
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def viewer(browser: Browser, scheme: str, device: str) -> Iterator[Person]:
    require_axe()
    context = browser.new_context(
        viewport=DESKTOP if device == "desktop" else PHONE,
        color_scheme=scheme,  # type: ignore[arg-type]
        locale="en-US",
        bypass_csp=True,  # axe is injected as a script
    )
    page = context.new_page()
    person = Person("viewer", context, page)
    person.watch(page)
    yield person
    context.close()
    assert not person.errors, person.errors


def check(page: Page, name: str) -> None:
    page.mouse.move(0, 0)
    screenshot(page, name)
    found = axe_violations(page)
    assert not found, f"{name}:\n{describe(found)}"


def test_no_serious_axe_violations(
    viewer: Person, gateway: Gateway, seeded: Seeded, scheme: str, device: str
) -> None:
    page = viewer.page
    page.goto(gateway.url + "/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    check(page, f"a11y-signin-{scheme}-{device}")

    page.get_by_label("Username").fill(seeded.me)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect_signed_in(page)
    rows = page.locator("#conversation-list li")
    expect(rows).to_have_count(2)
    expect(rows.first.locator(".badge")).to_be_visible()
    check(page, f"a11y-list-{scheme}-{device}")

    page.locator("#conversation-list").get_by_role("link", name=seeded.peer).click()
    expect(messages(page)).to_have_count(4)
    expect(page.locator("#unread-divider")).to_be_visible()
    expect(messages(page).nth(1)).to_have_attribute("data-status", "read")
    page.get_by_label("Message").fill("Perfect, see you there")
    check(page, f"a11y-conversation-{scheme}-{device}")


def test_no_serious_axe_violations_in_the_new_states(
    viewer: Person, gateway: Gateway, seeded: Seeded, scheme: str, device: str
) -> None:
    """/chat/<nobody>, the length counter and a failed send (the client's config allows
    more than the server's, so the server refuses it)."""
    page = viewer.page
    serve_a_larger_limit(page, 100)
    page.goto(f"{gateway.url}/chat/{unique('nobody')}")
    page.get_by_label("Username").fill(seeded.me)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#no-such-user")).to_be_visible()
    check(page, f"a11y-no-such-user-{scheme}-{device}")

    page.goto(f"{gateway.url}/chat/{seeded.peer}")
    expect(messages(page)).to_have_count(4)
    limit = page.evaluate("window.CHAT_CONFIG.maxText") - 100
    box = page.get_by_label("Message")
    box.fill("z" * (limit + 1))
    expect(page.locator("#composer-count")).to_be_visible()
    box.press("Enter")
    expect(messages(page).last).to_have_attribute("data-status", "failed")
    box.fill("z" * (limit + 101))
    expect(page.locator("#composer-count")).to_have_text("1 character too many")
    check(page, f"a11y-failed-and-counter-{scheme}-{device}")


def test_no_serious_axe_violations_in_the_account_dialog_and_signed_out_notice(
    viewer: Person, gateway: Gateway, seeded: Seeded, scheme: str, device: str
) -> None:
    """The Account dialog (as opened, with an error, asking to sign out everywhere) and the
    sign-in screen saying why this device was signed out."""
    page = viewer.page
    page.goto(gateway.url + "/")
    page.get_by_label("Username").fill(seeded.me)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect_signed_in(page)
    page.get_by_role("button", name="Account").click()
    dialog = page.get_by_role("dialog", name="Account")
    expect(dialog).to_be_visible()
    check(page, f"a11y-account-{scheme}-{device}")

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill("battery staple horse")
    dialog.get_by_role("button", name="Change password").click()
    expect(page.locator("#change-password-error")).to_have_text(
        "Your current password is not right."
    )
    dialog.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    check(page, f"a11y-account-error-confirm-{scheme}-{device}")

    page.get_by_role("button", name="Cancel").click()
    with Client(gateway.ws_url) as other:
        other.login(seeded.me, PASSWORD)
        other.call({"action": "logout_all"}, "bye")
    expect(page.locator("#signin-notice")).to_have_text(
        "You were signed out on all your devices. Sign in again."
    )
    check(page, f"a11y-signed-out-notice-{scheme}-{device}")


def test_no_serious_axe_violations_with_message_tools(
    viewer: Person, gateway: Gateway, seeded: Seeded, scheme: str, device: str
) -> None:
    """An open conversation with reactions, an edited and a deleted message; the reaction
    picker open; the delete question; the block question and a blocked conversation."""
    with Client(gateway.ws_url) as m, Client(gateway.ws_url) as p:
        m.login(seeded.me, PASSWORD)
        p.login(seeded.peer, PASSWORD)
        typo = m.send(seeded.peer, "See you at 12:03")["id"]
        fixed = "See you at 12:30, https://example.org/map"
        m.call({"action": "edit", "id": typo, "text": fixed}, "edited")
        oops = m.send(seeded.peer, "wrong chat, sorry")["id"]
        m.call({"action": "delete", "id": oops}, "deleted")
        theirs = p.send(seeded.me, "Great, booked a table.")["id"]
        p.call({"action": "react", "id": typo, "emoji": "👍"}, "reaction")
        m.call({"action": "react", "id": theirs, "emoji": "❤️"}, "reaction")
    page = viewer.page
    page.goto(f"{gateway.url}/chat/{seeded.peer}")
    page.get_by_label("Username").fill(seeded.me)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(messages(page)).to_have_count(7)
    expect(page.locator(".chip")).to_have_count(2)
    expect(page.locator(".msg-edited:visible")).to_have_count(1)
    expect(messages(page).filter(has_text="This message was deleted")).to_have_count(1)
    check(page, f"a11y-tools-{scheme}-{device}")

    booked = messages(page).filter(has_text="Great, booked a table.")
    booked.get_by_role("button", name="React", exact=True).click()
    expect(booked.get_by_role("group", name="Pick a reaction")).to_be_visible()
    check(page, f"a11y-picker-{scheme}-{device}")
    page.keyboard.press("Escape")

    mine = messages(page).filter(has_text="See you at 12:30")
    mine.get_by_role("button", name="Delete message", exact=True).click()
    expect(page.get_by_role("button", name="Delete for everyone")).to_be_focused()
    check(page, f"a11y-delete-question-{scheme}-{device}")
    page.keyboard.press("Escape")

    page.locator("#conversation-actions").get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_role("button", name="Block", exact=True)).to_be_focused()
    check(page, f"a11y-block-question-{scheme}-{device}")
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_role("button", name="Unblock", exact=True)).to_be_visible()
    check(page, f"a11y-blocked-{scheme}-{device}")
    page.get_by_role("button", name="Unblock", exact=True).click()
    block = page.locator("#conversation-actions").get_by_role("button", name="Block", exact=True)
    expect(block).to_be_visible()
