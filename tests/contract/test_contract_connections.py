"""Store contract: binding connections to users, who is online, expiry."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chalicelib.model import Store, Unbound
from tests.contract.helpers import Factory, now


def test_bind_returns_the_users_open_connections(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob")
    first = factory.connection("c1", "alice")
    assert store.bind_connection(first, now=now()) == {"c1"}
    assert store.bind_connection(factory.connection("c2", "alice"), now=now()) == {"c1", "c2"}
    assert store.bind_connection(factory.connection("c3", "bob"), now=now()) == {"c3"}
    assert store.get_connection("c1", now=now()) == first
    assert store.get_connection("nope", now=now()) is None


def test_connections_of_maps_every_name(store: Store, factory: Factory) -> None:
    factory.users("alice", "bob", "carol")
    store.bind_connection(factory.connection("a1", "alice"), now=now())
    store.bind_connection(factory.connection("a2", "alice"), now=now())
    store.bind_connection(factory.connection("b1", "bob"), now=now())
    assert store.connections_of(["alice", "bob", "carol", "nobody", "alice"], now=now()) == {
        "alice": frozenset({"a1", "a2"}),
        "bob": frozenset({"b1"}),
        "carol": frozenset(),
        "nobody": frozenset(),
    }
    assert store.connections_of([], now=now()) == {}


def test_connections_of_many_users(store: Store, factory: Factory) -> None:
    names = [f"user{i:03d}" for i in range(130)]
    factory.users(*names)
    for name in names[::3]:
        store.bind_connection(factory.connection(f"c-{name}", name), now=now())
    found = store.connections_of(names, now=now())
    assert found == {
        name: frozenset({f"c-{name}"}) if i % 3 == 0 else frozenset()
        for i, name in enumerate(names)
    }


def test_unbind_reports_what_remains(store: Store, factory: Factory) -> None:
    factory.users("alice")
    c1 = factory.connection("c1", "alice")
    store.bind_connection(c1, now=now())
    store.bind_connection(factory.connection("c2", "alice"), now=now())
    assert store.unbind_connection("c1", now=now()) == Unbound(c1, frozenset({"c2"}))
    assert store.get_connection("c1", now=now()) is None
    assert store.unbind_connection("c1", now=now()) is None
    unbound = store.unbind_connection("c2", now=now())
    assert unbound is not None and unbound.remaining == frozenset()
    assert store.connections_of(["alice"], now=now()) == {"alice": frozenset()}
    assert store.unbind_connection("never-bound", now=now()) is None


def test_expired_connections_are_not_open(store: Store, factory: Factory) -> None:
    factory.users("alice")
    stale = factory.connection("old", "alice", lifetime=-1)
    store.bind_connection(stale, now=now())  # its $disconnect never came
    assert store.get_connection("old", now=now()) is None
    assert store.connections_of(["alice"], now=now()) == {"alice": frozenset()}
    assert store.bind_connection(factory.connection("new", "alice"), now=now()) == {"new"}
    assert store.connections_of(["alice"], now=now()) == {"alice": frozenset({"new"})}
    # a late $disconnect of the expired one still unbinds it
    unbound = store.unbind_connection("old", now=now())
    assert unbound is not None and unbound.connection == stale
    assert unbound.remaining == {"new"}


def test_rebinding_a_connection_to_another_user(store: Store, factory: Factory) -> None:
    """What the core does on a second sign-in on one connection: unbind, bind."""
    factory.users("alice", "bob")
    store.bind_connection(factory.connection("c1", "alice"), now=now())
    store.unbind_connection("c1", now=now())
    assert store.bind_connection(factory.connection("c1", "bob"), now=now()) == {"c1"}
    assert store.connections_of(["alice", "bob"], now=now()) == {
        "alice": frozenset(),
        "bob": frozenset({"c1"}),
    }


def test_concurrent_binds_and_unbinds_of_one_user(
    make_store: Callable[[], Store], factory: Factory
) -> None:
    factory.users("alice")
    stores = [make_store() for _ in range(4)]

    def churn(i: int) -> None:
        store = stores[i % 4]
        store.bind_connection(factory.connection(f"keep{i}", "alice"), now=now())
        store.bind_connection(factory.connection(f"drop{i}", "alice"), now=now())
        assert store.unbind_connection(f"drop{i}", now=now()) is not None

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(churn, range(16)))
    assert stores[0].connections_of(["alice"], now=now()) == {
        "alice": frozenset(f"keep{i}" for i in range(16))
    }
