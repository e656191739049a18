"""chalicelib/budget.py: list replies cut to the byte budget."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib import budget


def history(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "history", "with": "bob", "messages": items, "more": True}


def message(text: str) -> dict[str, Any]:
    return {"id": "01J0000000000000000000000A", "from": "alice", "to": "bob", "text": text}


def test_escaped_characters_count_as_the_bytes_they_take() -> None:
    worst = message("\x01" * 4000)  # each escapes to \u0001: 6 bytes
    assert budget.size(worst) > 24_000
    assert budget.fitting([worst] * 10, history, budget.DEFAULT_BUDGET) == 5


@given(
    texts=st.lists(st.text(min_size=0, max_size=300), max_size=60),
    room=st.integers(200, 20_000),
)
def test_the_fitting_prefix_is_within_the_budget_and_one_more_is_not(
    texts: list[str], room: int
) -> None:
    items = [message(t) for t in texts]
    count = budget.fitting(items, history, room)
    if count or not items:
        assert budget.size(history(items[:count])) <= room
    if count < len(items):
        assert budget.size(history(items[: count + 1])) > room
