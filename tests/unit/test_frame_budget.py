"""Issue 11, item 1: every reply fits the frame budget by construction.

The core on MemoryStore: ``history`` pages of 100 of the largest possible
messages (4,000 characters that each escape to 6 bytes in JSON; 4-byte emoji),
``conversations`` paged by ``{limit, before}`` and cut to the budget with 1,000
partners whose last messages are that large; a hypothesis property that random
histories and conversation sets never give a frame over the budget; the
budget's setting.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import budget
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.ids import MessageIds, iso_timestamp
from chalicelib.model import Message, SaveOutcome, User
from chalicelib.settings import Settings
from chalicelib.store.memory import MemoryStore

from .conftest import Clock, Driver

# the largest texts: 6 bytes per character in JSON, and 4 bytes per character in UTF-8
ESCAPED = "\x01" * 4000
EMOJI = "\U0001f600" * 4000
LONGEST_CLIENT_ID = "\x01" * 64


def populate(store: MemoryStore, clock: Clock, sends: list[tuple[str, str, str]]) -> None:
    """Stores (sender, recipient, text) messages straight into the store, creating users."""
    ids = MessageIds()
    for sender, recipient, _ in sends:
        for name in (sender, recipient):
            store.create_user(User(name, "unused-hash", clock.now))
    for n, (sender, recipient, text) in enumerate(sends):
        clock.advance(0.001)
        message = Message(
            ids(clock.now), sender, recipient, text, iso_timestamp(clock.now),
            f"{LONGEST_CLIENT_ID[:60]}{n:04d}",
        )
        assert store.save_message(message, 3600, now=clock.now).outcome is SaveOutcome.STORED


def fits(frame: dict[str, Any], limit: int = budget.DEFAULT_BUDGET) -> bool:
    return budget.size(frame) <= limit


@pytest.mark.parametrize("text", [ESCAPED, EMOJI], ids=["escaped", "emoji"])
def test_history_pages_of_the_largest_messages_fit_and_page_through_all(
    driver: Driver, store: MemoryStore, clock: Clock, text: str
) -> None:
    driver.sign_up("a1", "alice")
    populate(store, clock, [("bob", "alice", text)] * 100)
    seen: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        frame: dict[str, Any] = {"action": "history", "with": "bob", "limit": 100}
        if before:
            frame["before"] = before
        reply = driver.send("a1", **frame)
        pages += 1
        assert reply["type"] == "history" and fits(reply), budget.size(reply)
        assert reply["messages"], "a page that says more must hold something"
        seen[:0] = [m["id"] for m in reply["messages"]]
        if not reply["more"]:
            break
        before = reply["messages"][0]["id"]
    stored, _ = store.history("alice", "bob", None, 100)
    assert seen == [m.id for m in stored]  # every message once, oldest first
    assert pages > 1  # the budget, not the limit, cut the pages


def test_a_history_page_that_fits_is_not_cut(
    driver: Driver, store: MemoryStore, clock: Clock
) -> None:
    driver.sign_up("a1", "alice")
    populate(store, clock, [("bob", "alice", "short")] * 30)
    reply = driver.send("a1", action="history", **{"with": "bob", "limit": 100})
    assert len(reply["messages"]) == 30 and reply["more"] is False


def test_history_more_is_set_when_the_budget_cut_the_page(
    store: MemoryStore, clock: Clock
) -> None:
    chat = Chat(
        store,
        ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1), frame_budget=30_000),
        clock=clock,
    )
    driver = Driver(chat)
    driver.sign_up("a1", "alice")
    populate(store, clock, [("bob", "alice", ESCAPED)] * 3)
    reply = driver.send("a1", action="history", **{"with": "bob"})
    assert len(reply["messages"]) == 1 and reply["more"] is True
    newest, _ = store.history("alice", "bob", None, 1)
    assert reply["messages"][0]["id"] == newest[0].id  # the newest that fit
    assert budget.size(reply) <= 30_000


def test_a_budget_too_small_for_one_item_still_never_gives_an_empty_page(
    store: MemoryStore, clock: Clock
) -> None:
    """Settings refuses such a budget; the core still never answers an empty page
    that says more (which would stall a client), it lets delivery refuse the size."""
    chat = Chat(
        store, ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1), frame_budget=1000), clock=clock
    )
    driver = Driver(chat)
    driver.sign_up("a1", "alice")
    populate(store, clock, [("bob", "alice", "x" * 2000)] * 2)
    history = driver.send("a1", action="history", **{"with": "bob"})
    assert len(history["messages"]) == 1 and history["more"] is True
    listing = driver.send("a1", action="conversations")
    assert len(listing["items"]) == 1 and listing["more"] is False


def partners(count: int, text: str) -> list[tuple[str, str, str]]:
    return [(f"p{n:04d}", "alice", text) for n in range(count)]


def page_conversations(driver: Driver, limit: int | None = None) -> list[dict[str, Any]]:
    """Every conversation, page by page, checking each reply's fields and size."""
    items: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        frame: dict[str, Any] = {"action": "conversations"}
        if limit is not None:
            frame["limit"] = limit
        if before is not None:
            frame["before"] = before
        reply = driver.send("a1", **frame)
        assert reply["type"] == "conversations" and fits(reply), budget.size(reply)
        assert isinstance(reply["more"], bool)
        items.extend(reply["items"])
        if not reply["more"]:
            assert reply["next"] is None
            return items
        assert reply["items"] and reply["next"] == reply["items"][-1]["last"]["id"]
        before = reply["next"]


