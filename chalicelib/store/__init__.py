"""open_store(CHAT_STORE) picks a Store implementation.

``dynamodb:<table>`` -> DynamoDBStore (boto3, standard AWS environment);
``sqlite:///<path>`` -> SQLiteStore (stdlib sqlite3, WAL). Each module is
imported only when chosen, so a Lambda cold start never imports sqlite3 and
a local run never needs boto3.
"""

from __future__ import annotations

from chalicelib.model import Store


def open_store(url: str) -> Store:
    scheme, _, rest = url.partition(":")
    if scheme == "dynamodb" and rest:
        from chalicelib.store.dynamodb import DynamoDBStore

        return DynamoDBStore(rest)
    if scheme == "sqlite" and rest.startswith("///") and len(rest) > 3:
        from chalicelib.store.sqlite import SQLiteStore

        return SQLiteStore(rest[3:])
    raise ValueError(
        f"CHAT_STORE must be 'dynamodb:<table>' or 'sqlite:///<path>', not {url!r}"
    )
