"""One MiniStack per session for the deploy tests, stopped by its process id whatever
happens (this finalizer, and tests/deploy/ministack.py's atexit hook)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.ministack import MiniStack


@pytest.fixture(scope="session")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniStack]:
    server = MiniStack(tmp_path_factory.mktemp("ministack"))
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
