"""The app's preparation hook for local emulators (chalicelib/store/prepare.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from chalicelib.store.prepare import prepare_local


def test_sqlite_directory_is_created_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "chat.db"
    prepared = prepare_local({"CHAT_STORE": f"sqlite:///{db}"})
    assert prepared.description == f"SQLite {db}"
    assert prepared.exclusive_path == str(db.resolve())
    assert db.parent.is_dir()
    assert (db.parent.stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "redis://x", "dynamodb:"])
def test_stores_the_handlers_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(SystemExit, match="CHAT_STORE"):
        prepare_local({"CHAT_STORE": url})


def test_the_app_offers_the_hook_where_localgw_looks_for_it() -> None:
    assert app.prepare_local is prepare_local
