"""What a local emulator does before serving this app: make the store named by CHAT_STORE
ready. ``app.py`` offers ``prepare_local`` and localgw calls it (the app knows its store;
the emulator does not). On Lambda nothing calls it: the deployment made the table."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.settings import DEFAULT_STORE

logger = logging.getLogger(__name__)

ENDPOINT_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class LocalStore:
    """A line for the emulator's banner, and the file only one server may use at a time
    (SQLite), if any."""

    description: str
    exclusive_path: str | None = None


def prepare_local(env: Mapping[str, str] = os.environ) -> LocalStore:
    """SQLite: its directory, private to the user (0700). DynamoDB on a local endpoint:
    the table, from the single table definition, when missing."""
    url = env.get("CHAT_STORE") or DEFAULT_STORE
    scheme, _, rest = url.partition(":")
    if scheme == "sqlite" and rest.startswith("///") and len(rest) > 3:
        path = rest[3:]
        if path == ":memory:" or path.startswith("file::memory:"):
            # each handler thread or process would get a database of its own
            raise SystemExit("CHAT_STORE: an in-memory SQLite database cannot be shared by"
                             " the handlers; name a file, e.g. sqlite:///.chat/chat.db")
        directory = Path(path).parent
        if not directory.is_dir():
            directory.mkdir(mode=0o700, parents=True)
        return LocalStore(f"SQLite {path}", str(Path(path).resolve()))
    if scheme == "dynamodb" and rest:
        endpoint = next((env[name] for name in ENDPOINT_VARS if env.get(name)), None)
        if endpoint is None:
            logger.warning("CHAT_STORE=%s with no AWS_ENDPOINT_URL_DYNAMODB: using AWS", url)
            return LocalStore(f"DynamoDB table {rest} (AWS)")
        import boto3

        from chalicelib.store import schema

        if schema.ensure_table(boto3.client("dynamodb"), rest):
            logger.info("created DynamoDB table %s at %s", rest, endpoint)
        return LocalStore(f"DynamoDB table {rest} at {endpoint}")
    raise SystemExit(f"CHAT_STORE must be 'sqlite:///<path>' or 'dynamodb:<table>', not {url!r}")
