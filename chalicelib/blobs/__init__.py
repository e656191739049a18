"""Where attachments' bytes live, behind one interface (``Blobs``), chosen by CHAT_BLOBS.

``s3://<bucket>/<prefix>`` -> S3Blobs (boto3: presigned POST and GET, HEAD, tagging);
``file:///<path>`` -> LocalBlobs, the embedded store of local runs, whose uploads and
downloads the local gateway serves under ``/blobs/`` with signed, expiring URLs and the
same multipart POST form as S3 (so the browser client has one code path). Each module is
imported only when chosen, like the stores.

The chat core talks only to ``Blobs``; the bytes never pass through a handler. A blob is
named by its upload id; each implementation puts it under its own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_BLOBS = "file:///.chat/blobs"


@dataclass(frozen=True)
class PresignedPost:
    """Where and how the client POSTs one file: a multipart/form-data POST to ``url``
    with ``fields`` (in order) and then the file as the field ``file``."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BlobInfo:
    """What the storage holds for one blob."""

    size: int
    type: str


class Blobs(Protocol):
    def presign_upload(
        self, blob_id: str, content_type: str, size: int, expires_in: int
    ) -> PresignedPost:
        """A POST whose policy fixes the key, the exact Content-Type and a
        content-length-range of 1..``size``, valid for ``expires_in`` seconds; the
        blob is stored as pending (it expires unless ``mark_attached``)."""
        ...

    def presign_download(
        self, blob_id: str, *, name: str, content_type: str, inline: bool, expires_in: int
    ) -> str:
        """A GET URL valid for ``expires_in`` seconds that serves the blob with
        ``content_type`` and ``Content-Disposition`` inline or attachment (filename
        ``name``). Signing does no I/O."""
        ...

    def head(self, blob_id: str) -> BlobInfo | None:
        """The stored blob's size and type; None when nothing was uploaded."""
        ...

    def mark_attached(self, blob_id: str) -> None:
        """The blob belongs to a message now: it no longer expires as a pending upload."""
        ...

    def delete(self, blob_id: str) -> None:
        """Remove the blob (idempotent)."""
        ...


def content_disposition(name: str, inline: bool) -> str:
    """RFC 6266 ``Content-Disposition`` with an ASCII fallback and the UTF-8 name (RFC 8187)."""
    from urllib.parse import quote

    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


OFF = "off"


@dataclass(frozen=True)
class BlobsURL:
    """CHAT_BLOBS read: ``s3`` (``bucket``, ``prefix``), ``file`` (``path``) or ``off``."""

    scheme: str
    bucket: str = ""
    prefix: str = ""
    path: str = ""


def parse_blobs_url(url: str) -> BlobsURL:
    """The one reading of CHAT_BLOBS (the app opens it, a local emulator prepares it);
    raises ValueError."""
    if url == OFF:
        return BlobsURL(OFF)
    scheme, _, rest = url.partition("://")
    if scheme == "s3" and rest:
        bucket, _, prefix = rest.partition("/")
        return BlobsURL("s3", bucket=bucket, prefix=prefix)
    if scheme == "file" and rest.startswith("/") and len(rest) > 1:
        return BlobsURL("file", path=rest[1:])
    raise ValueError(
        f"CHAT_BLOBS must be 's3://<bucket>/<prefix>', 'file:///<path>' or 'off', not {url!r}"
    )


def open_blobs(url: str) -> Blobs | None:
    """The storage CHAT_BLOBS names; None when attachments are off."""
    where = parse_blobs_url(url)
    if where.scheme == "s3":
        from chalicelib.blobs.s3 import S3Blobs

        return S3Blobs(where.bucket, where.prefix)
    if where.scheme == "file":
        from chalicelib.blobs.local import LocalBlobs

        return LocalBlobs(where.path)
    return None
