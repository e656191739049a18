"""The embedded blob store's two halves on a real directory, with a clock of the test's
(chalicelib/blobs/local.py): records, the sweep, the key, what a POST or a GET may do.
Over HTTP through a real gateway: tests/e2e/test_local_blobs.py."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.blobs import BlobInfo
from chalicelib.blobs.local import (
    DEFAULT_UPLOAD_TTL,
    SECRET_FILE,
    BlobError,
    Download,
    LocalBlobs,
    LocalBlobServer,
    load_secret,
)
from localgw.blobs_api import BlobServer
from tests.unit.conftest import Clock

BAD_IDS = ["", "../x", "..", "a/b", "a.b", ".secret", "x" * 65, "é", "a b", "a\x00"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def blobs(tmp_path: Path, clock: Clock) -> LocalBlobs:
    return LocalBlobs(tmp_path / "blobs", clock=clock)


@pytest.fixture
def server(tmp_path: Path, clock: Clock, blobs: LocalBlobs) -> LocalBlobServer:
    return LocalBlobServer(tmp_path / "blobs", clock=clock)


def upload(blobs: LocalBlobs, server: LocalBlobServer, blob_id: str, body: bytes) -> None:
    post = blobs.presign_upload(blob_id, "image/png", len(body), 900)
    assert server.accept_upload(post.fields, body) is None


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_the_post_form_is_an_s3_style_policy(blobs: LocalBlobs, clock: Clock) -> None:
    post = blobs.presign_upload("abc_-9", "image/png", 1234, 900)
    assert post.url == "/blobs/"
    assert list(post.fields) == ["key", "Content-Type", "policy", "x-chat-signature"]
    assert post.fields["key"] == "abc_-9" and post.fields["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    assert policy["conditions"] == [
        {"key": "abc_-9"}, {"Content-Type": "image/png"}, ["content-length-range", 1, 1234]
    ]
    assert policy["expiration"].endswith("Z")
    assert len(post.fields["x-chat-signature"]) == 64


def test_an_upload_is_stored_privately_and_pending(
    blobs: LocalBlobs, server: LocalBlobServer, tmp_path: Path
) -> None:
    upload(blobs, server, "one", b"\x89PNG....")
    assert blobs.head("one") == BlobInfo(size=8, type="image/png")
    root = tmp_path / "blobs"
    assert (root.stat().st_mode & 0o777) == 0o700
    for name in ("one", "one.json", SECRET_FILE):
        assert ((root / name).stat().st_mode & 0o777) == 0o600, name
    assert json.loads((root / "one.json").read_text())["state"] == "pending"
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp-")]


def test_a_download_url_serves_what_it_signed(
    blobs: LocalBlobs, server: LocalBlobServer, clock: Clock
) -> None:
    upload(blobs, server, "one", b"bytes")
    url = blobs.presign_download(
        "one", name="cat.png", content_type="image/png", inline=True, expires_in=3600
    )
    assert url.startswith("/blobs/one?")
    clock.advance(600)
    found = server.open_download("one", query(url))
    assert isinstance(found, Download)
    assert found.path.read_bytes() == b"bytes"
    assert found.headers["Content-Type"] == "image/png"
    assert found.headers["Content-Disposition"].startswith('inline; filename="cat.png"')
    assert found.headers["Cache-Control"] == "private, max-age=3000"
    assert found.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 64},
        {"type": "text/html"},
        {"disposition": 'inline; filename="x.html"'},
        {"expires": "9999999999"},
        {"expires": "12x"},
        {"signature": ""},
    ],
)
def test_a_changed_download_url_is_refused(
    blobs: LocalBlobs, server: LocalBlobServer, change: dict[str, str]
) -> None:
    upload(blobs, server, "one", b"bytes")
    url = blobs.presign_download(
        "one", name="cat.png", content_type="image/png", inline=True, expires_in=60
    )
    found = server.open_download("one", {**query(url), **change})
    assert isinstance(found, BlobError) and found.status == 403


def test_an_expired_download_url_is_refused(
    blobs: LocalBlobs, server: LocalBlobServer, clock: Clock
) -> None:
    upload(blobs, server, "one", b"bytes")
    url = blobs.presign_download(
        "one", name="a.pdf", content_type="application/pdf", inline=False, expires_in=60
    )
    clock.advance(60)
    found = server.open_download("one", query(url))
    assert found == BlobError(403, "AccessDenied", "Request has expired.")


def test_an_expired_post_is_refused_and_stores_nothing(
    blobs: LocalBlobs, server: LocalBlobServer, clock: Clock
) -> None:
    post = blobs.presign_upload("one", "image/png", 5, 900)
    clock.advance(900)
    problem = server.accept_upload(post.fields, b"bytes")
    assert isinstance(problem, BlobError) and problem.status == 403
    assert "expired" in problem.message
    assert blobs.head("one") is None


def test_an_attached_blob_is_never_replaced_but_a_pending_one_may_be(
    blobs: LocalBlobs, server: LocalBlobServer
) -> None:
    post = blobs.presign_upload("one", "image/png", 10, 900)
    assert server.accept_upload(post.fields, b"first") is None
    assert server.accept_upload(post.fields, b"second") is None
    assert blobs.head("one") == BlobInfo(6, "image/png")
    blobs.mark_attached("one")
    problem = server.accept_upload(post.fields, b"third!!")
    assert isinstance(problem, BlobError) and problem.status == 403
    assert blobs.head("one") == BlobInfo(6, "image/png")


def test_delete_is_idempotent_and_mark_attached_of_nothing_does_nothing(
    blobs: LocalBlobs, server: LocalBlobServer, tmp_path: Path
) -> None:
    upload(blobs, server, "one", b"bytes")
    blobs.delete("one")
    blobs.delete("one")
    blobs.mark_attached("one")
    assert blobs.head("one") is None
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == [".lock", SECRET_FILE]


@pytest.mark.parametrize("blob_id", BAD_IDS)
def test_no_method_takes_an_id_that_could_name_another_file(
    blobs: LocalBlobs, server: LocalBlobServer, blob_id: str
) -> None:
    for call in (
        lambda: blobs.presign_upload(blob_id, "image/png", 1, 900),
        lambda: blobs.presign_download(
            blob_id, name="a", content_type="image/png", inline=True, expires_in=60
        ),
        lambda: blobs.head(blob_id),
        lambda: blobs.mark_attached(blob_id),
        lambda: blobs.delete(blob_id),
    ):
        with pytest.raises(ValueError, match="not a blob id"):
            call()
    found = server.open_download(blob_id, {})
    assert isinstance(found, BlobError) and found.status == 400


def test_the_sweep_removes_old_pending_uploads_only(
    blobs: LocalBlobs, server: LocalBlobServer, clock: Clock, tmp_path: Path
) -> None:
    upload(blobs, server, "old", b"old")
    upload(blobs, server, "kept", b"kept")
    blobs.mark_attached("kept")
    clock.advance(3600)
    upload(blobs, server, "young", b"young")
    leftover = tmp_path / "blobs" / ".tmp-deadbeef"
    leftover.write_bytes(b"half an upload")
    os.utime(leftover, (clock.now - DEFAULT_UPLOAD_TTL - 1,) * 2)
    clock.advance(DEFAULT_UPLOAD_TTL - 3600)  # "old" is now exactly one TTL old
    assert server.sweep() == 0
    clock.advance(1)
    assert server.sweep() == 1
    assert blobs.head("old") is None
    assert blobs.head("kept") == BlobInfo(4, "image/png")
    assert blobs.head("young") == BlobInfo(5, "image/png")
    assert not leftover.exists()


def test_uploads_sweep_now_and_then(
    blobs: LocalBlobs, server: LocalBlobServer, clock: Clock
) -> None:
    upload(blobs, server, "old", b"old")
    clock.advance(DEFAULT_UPLOAD_TTL + 1)
    upload(blobs, server, "new", b"new")
    assert blobs.head("old") is None
    assert blobs.head("new") is not None


def _secret_of(directory: str) -> str:
    return load_secret(Path(directory)).hex()


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "blobs"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        keys = set(pool.map(_secret_of, [str(directory)] * 8))
    assert len(keys) == 1
    assert (directory / SECRET_FILE).read_bytes().hex() in keys
    assert ((directory / SECRET_FILE).stat().st_mode & 0o777) == 0o600
    assert (directory.stat().st_mode & 0o777) == 0o700


def test_a_damaged_key_is_named_not_used(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_bytes(b"short")
    with pytest.raises(RuntimeError, match=r"\.secret is not a blob store key"):
        LocalBlobs(tmp_path)


def test_the_server_is_what_localgw_serves_and_crosses_a_process_boundary(
    blobs: LocalBlobs, server: LocalBlobServer
) -> None:
    served: BlobServer = server  # mypy holds it to localgw's interface
    # a worker process makes it in prepare_local; the gateway process serves with it
    copy = pickle.loads(pickle.dumps(served))
    post = blobs.presign_upload("one", "text/plain", 5, 900)
    assert copy.accept_upload(post.fields, b"hello") is None
    assert blobs.head("one") == BlobInfo(5, "text/plain")
