"""What a local emulator does before serving this app: make the store named by CHAT_STORE
and the blob storage named by CHAT_BLOBS ready. ``app.py`` offers ``prepare_local`` and
localgw calls it (the app knows its storage; the emulator does not). On Lambda nothing
calls it: the deployment made the table and the bucket."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.blobs import DEFAULT_BLOBS, parse_blobs_url
from chalicelib.settings import DEFAULT_STORE

if TYPE_CHECKING:
    from chalicelib.blobs.local import LocalBlobServer

logger = logging.getLogger(__name__)

ENDPOINT_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class LocalStore:
    """A line for the emulator's banner, the file only one server may use at a time
    (SQLite), if any, and the server of the embedded blob store (CHAT_BLOBS=file://),
    which the emulator serves at ``/blobs/``, if that is the storage."""

    description: str
    exclusive_path: str | None = None
    blobs: LocalBlobServer | None = None


def prepare_local(env: Mapping[str, str] = os.environ) -> LocalStore:
    """The store, then the blob storage (``prepare_blobs``)."""
    store = prepare_store(env)
    blobs = prepare_blobs(env)
    if blobs is None:
        return store
    return LocalStore(
        f"{store.description}; attachments in {blobs.root}", store.exclusive_path, blobs
    )


def prepare_blobs(env: Mapping[str, str] = os.environ) -> LocalBlobServer | None:
    """file:///<path>: the directory (0700) and its key, with pending uploads older than
    CHAT_UPLOAD_TTL swept; the server for the gateway. S3 (a bucket the deployment or
    the test made) or "off": nothing to prepare."""
    try:
        where = parse_blobs_url(env.get("CHAT_BLOBS") or DEFAULT_BLOBS)
    except ValueError as problem:
        raise SystemExit(str(problem)) from None
    if where.scheme != "file":
        return None
    from chalicelib.blobs.local import DEFAULT_UPLOAD_TTL, LocalBlobServer

    try:
        upload_ttl = float(env.get("CHAT_UPLOAD_TTL") or DEFAULT_UPLOAD_TTL)
    except ValueError:
        raise SystemExit("CHAT_UPLOAD_TTL must be a number of seconds") from None
    directory = Path(where.path)
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True)
    server = LocalBlobServer(directory.resolve(), upload_ttl=upload_ttl)
    server.sweep()
    return server


def prepare_store(env: Mapping[str, str] = os.environ) -> LocalStore:
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
