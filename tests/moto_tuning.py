"""Two fixes to moto's DynamoDB server for concurrent tests (moto 5.2).

1. moto serves requests on parallel threads without a lock, and its
   TransactWriteItems snapshots and restores whole tables, so concurrent
   requests corrupt it (HTTP 500s, lost writes). Real DynamoDB serializes
   writes per item; one lock over every DynamoDB request is the simplest
   faithful stand-in.
2. That snapshot is a deep copy of the whole table taken once per item of the
   transaction (five times per chat ``send``), which makes a transaction cost
   O(5 x table size). Under the lock, one copy per table per transaction is
   equivalent, so copies are memoized for the duration of one call.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_lock = threading.RLock()


class _MemoizedCopy:
    """Stands in for the ``copy`` module inside moto's DynamoDB models during
    one transaction: every object is deep-copied at most once."""

    def __init__(self) -> None:
        self._copies: dict[int, tuple[Any, Any]] = {}

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        key = id(value)
        if key not in self._copies:
            # the original is kept alive so its id cannot be reused meanwhile
            self._copies[key] = (value, copy.deepcopy(value, memo))
        return self._copies[key][1]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def serialize_moto_dynamodb() -> None:
    """Apply both fixes to this process's moto (idempotent)."""
    from moto.dynamodb import models
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_serialized", False):
        return
    call_action = DynamoHandler.call_action
    transact = models.DynamoDBBackend.transact_write_items

    def serialized_call_action(self: Any) -> Any:
        with _lock:
            return call_action(self)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            models.copy = _MemoizedCopy()  # type: ignore[assignment]
            try:
                transact(self, transact_items)
            finally:
                models.copy = copy

    serialized_call_action._serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialized_call_action  # type: ignore[method-assign]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
