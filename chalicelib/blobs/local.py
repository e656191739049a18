"""The embedded blob store of local runs (CHAT_BLOBS=file:///<path>): one directory,
uploaded to and downloaded from through the local gateway at ``/blobs/`` with the same
signed, expiring forms and URLs as S3, so the browser client has one code path.

Both halves of the scheme live here, on one machine and one directory:
``LocalBlobs`` (the ``Blobs`` the chat core calls, in the handler workers) signs and
manages blobs; ``LocalBlobServer`` (which localgw calls for ``/blobs/``) checks what a
browser sends and serves what it asks for. The directory holds

    .secret       32 random bytes, the HMAC-SHA256 key (0600, made once: URLs survive
                  a restart)
    .lock         flock(2): a blob's bytes and its record change together
    <id>          the bytes (0600)
    <id>.json     {"type", "size", "created_at", "state": "pending" | "attached"}
    .tmp-*        files being written (renamed into place when complete)

An upload is an S3-style POST policy (base64 JSON: expiration and conditions) signed in
the field ``x-chat-signature``; a download is ``/blobs/<id>?expires&type&disposition&
signature``. Blob ids are ``[A-Za-z0-9_-]{1,64}`` and nothing else, so no id can name a
path outside the directory (or the secret). Pending blobs older than the upload TTL are
swept by the server: when the gateway starts, and at most hourly after an upload.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from chalicelib.blobs import BlobInfo, PresignedPost, content_disposition

logger = logging.getLogger(__name__)

BLOBS_PATH = "/blobs/"
SIGNATURE_FIELD = "x-chat-signature"
SECRET_FILE = ".secret"
SECRET_BYTES = 32
DEFAULT_UPLOAD_TTL = 24 * 3600.0
# the largest body the server takes, whatever a policy allows
MAX_UPLOAD = 64 * 1024 * 1024
SWEEP_INTERVAL = 3600.0
DEFAULT_TYPE = "application/octet-stream"
PENDING, ATTACHED = "pending", "attached"

_BLOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXPIRES = re.compile(r"[0-9]{1,12}")
_TEMP_PREFIX = ".tmp-"
_RECORD_SUFFIX = ".json"
_EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# form fields the policy itself need not name (S3: policy and signature, and the file)
_UNCONDITIONED = frozenset({"policy", SIGNATURE_FIELD, "file"})

Clock = Callable[[], float]


def valid_blob_id(blob_id: object) -> bool:
    return isinstance(blob_id, str) and _BLOB_ID.fullmatch(blob_id) is not None


@dataclass(frozen=True)
class BlobError:
    """A refusal, shaped like S3's: HTTP status, error code and a short message."""

    status: int
    code: str
    message: str

    def xml(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message></Error>\n"
        ).encode()


MALFORMED_POST = BlobError(
    400, "MalformedPOSTRequest",
    "The body of the POST request is not well-formed multipart/form-data.",
)
ENTITY_TOO_LARGE = BlobError(
    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
)
ENTITY_TOO_SMALL = BlobError(
    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size."
)
BAD_KEY = BlobError(400, "InvalidArgument", "Not a blob key.")
BAD_SIGNATURE = BlobError(
    403, "SignatureDoesNotMatch", "The request signature does not match the one we calculated."
)
BAD_POLICY = BlobError(400, "InvalidPolicyDocument", "The policy is not a valid policy document.")
NO_SUCH_KEY = BlobError(404, "NoSuchKey", "The specified key does not exist.")


def _denied(message: str) -> BlobError:
    return BlobError(403, "AccessDenied", message)


@dataclass(frozen=True)
class Download:
    """A file to serve, with the response headers its signed URL asked for."""

    path: Path
    headers: dict[str, str]


def load_secret(directory: Path) -> bytes:
    """The directory's key, made on first use. Made in a temporary file and linked into
    place, so processes starting at once agree on one key and never read a partial one."""
    path = directory / SECRET_FILE
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = directory / f"{_TEMP_PREFIX}secret-{secrets.token_hex(8)}"
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(secrets.token_bytes(SECRET_BYTES))
            with contextlib.suppress(FileExistsError):  # another process was first
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise RuntimeError(
            f"{path} is not a blob store key ({SECRET_BYTES} bytes); remove it to make a"
            " new one (signed URLs made with the old one stop working)"
        )
    return secret


