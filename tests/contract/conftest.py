"""Fixtures of the store contract suite: every test runs against every store,
the in-memory reference, a SQLite file and DynamoDB (moto's server mode on
loopback, one fresh table per test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib.model import Store
from tests.contract.helpers import Factory


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Opens the store under test (the same data each call: a second client)."""
    if request.param == "memory":
        from chalicelib.store.memory import MemoryStore

        shared = MemoryStore()
        return lambda: shared
    if request.param == "sqlite":
        from chalicelib.store.sqlite import SQLiteStore

        path = str(tmp_path / "chat.db")
        return lambda: SQLiteStore(path)
    from chalicelib.store.dynamodb import DynamoDBStore

    table = request.getfixturevalue("dynamodb_table")()
    return lambda: DynamoDBStore(table)


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


@pytest.fixture
def factory(store: Store) -> Factory:
    return Factory(store)
