"""The gateway's check of CHAT_STORE before it serves (localgw/store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localgw.store import prepare_store


def test_sqlite_directory_is_created(tmp_path: Path) -> None:
    db = tmp_path / "new" / "chat.db"
    assert prepare_store({"CHAT_STORE": f"sqlite:///{db}"}) == f"SQLite {db}"
    assert db.parent.is_dir()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "redis://x", "dynamodb:"])
def test_stores_the_handlers_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(SystemExit, match="CHAT_STORE"):
        prepare_store({"CHAT_STORE": url})
