"""The interface of the blob store an app's ``prepare_local`` may hand the gateway
(``Prepared.blobs``), which the gateway serves at /blobs/ (localgw/blobs.py). The store
checks every request itself (signatures, expiry, policy); the gateway only carries the
HTTP. This app's is ``chalicelib.blobs.local.LocalBlobServer``; the gateway never
imports it: a worker process sends it over the pipe, pickled. No aiohttp here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Refusal(Protocol):
    """An S3-shaped error: the HTTP status and an XML body."""

    @property
    def status(self) -> int: ...

    def xml(self) -> bytes: ...


class Upload(Protocol):
    """A permitted upload being received."""

    def write(self, chunk: bytes) -> Refusal | None: ...

    def finish(self) -> Refusal | None: ...

    def abort(self) -> None: ...


class Download(Protocol):
    @property
    def path(self) -> Path: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


class BlobServer(Protocol):
    @property
    def max_upload(self) -> int:
        """The largest file any upload may be."""
        ...

    @property
    def malformed_post(self) -> Refusal:
        """The answer to a POST that is not well-formed multipart/form-data."""
        ...

    @property
    def entity_too_large(self) -> Refusal:
        """The answer to a POST larger than any upload may be."""
        ...

    def begin_upload(self, form: Mapping[str, str]) -> Upload | Refusal:
        """Checks the form's fields (those before the file) before the file is read."""
        ...

    def open_download(self, key: str, query: Mapping[str, str]) -> Download | Refusal: ...
