"""One gateway per store: the file the app named as its store (``exclusive_path`` from its
``prepare_local`` hook) is held through a lock file beside it for the gateway's life,
so a second gateway on the same SQLite file refuses to start and names the first.
(Two servers on one file would each clear the other's connections.)"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import IO

SUFFIX = ".localgw.lock"


def hold(store_path: str) -> IO[str]:
    """Takes the lock for this process or exits naming the process that holds it. The
    returned file keeps it: keep a reference until the gateway ends."""
    path = store_path + SUFFIX
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    lock = os.fdopen(descriptor, "r+", encoding="ascii")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise SystemExit(
            f"{store_path} is already served by another local gateway (pid {holder});"
            " stop that one, or set CHAT_STORE to another file"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def release(lock: IO[str] | None) -> None:
    if lock is not None:
        with contextlib.suppress(OSError):
            lock.close()
