"""DynamoDB request units of one request, from the items it touched, by the rules of
DynamoDB's developer guide: item size = attribute names + values; a write is 1 WRU per
started KB (2 in a transaction), a read 1 RRU per started 4 KB when strongly consistent
(0.5 eventually consistent, 2 in a transaction); a Query rounds the total it read."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

Item = Mapping[str, Any]
Fetch = Callable[[dict[str, Any]], Item | None]  # key -> the item as stored, or None


def _number_bytes(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    return 1 + math.ceil(len(digits) / 2)


def value_bytes(value: Mapping[str, Any]) -> int:
    (kind, content), = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return _number_bytes(str(content))
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(_number_bytes(n) for n in content)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_bytes(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(value_bytes(v) + 1 for v in content)
    raise ValueError(f"unknown attribute type {kind}")


def item_bytes(item: Item) -> int:
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _key_of(item: Item) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def units(operation: str, params: Mapping[str, Any], fetch: Fetch,
          reply: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """WRU and RRU of one request, with the item sizes they came from. ``fetch`` reads
    an item as it is now (after the request); ``reply`` is the request's response."""
    sizes: list[int] = []
    wru = 0.0
    rru = 0.0
    if operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            (kind, body), = entry.items()
            key = _key_of(body["Item"]) if kind == "Put" else body["Key"]
            stored = fetch(key)
            size = item_bytes(stored) if stored else item_bytes(body.get("Item", key))
            sizes.append(size)
            # every action, ConditionCheck included, is prepared and committed: 2x
            wru += 2 * _write_units(size)
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        key = _key_of(params["Item"]) if operation == "PutItem" else params["Key"]
        stored = fetch(key)
        old = (reply or {}).get("Attributes")
        size = max(item_bytes(stored) if stored else 0, item_bytes(old) if old else 0, 1)
        sizes.append(size)
        wru += _write_units(size)
    elif operation == "GetItem":
        stored = fetch(params["Key"])
        size = item_bytes(stored) if stored else 0
        sizes.append(size)
        rru += _read_units(size, bool(params.get("ConsistentRead")))
    elif operation == "BatchGetItem":
        for table in params["RequestItems"].values():
            for key in table["Keys"]:
                stored = fetch(key)
                size = item_bytes(stored) if stored else 0
                sizes.append(size)
                rru += _read_units(size, bool(table.get("ConsistentRead")))
    elif operation == "Query":
        items = (reply or {}).get("Items", [])
        size = sum(item_bytes(fetch(_key_of(i)) or i) for i in items)
        sizes.append(size)
        rru += _read_units(size, bool(params.get("ConsistentRead")))
    else:
        raise ValueError(f"no capacity rule for {operation}")
    return {"operation": operation, "wru": wru, "rru": rru, "item_bytes": sizes}
