"""Store contract: the rate-limit counter primitive (``hit``, ``clear_hits``)
and per-user session revocation (``set_password``, ``revoke_sessions``),
on every store."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chalicelib.model import Session, Store, User
from chalicelib.ratelimit import Counts

WINDOW = 900.0
START = 1_800_000_000.0  # a multiple of WINDOW: the start of a fixed window


def test_hits_count_in_the_current_window_with_the_previous_one(store: Store) -> None:
    assert store.hit("login#alice", START, WINDOW) == Counts(1, 0)
    assert store.hit("login#alice", START + 10, WINDOW) == Counts(2, 0)
    assert store.hit("login#alice", START + WINDOW - 0.001, WINDOW) == Counts(3, 0)
    # the next fixed window: this one's count becomes the previous
    assert store.hit("login#alice", START + WINDOW, WINDOW) == Counts(1, 3)
    assert store.hit("login#alice", START + WINDOW + 5, WINDOW) == Counts(2, 3)
    # two windows on, the count of the first is forgotten
    assert store.hit("login#alice", START + 2 * WINDOW, WINDOW) == Counts(1, 2)
    # after a long gap both are gone
    assert store.hit("login#alice", START + 40 * WINDOW, WINDOW) == Counts(1, 0)


def test_keys_are_independent(store: Store) -> None:
    store.hit("login#alice", START, WINDOW)
    store.hit("login#alice", START, WINDOW)
    assert store.hit("login#bob", START, WINDOW) == Counts(1, 0)
    assert store.hit("send#alice", START, 30.0) == Counts(1, 0)


def test_clear_hits_forgets_a_key(store: Store) -> None:
    store.hit("login#alice", START, WINDOW)
    store.hit("login#alice", START + WINDOW, WINDOW)
    store.clear_hits("login#alice")
    assert store.hit("login#alice", START + WINDOW + 1, WINDOW) == Counts(1, 0)
    store.clear_hits("login#nobody")  # clearing a key never hit is fine


def test_concurrent_hits_are_each_counted_once(make_store: Callable[[], Store]) -> None:
    stores = [make_store() for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        counts = list(
            pool.map(lambda i: stores[i % 4].hit("login#alice", START + i / 100, WINDOW), range(24))
        )
    # one atomic write each: every caller saw a different count, 1 to 24
    assert sorted(c.current for c in counts) == list(range(1, 25))


def test_set_password_replaces_the_hash_and_revokes_earlier_sessions(store: Store) -> None:
    store.create_user(User("alice", "old-hash", START))
    store.set_password("alice", "new-hash", sessions_valid_from=START + 60)
    assert store.get_user("alice") == User("alice", "new-hash", START, START + 60)
    store.set_password("nobody", "h", sessions_valid_from=START)  # no such user: nothing
    assert store.get_user("nobody") is None


def test_revoke_sessions_moves_valid_from(store: Store) -> None:
    store.create_user(User("alice", "h", START))
    store.revoke_sessions("alice", valid_from=START + 5)
    user = store.get_user("alice")
    assert user is not None and user.sessions_valid_from == START + 5
    assert user.password_hash == "h"
    store.revoke_sessions("nobody", valid_from=START)
    assert store.get_user("nobody") is None


def test_sessions_keep_when_they_were_issued(store: Store) -> None:
    session = Session("t" * 64, "alice", START + 3600, issued_at=START)
    store.put_session(session)
    assert store.get_session("t" * 64, now=START + 1) == session
