"""A Blobs for the core's unit tests: bytes in a dict, URLs that name what they sign.

The real implementations (chalicelib/blobs/s3.py, chalicelib/blobs/local.py) are
tested over HTTP against moto, MiniStack and the local gateway; this one lets the
handlers' decisions be tested without a server, like MemoryStore for the Store.
"""

from __future__ import annotations

from urllib.parse import urlencode

from chalicelib.blobs import BlobInfo, PresignedPost


class MemoryBlobs:
    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self.attached: set[str] = set()
        self.deleted: list[str] = []
        self.signed = 0

    def put(self, blob_id: str, data: bytes, content_type: str) -> None:
        """What a client's POST would have stored."""
        self.blobs[blob_id] = (data, content_type)

    def presign_upload(
        self, blob_id: str, content_type: str, size: int, expires_in: int
    ) -> PresignedPost:
        return PresignedPost(
            "memory://blobs/",
            {"key": blob_id, "Content-Type": content_type, "max": str(size)},
        )

    def presign_download(
        self, blob_id: str, *, name: str, content_type: str, inline: bool, expires_in: int
    ) -> str:
        self.signed += 1
        query = {"type": content_type, "inline": int(inline), "n": self.signed}
        return f"memory://blobs/{blob_id}?{urlencode(query)}"

    def head(self, blob_id: str) -> BlobInfo | None:
        found = self.blobs.get(blob_id)
        return None if found is None else BlobInfo(len(found[0]), found[1])

    def mark_attached(self, blob_id: str) -> None:
        self.attached.add(blob_id)

    def delete(self, blob_id: str) -> None:
        self.blobs.pop(blob_id, None)
        self.deleted.append(blob_id)
