"""What a browser does with an ``upload`` reply and a message's attachment, over real
HTTP: the multipart POST of the form fields and the file, and the GET of a download URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import requests


def post_file(
    base: str, upload: dict[str, Any], data: bytes, content_type: str, name: str = "file"
) -> requests.Response:
    """POST the upload's fields in order, then the file last (as S3 requires)."""
    return requests.post(
        urljoin(base, upload["url"]),
        data=list(upload["fields"].items()),
        files={"file": (name, data, content_type)},
        timeout=30,
    )


def download(base: str, url: str) -> requests.Response:
    return requests.get(urljoin(base, url), timeout=30)