@pytest.mark.parametrize("text", [ESCAPED, EMOJI], ids=["escaped", "emoji"])
def test_conversations_with_1000_partners_page_within_the_budget(
    driver: Driver, store: MemoryStore, clock: Clock, text: str
) -> None:
    driver.sign_up("a1", "alice")
    populate(store, clock, partners(1000, text))
    items = page_conversations(driver, limit=100)
    assert [i["with"] for i in items] == [f"p{n:04d}" for n in reversed(range(1000))]


def test_conversations_default_to_pages_of_50_newest_first(
    driver: Driver, store: MemoryStore, clock: Clock
) -> None:
    driver.sign_up("a1", "alice")
    populate(store, clock, partners(120, "hi"))
    first = driver.send("a1", action="conversations")  # an old client: neither field
    assert len(first["items"]) == 50 and first["more"] is True
    assert first["items"][0]["with"] == "p0119"
    assert first["next"] == first["items"][-1]["last"]["id"]
    second = driver.send("a1", action="conversations", before=first["next"], limit=100)
    assert len(second["items"]) == 70 and second["more"] is False and second["next"] is None
    assert second["items"][0]["with"] == "p0069"
    assert [i["with"] for i in page_conversations(driver, 7)] == [
        f"p{n:04d}" for n in reversed(range(120))
    ]


@pytest.mark.parametrize(
    "fields",
    [{"limit": 0}, {"limit": 101}, {"limit": "5"}, {"limit": True}, {"before": "nope"},
     {"before": "01KAYZ8Q7R5M6W1X2Y3Z4A5B6C\n"}, {"before": 7}],
)
def test_conversations_paging_fields_are_checked(driver: Driver, fields: dict[str, Any]) -> None:
    driver.sign_up("a1", "alice")
    reply = driver.send("a1", action="conversations", **fields)
    assert reply["type"] == "error" and reply["code"] == "invalid", reply


# the property: random histories and conversation sets never give a frame over the budget

TEXTS = st.one_of(
    st.text(min_size=1, max_size=4000).filter(lambda t: t.strip()),
    st.sampled_from([ESCAPED, EMOJI, "\\" * 4000, '"' * 4000, "\u2028" * 4000]),
    st.builds(
        lambda c, n: c * n, st.characters(exclude_categories=("Cs",)), st.integers(1, 4000)
    ).filter(
        lambda t: t.strip()
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    sends=st.lists(
        st.tuples(st.integers(0, 30), st.booleans(), TEXTS), min_size=1, max_size=60
    ),
    frame_budget=st.integers(budget.minimum_budget(4000), budget.FRAME_LIMIT),
    limit=st.integers(1, 100),
)
def test_no_history_or_conversations_frame_exceeds_the_budget(
    sends: list[tuple[int, bool, str]], frame_budget: int, limit: int
) -> None:
    store, clock = MemoryStore(), Clock()
    chat = Chat(
        store,
        ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1), frame_budget=frame_budget),
        clock=clock,
    )
    driver = Driver(chat)
    driver.sign_up("a1", "alice")
    populate(
        store,
        clock,
        [
            (f"p{partner:02d}", "alice", text) if inbound else ("alice", f"p{partner:02d}", text)
            for partner, inbound, text in sends
        ],
    )
    items = page_conversations_within(driver, limit, frame_budget)
    assert len(items) == len({partner for partner, _, _ in sends})
    for item in items:
        before: str | None = None
        count = 0
        while True:
            frame: dict[str, Any] = {"action": "history", "with": item["with"], "limit": limit}
            if before:
                frame["before"] = before
            reply = driver.send("a1", **frame)
            assert budget.size(reply) <= frame_budget
            count += len(reply["messages"])
            if not reply["more"]:
                break
            before = reply["messages"][0]["id"]
        assert count == sum(1 for p, _, _ in sends if f"p{p:02d}" == item["with"])


def page_conversations_within(driver: Driver, limit: int, frame_budget: int) -> list[Any]:
    items: list[Any] = []
    before: str | None = None
    while True:
        frame: dict[str, Any] = {"action": "conversations", "limit": limit}
        if before:
            frame["before"] = before
        reply = driver.send("a1", **frame)
        assert budget.size(reply) <= frame_budget
        items.extend(reply["items"])
        if not reply["more"]:
            return items
        before = reply["next"]


def test_the_budget_is_a_setting_within_bounds() -> None:
    assert Settings.from_env({}).frame_budget == budget.DEFAULT_BUDGET
    assert Settings.from_env({"CHAT_FRAME_BUDGET": "65536"}).frame_budget == 65536
    for bad in ("1000", str(budget.FRAME_LIMIT + 1)):
        with pytest.raises(ValueError, match="CHAT_FRAME_BUDGET"):
            Settings.from_env({"CHAT_FRAME_BUDGET": bad})
    # the smallest budget still fits one message of the longest text
    with pytest.raises(ValueError, match="CHAT_FRAME_BUDGET"):
        Settings.from_env({"CHAT_FRAME_BUDGET": "30000", "CHAT_MAX_TEXT": "8000"})