class _Directory:
    """Paths, key, lock and records of one blob directory (shared by both halves)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.secret = load_secret(self.root)

    def sign(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message).encode(), signature.encode())

    def data(self, blob_id: str) -> Path:
        if not valid_blob_id(blob_id):
            raise ValueError(f"not a blob id: {blob_id!r}")
        return self.root / blob_id

    def record_path(self, blob_id: str) -> Path:
        return self.data(blob_id).with_name(blob_id + _RECORD_SUFFIX)

    @contextlib.contextmanager
    def locked(self, shared: bool = False) -> Iterator[None]:
        descriptor = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def read_record(self, blob_id: str) -> dict[str, Any] | None:
        path = self.record_path(blob_id)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            logger.warning("unreadable blob record %s", path)
            return None
        return record if isinstance(record, dict) else None

    def write_record(self, blob_id: str, record: Mapping[str, Any]) -> None:
        temp = self.temp_path()
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(temp, self.record_path(blob_id))
        finally:
            temp.unlink(missing_ok=True)

    def remove(self, blob_id: str) -> None:
        self.data(blob_id).unlink(missing_ok=True)
        self.record_path(blob_id).unlink(missing_ok=True)

    def temp_path(self) -> Path:
        return self.root / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"


def _download_message(blob_id: str, expires: int, content_type: str, disposition: str) -> bytes:
    # "GET\n" keeps these apart from upload policies (base64 has no newline)
    return b"GET\n" + json.dumps([blob_id, expires, content_type, disposition]).encode()


class LocalBlobs:
    """The chat core's side: signs uploads and downloads, reads and changes records.
    Runs in the handler workers; signing does no I/O (the key is read once, here)."""

    def __init__(self, directory: str | os.PathLike[str], *, clock: Clock = time.time) -> None:
        self._dir = _Directory(directory)
        self._clock = clock

    def presign_upload(
        self, blob_id: str, content_type: str, size: int, expires_in: int
    ) -> PresignedPost:
        self._dir.data(blob_id)  # refuses a bad id
        if size < 1 or expires_in < 1 or _CONTROL.search(content_type):
            raise ValueError("presign_upload needs size >= 1, expires_in >= 1, a plain type")
        expiration = datetime.fromtimestamp(int(self._clock()) + expires_in, UTC)
        document = {
            "expiration": expiration.strftime(_EXPIRATION_FORMAT),
            "conditions": [
                {"key": blob_id},
                {"Content-Type": content_type},
                ["content-length-range", 1, size],
            ],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode("ascii")
        return PresignedPost(
            url=BLOBS_PATH,
            fields={
                "key": blob_id,
                "Content-Type": content_type,
                "policy": policy,
                SIGNATURE_FIELD: self._dir.sign(policy.encode("ascii")),
            },
        )

    def presign_download(
        self, blob_id: str, *, name: str, content_type: str, inline: bool, expires_in: int
    ) -> str:
        self._dir.data(blob_id)
        if _CONTROL.search(content_type):
            raise ValueError("presign_download needs a plain type")
        expires = int(self._clock()) + expires_in
        disposition = content_disposition(name, inline)
        signature = self._dir.sign(_download_message(blob_id, expires, content_type, disposition))
        query = urlencode(
            {"expires": expires, "type": content_type, "disposition": disposition,
             "signature": signature}
        )
        return f"{BLOBS_PATH}{blob_id}?{query}"

    def head(self, blob_id: str) -> BlobInfo | None:
        with self._dir.locked(shared=True):
            record = self._dir.read_record(blob_id)
            try:
                size = self._dir.data(blob_id).stat().st_size
            except FileNotFoundError:
                return None
        if record is None:
            return None
        return BlobInfo(size=size, type=str(record.get("type", DEFAULT_TYPE)))

    def mark_attached(self, blob_id: str) -> None:
        """Attached blobs are never swept. Nothing to do for a blob that is not there."""
        with self._dir.locked():
            record = self._dir.read_record(blob_id)
            if record is not None and record.get("state") != ATTACHED:
                self._dir.write_record(blob_id, {**record, "state": ATTACHED})

    def delete(self, blob_id: str) -> None:
        with self._dir.locked():
            self._dir.remove(blob_id)


class Upload:
    """One permitted upload being received: ``write`` the file's bytes as they come (it
    refuses at once past the policy's maximum), then ``finish`` (or ``abort``)."""

    def __init__(
        self, server: LocalBlobServer, key: str, content_type: str, min_size: int, max_size: int
    ) -> None:
        self._server = server
        self.key = key
        self.content_type = content_type
        self.min_size = min_size
        self.max_size = max_size
        self.received = 0
        self._temp = server.directory.temp_path()
        self._out = os.fdopen(os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                              "wb")

    def write(self, chunk: bytes) -> BlobError | None:
        if self.received + len(chunk) > self.max_size:
            self.abort()
            return ENTITY_TOO_LARGE
        self._out.write(chunk)
        self.received += len(chunk)
        return None

    def finish(self) -> BlobError | None:
        self._out.close()
        if self.received < self.min_size:
            self.abort()
            return ENTITY_TOO_SMALL
        directory = self._server.directory
        try:
            with directory.locked():
                record = directory.read_record(self.key)
                if record is not None and record.get("state") == ATTACHED:
                    return _denied("The object is attached to a message and cannot be replaced.")
                os.replace(self._temp, directory.data(self.key))
                directory.write_record(self.key, {
                    "type": self.content_type,
                    "size": self.received,
                    "created_at": self._server.clock(),
                    "state": PENDING,
                })
        finally:
            self.abort()
        self._server.sweep_now_and_then()
        return None

    def abort(self) -> None:
        self._out.close()
        self._temp.unlink(missing_ok=True)


