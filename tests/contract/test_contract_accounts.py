"""Store contract: accounts, user search, sessions (rate-limit counts:
test_contract_limits.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chalicelib.model import Session, Store, User
from tests.contract.helpers import Factory, now


def test_create_user_is_unique(store: Store) -> None:
    assert store.create_user(User("alice", "hash-1", 1_700_000_000.5))
    assert not store.create_user(User("alice", "hash-2", 1_700_000_001.0))
    assert store.get_user("alice") == User("alice", "hash-1", 1_700_000_000.5)
    assert store.get_user("bob") is None


def test_concurrent_sign_ups_of_one_name_admit_exactly_one(
    make_store: Callable[[], Store],
) -> None:
    stores = [make_store() for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        created = list(
            pool.map(
                lambda i: stores[i % 4].create_user(User("carol", f"hash-{i}", float(i))),
                range(16),
            )
        )
    assert created.count(True) == 1
    winner = created.index(True)
    user = stores[0].get_user("carol")
    assert user is not None and user.password_hash == f"hash-{winner}"


def test_search_users_by_prefix_in_order_with_limit(store: Store, factory: Factory) -> None:
    factory.users("anna", "al_x", "alex", "alice", "bob", "albert", "a.b", "zed")
    assert [name for name, _ in store.search_users("al", 10, now=now())] == [
        "al_x",
        "albert",
        "alex",
        "alice",
    ]
    assert [name for name, _ in store.search_users("al", 2, now=now())] == ["al_x", "albert"]
    # '_' and '.' are literal, not wildcards
    assert [name for name, _ in store.search_users("al_", 10, now=now())] == ["al_x"]
    assert [name for name, _ in store.search_users("a.", 10, now=now())] == ["a.b"]
    assert store.search_users("alexa", 10, now=now()) == []
    assert store.search_users("q", 10, now=now()) == []
    assert [name for name, _ in store.search_users("a", 3, now=now())] == ["a.b", "al_x", "albert"]


def test_search_users_reports_who_is_online(store: Store, factory: Factory) -> None:
    factory.users("alice", "alex", "alba")
    store.bind_connection(factory.connection("c-alice", "alice"), now=now())
    store.bind_connection(factory.connection("c-alba", "alba", lifetime=-1), now=now())  # expired
    store.bind_connection(factory.connection("c-alex", "alex"), now=now())
    store.unbind_connection("c-alex", now=now())
    assert store.search_users("al", 10, now=now()) == [
        ("alba", False),
        ("alex", False),
        ("alice", True),
    ]


def test_sessions_round_trip_and_revoke(store: Store) -> None:
    session = Session("a" * 64, "alice", time.time() + 3600)
    store.put_session(session)
    assert store.get_session("a" * 64, now=now()) == session
    assert store.get_session("b" * 64, now=now()) is None
    store.delete_session("a" * 64)
    assert store.get_session("a" * 64, now=now()) is None
    store.delete_session("a" * 64)  # deleting twice is fine


def test_an_expired_session_is_gone(store: Store) -> None:
    store.put_session(Session("c" * 64, "alice", time.time() - 1))
    assert store.get_session("c" * 64, now=now()) is None
