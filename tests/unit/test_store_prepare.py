"""The app's preparation hook for local emulators (chalicelib/store/prepare.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from chalicelib.blobs.local import LocalBlobs, LocalBlobServer
from chalicelib.store.prepare import prepare_local


def test_sqlite_directory_is_created_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "chat.db"
    prepared = prepare_local({"CHAT_STORE": f"sqlite:///{db}", "CHAT_BLOBS": "off"})
    assert prepared.description == f"SQLite {db}"
    assert prepared.exclusive_path == str(db.resolve())
    assert prepared.blobs is None
    assert db.parent.is_dir()
    assert (db.parent.stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "redis://x", "dynamodb:"])
def test_stores_the_handlers_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(SystemExit, match="CHAT_STORE"):
        prepare_local({"CHAT_STORE": url})


def test_the_app_offers_the_hook_where_localgw_looks_for_it() -> None:
    assert app.prepare_local is prepare_local


def test_a_blob_directory_is_created_private_with_its_server(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "blobs"
    prepared = prepare_local(
        {"CHAT_STORE": f"sqlite:///{tmp_path / 'chat.db'}", "CHAT_BLOBS": f"file:///{directory}"}
    )
    assert isinstance(prepared.blobs, LocalBlobServer)
    assert prepared.blobs.root == directory.resolve()
    assert prepared.exclusive_path == str((tmp_path / "chat.db").resolve())
    assert str(directory.resolve()) in prepared.description
    assert (directory.stat().st_mode & 0o777) == 0o700
    assert ((directory / ".secret").stat().st_mode & 0o777) == 0o600


def test_a_relative_blob_directory_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    prepared = prepare_local(
        {"CHAT_STORE": "sqlite:///.chat/chat.db", "CHAT_BLOBS": "file:///.chat/blobs"}
    )
    assert prepared.blobs is not None
    assert prepared.blobs.root == tmp_path / ".chat" / "blobs"


def test_preparing_sweeps_pending_uploads_older_than_the_ttl(tmp_path: Path) -> None:
    env = {"CHAT_STORE": f"sqlite:///{tmp_path / 'chat.db'}",
           "CHAT_BLOBS": f"file:///{tmp_path / 'blobs'}"}
    server = prepare_local(env).blobs
    assert server is not None
    blobs = LocalBlobs(tmp_path / "blobs")
    for blob_id in ("pending", "attached"):
        post = blobs.presign_upload(blob_id, "text/plain", 2, 900)
        assert server.accept_upload(post.fields, b"hi") is None
    blobs.mark_attached("attached")
    prepare_local(env)  # the default TTL: both are young
    assert blobs.head("pending") is not None
    prepare_local({**env, "CHAT_UPLOAD_TTL": "0"})
    assert blobs.head("pending") is None
    assert blobs.head("attached") is not None


@pytest.mark.parametrize("url", ["s3://bucket/attachments/", "off"])
def test_blobs_elsewhere_need_no_preparing(tmp_path: Path, url: str) -> None:
    prepared = prepare_local({"CHAT_STORE": f"sqlite:///{tmp_path / 'chat.db'}", "CHAT_BLOBS": url})
    assert prepared.blobs is None


@pytest.mark.parametrize("url", ["file://", "file:///", "s3://", "ftp://x/y", "blobs"])
def test_blob_urls_the_app_cannot_use_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(SystemExit, match="CHAT_BLOBS"):
        prepare_local({"CHAT_STORE": f"sqlite:///{tmp_path / 'chat.db'}", "CHAT_BLOBS": url})