class LocalBlobServer:
    """The gateway's side of ``/blobs/``: checks a POST's policy and signature before its
    file is read, and a GET's signature and expiry. Picklable (a worker process makes it
    in ``prepare_local`` and hands it to the gateway). It is localgw's ``BlobServer``
    (localgw/blobs_api.py)."""

    malformed_post = MALFORMED_POST
    entity_too_large = ENTITY_TOO_LARGE

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        upload_ttl: float = DEFAULT_UPLOAD_TTL,
        max_upload: int = MAX_UPLOAD,
        clock: Clock = time.time,
    ) -> None:
        self.directory = _Directory(directory)
        self.upload_ttl = upload_ttl
        self.max_upload = max_upload
        self.clock = clock
        self._last_sweep: float | None = None

    @property
    def root(self) -> Path:
        return self.directory.root

    def begin_upload(self, form: Mapping[str, str]) -> Upload | BlobError:
        """``form``: the fields before the file part. Checked as S3 checks a POST policy:
        the signature over the policy, its expiry, each condition, and no field the
        policy does not name."""
        fields = {name.lower(): value for name, value in form.items()}
        if len(fields) != len(form):
            return MALFORMED_POST
        policy, signature = fields.get("policy"), fields.get(SIGNATURE_FIELD)
        if not policy or not signature:
            return _denied("The POST needs a policy and its signature.")
        if not self.directory.verify(policy.encode(), signature):
            return BAD_SIGNATURE
        parsed = _parse_policy(policy)
        if parsed is None:
            return BAD_POLICY
        expiration, exact, length_range = parsed
        if self.clock() >= expiration:
            return _denied("Invalid according to Policy: Policy expired.")
        for name, value in exact.items():
            if fields.get(name) != value:
                return _denied(f"Invalid according to Policy: Policy Condition failed: {name}")
        extra = sorted(set(fields) - set(exact) - _UNCONDITIONED)
        if extra:
            return _denied(f"Invalid according to Policy: Extra input fields: {extra[0]}")
        key = fields.get("key")
        if not valid_blob_id(key):
            return BAD_KEY
        assert key is not None
        record = self.directory.read_record(key)
        if record is not None and record.get("state") == ATTACHED:
            return _denied("The object is attached to a message and cannot be replaced.")
        low, high = length_range if length_range is not None else (0, self.max_upload)
        content_type = fields.get("content-type", DEFAULT_TYPE)
        return Upload(self, key, content_type, max(low, 0), min(high, self.max_upload))

    def accept_upload(self, form: Mapping[str, str], body: bytes) -> BlobError | None:
        """The whole POST at once (the gateway streams through ``begin_upload``)."""
        upload = self.begin_upload(form)
        if isinstance(upload, BlobError):
            return upload
        return upload.write(body) or upload.finish()

    def open_download(self, key: str, query: Mapping[str, str]) -> Download | BlobError:
        if not valid_blob_id(key):
            return BAD_KEY
        expires_text = query.get("expires", "")
        content_type, disposition = query.get("type"), query.get("disposition")
        signature = query.get("signature")
        if (
            not _EXPIRES.fullmatch(expires_text)
            or content_type is None or disposition is None or not signature
        ):
            return _denied("A download URL needs expires, type, disposition and signature.")
        expires = int(expires_text)
        message = _download_message(key, expires, content_type, disposition)
        if not self.directory.verify(message, signature):
            return BAD_SIGNATURE
        remaining = expires - int(self.clock())
        if remaining <= 0:
            return _denied("Request has expired.")
        if _CONTROL.search(content_type) or _CONTROL.search(disposition):
            return BlobError(400, "InvalidArgument", "A header value has control characters.")
        path = self.directory.data(key)
        with self.directory.locked(shared=True):
            present = path.is_file() and self.directory.record_path(key).is_file()
        if not present:
            return NO_SUCH_KEY
        return Download(path, {
            "Content-Type": content_type,
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": f"private, max-age={remaining}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        })

    def sweep(self) -> int:
        """Removes pending blobs older than the upload TTL (never attached ones), and
        leftovers of that age: temporary files, bytes without a record. Returns how
        many blobs went."""
        now = self.clock()
        self._last_sweep = now
        cutoff = now - self.upload_ttl
        removed = 0
        for path in self.root.iterdir():
            name = path.name
            try:
                if name.endswith(_RECORD_SUFFIX) and valid_blob_id(name[: -len(_RECORD_SUFFIX)]):
                    removed += self._sweep_blob(name[: -len(_RECORD_SUFFIX)], cutoff)
                elif name.startswith(_TEMP_PREFIX) or valid_blob_id(name):
                    self._sweep_leftover(path, cutoff)
            except OSError as error:  # e.g. removed meanwhile by a delete
                logger.debug("sweep skipped %s: %s", path, error)
        if removed:
            logger.info("swept %d unattached upload(s) older than %.0f s", removed,
                        self.upload_ttl)
        return removed

    def sweep_now_and_then(self) -> None:
        now = self.clock()
        interval = min(SWEEP_INTERVAL, self.upload_ttl)
        if self._last_sweep is None or now - self._last_sweep >= interval:
            self.sweep()

    def _sweep_blob(self, blob_id: str, cutoff: float) -> int:
        with self.directory.locked():
            record = self.directory.read_record(blob_id)
            if record is None:
                created = self.directory.record_path(blob_id).stat().st_mtime
                state = PENDING
            else:
                created = float(record.get("created_at", 0))
                state = record.get("state", PENDING)
            if state == ATTACHED or created >= cutoff:
                return 0
            self.directory.remove(blob_id)
            return 1

    def _sweep_leftover(self, path: Path, cutoff: float) -> None:
        with self.directory.locked():
            orphan = not path.with_name(path.name + _RECORD_SUFFIX).exists()
            temporary = path.name.startswith(_TEMP_PREFIX)
            if (temporary or orphan) and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)


def _parse_policy(
    policy: str,
) -> tuple[float, dict[str, str], tuple[int, int] | None] | None:
    """(expiration, exact conditions by lowercase field name, content-length-range), or
    None for a document this store never signs."""
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
        expiration = datetime.fromisoformat(document["expiration"])
        conditions = document["conditions"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None
    if expiration.tzinfo is None or not isinstance(conditions, list):
        return None
    exact: dict[str, str] = {}
    length_range: tuple[int, int] | None = None
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, value),) = condition.items()
            if not isinstance(name, str) or not isinstance(value, str):
                return None
            exact[name.lower()] = value
        elif (
            isinstance(condition, list) and len(condition) == 3
            and condition[0] == "content-length-range"
            and all(type(bound) is int for bound in condition[1:])
        ):
            length_range = (condition[1], condition[2])
        else:
            return None
    return expiration.timestamp(), exact, length_range
