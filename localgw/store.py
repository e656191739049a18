"""Prepares the store named by CHAT_STORE before serving: the SQLite directory, or the
DynamoDB table (created from the single table definition when missing) on a local endpoint."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger("localgw")

DEFAULT_STORE = "sqlite:///.chat/chat.db"
ENDPOINT_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")


def prepare_store(env: Mapping[str, str] = os.environ) -> str:
    """Returns a one-line description of the store for the startup banner."""
    url = env.get("CHAT_STORE") or DEFAULT_STORE
    scheme, _, rest = url.partition(":")
    if scheme == "sqlite" and rest.startswith("///") and len(rest) > 3:
        path = rest[3:]
        if path == ":memory:" or path.startswith("file::memory:"):
            # each handler thread or process would get a database of its own
            raise SystemExit("CHAT_STORE: an in-memory SQLite database cannot be shared by"
                             " the handlers; name a file, e.g. sqlite:///.chat/chat.db")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return f"SQLite {path}"
    if scheme == "dynamodb" and rest:
        endpoint = next((env[name] for name in ENDPOINT_VARS if env.get(name)), None)
        if endpoint is None:
            logger.warning("CHAT_STORE=%s with no AWS_ENDPOINT_URL_DYNAMODB: using AWS", url)
            return f"DynamoDB table {rest} (AWS)"
        import boto3

        from chalicelib.store import schema

        if schema.ensure_table(boto3.client("dynamodb"), rest):
            logger.info("created DynamoDB table %s at %s", rest, endpoint)
        return f"DynamoDB table {rest} at {endpoint}"
    raise SystemExit(f"CHAT_STORE must be 'sqlite:///<path>' or 'dynamodb:<table>', not {url!r}")
