"""What S3 itself enforces on the chat's presigned URLs, shown on MiniStack's S3 started
with AUTH=true (it verifies SigV4 presigned GETs, and signed POST policies): the app's
S3Blobs signs, MiniStack refuses what is tampered with, expired, or outside the policy.
moto enforces none of this (tests/e2e/test_attachments_e2e.py says what holds there)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import requests

from chalicelib.blobs.s3 import S3Blobs
from tests.deploy.ministack import MiniStack

PHOTO = b"\x89PNG\r\n\x1a\n" + b"x" * 2000


class AuthMiniStack(MiniStack):
    def server_env(self) -> dict[str, str]:
        return {**super().server_env(), "AUTH": "true"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Blobs, str]]:
    server = AuthMiniStack(tmp_path_factory.mktemp("ministack-auth"))
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    bucket = f"chat-{uuid.uuid4().hex[:10]}"
    # MiniStack's root credentials (under AUTH=true unknown keys are refused)
    env = {"AWS_ENDPOINT_URL_S3": server.endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        # a fresh default session reads these; another test's may hold other credentials
        patch.setattr(boto3, "DEFAULT_SESSION", None)
        boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=bucket)
        blobs = S3Blobs(bucket, "attachments/")
        blobs._s3  # noqa: B018 - the client is made while the endpoint is set
        yield blobs, server.endpoint
    server.stop()


def post(blobs: S3Blobs, blob_id: str, data: bytes, kind: str = "image/png",
         size: int | None = None, expires_in: int = 60, **changes: str) -> requests.Response:
    offer = blobs.presign_upload(blob_id, "image/png", size or len(PHOTO), expires_in)
    fields = {**offer.fields, **changes}
    return requests.post(offer.url, data=list(fields.items()),
                         files={"file": ("f", data, kind)}, timeout=30)


def tampered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_signed_upload_and_download_work(s3: tuple[S3Blobs, str]) -> None:
    blobs, _ = s3
    assert post(blobs, "ok-1", PHOTO).status_code == 204
    info = blobs.head("ok-1")
    assert info is not None and (info.size, info.type) == (len(PHOTO), "image/png")
    url = blobs.presign_download("ok-1", name="a.png", content_type="image/png", inline=True,
                                 expires_in=60)
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and got.content == PHOTO
    assert got.headers["Content-Disposition"].startswith("inline")


def test_tampered_and_expired_downloads_are_refused(s3: tuple[S3Blobs, str]) -> None:
    blobs, _ = s3
    assert post(blobs, "get-1", PHOTO).status_code == 204
    url = blobs.presign_download("get-1", name="a.png", content_type="image/png", inline=True,
                                 expires_in=1)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    forged = "0" * len(signature)
    for bad in (
        tampered(url, **{"X-Amz-Signature": forged}),
        tampered(url, **{"response-content-type": "text/html"}),
        tampered(url, **{"response-content-disposition": "inline"}).replace(
            "attachments/get-1", "attachments/ok-1"),
        url.split("?", 1)[0],  # unsigned
    ):
        assert requests.get(bad, timeout=30).status_code == 403, bad
    time.sleep(2.1)
    assert requests.get(url, timeout=30).status_code == 403


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bigger than declared", 400),
        ("another type", 403),
        ("empty", 400),
        ("another key", 403),
        ("tampered policy", 403),
    ],
)
def test_posts_outside_the_policy_are_refused(
    s3: tuple[S3Blobs, str], case: str, expected: int
) -> None:
    blobs, _ = s3
    blob_id = f"bad-{uuid.uuid4().hex[:8]}"
    if case == "bigger than declared":
        answer = post(blobs, blob_id, PHOTO + b"!", size=len(PHOTO))
    elif case == "another type":
        answer = post(blobs, blob_id, PHOTO, **{"Content-Type": "text/html"})
    elif case == "empty":
        answer = post(blobs, blob_id, b"")
    elif case == "another key":
        answer = post(blobs, blob_id, PHOTO, key="attachments/someone-elses")
    else:
        offer = blobs.presign_upload(blob_id, "image/png", len(PHOTO), 60)
        import base64
        import json

        policy = json.loads(base64.b64decode(offer.fields["policy"]))
        policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)]
        forged = base64.b64encode(json.dumps(policy).encode()).decode()
        answer = post(blobs, blob_id, PHOTO, policy=forged)
    assert answer.status_code == expected, answer.text
    assert blobs.head(blob_id) is None


def test_an_expired_post_is_refused(s3: tuple[S3Blobs, str]) -> None:
    blobs, _ = s3
    offer = blobs.presign_upload("late-1", "image/png", len(PHOTO), 1)
    time.sleep(2.1)
    answer = requests.post(offer.url, data=list(offer.fields.items()),
                           files={"file": ("f", PHOTO, "image/png")}, timeout=30)
    assert answer.status_code == 403
    assert blobs.head("late-1") is None


