"""Attachments in S3: presigned POST (the browser uploads straight to the bucket) and
presigned GET (short-lived, signed afresh for every frame), HEAD to check what arrived,
tagging so the bucket's lifecycle rule expires only uploads never attached.

boto3 honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, so moto and MiniStack on loopback
stand in for S3 in tests; there, addressing is path-style. On AWS it is virtual-hosted
on the regional endpoint (``https://<bucket>.s3.<region>.amazonaws.com``), the one origin
the frontend's CSP allows. Signing is local computation; only ``head``,
``mark_attached`` and ``delete`` make requests.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.blobs import BlobInfo, PresignedPost, content_disposition

STATE_TAG = "chat-state"
# sent by the browser with the upload, so the lifecycle rule can expire it unattached
PENDING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{STATE_TAG}</Key><Value>pending</Value></Tag></TagSet></Tagging>"
)
_MISSING = ("404", "NoSuchKey", "NotFound")


class S3Blobs:
    def __init__(self, bucket: str, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix

    @cached_property
    def _s3(self) -> Any:
        local = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
        config = Config(
            signature_version="s3v4",
            s3={
                "addressing_style": "path" if local else "virtual",
                "us_east_1_regional_endpoint": "regional",
            },
            retries={"mode": "standard"},
        )
        return boto3.client("s3", config=config)

    def _key(self, blob_id: str) -> str:
        return f"{self.prefix}{blob_id}"

    def presign_upload(
        self, blob_id: str, content_type: str, size: int, expires_in: int
    ) -> PresignedPost:
        post = self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=self._key(blob_id),
            Fields={"Content-Type": content_type, "tagging": PENDING_TAGGING},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, size],
                {"tagging": PENDING_TAGGING},
            ],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=post["url"], fields=dict(post["fields"]))

    def presign_download(
        self, blob_id: str, *, name: str, content_type: str, inline: bool, expires_in: int
    ) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(blob_id),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(name, inline),
            },
            ExpiresIn=expires_in,
        )
        return url

    def head(self, blob_id: str) -> BlobInfo | None:
        try:
            found = self._s3.head_object(Bucket=self.bucket, Key=self._key(blob_id))
        except ClientError as problem:
            if problem.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return BlobInfo(size=int(found["ContentLength"]), type=str(found.get("ContentType", "")))

    def mark_attached(self, blob_id: str) -> None:
        self._s3.put_object_tagging(
            Bucket=self.bucket,
            Key=self._key(blob_id),
            Tagging={"TagSet": [{"Key": STATE_TAG, "Value": "attached"}]},
        )

    def delete(self, blob_id: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=self._key(blob_id))
