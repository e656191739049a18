"""The CPU one direct message costs the chat core alone: ``Chat.receive`` of a
``send`` on a SQLite store plus encoding its frames, in this process, with no
gateway, no Chalice and no boto3. It bounds what any gateway running the real
app could reach against the bare relay, which spends less than that per message
on everything."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.stats import median
from chalicelib import protocol
from chalicelib.auth import ScryptCost
from chalicelib.chat import Chat, ChatConfig
from chalicelib.store.sqlite import SQLiteStore

SENDS = 3000


def cpu_ms_per_send(sends: int = SENDS) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        chat = Chat(SQLiteStore(str(Path(tmp) / "chat.db")),
                    ChatConfig(scrypt_cost=ScryptCost(1024, 8, 1)))
        for conn, name in (("A", "alice"), ("B", "bob")):
            chat.receive(conn, json.dumps(
                {"action": "register", "username": name, "password": "password1"}))
        text = "x" * 64
        started = time.process_time()
        for i in range(sends):
            outcome = chat.receive("A", json.dumps(
                {"action": "send", "to": "bob", "text": text, "client_id": f"c{i}"}))
            for item in outcome.frames:
                protocol.encode(item.frame)
        return (time.process_time() - started) * 1000 / sends


def measure(runs: int) -> float:
    """Median over ``runs`` fresh stores, in ms of CPU per send."""
    return median(cpu_ms_per_send() for _ in range(runs))
