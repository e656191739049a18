"""A worker's side of the @connections API (localgw/workers.py) over a real pipe: posts to
connections it knows are open go one way; any other waits for the gateway's answer."""

from __future__ import annotations

import threading
from multiprocessing import Pipe
from typing import Any

from localgw.gateway import GONE, Quotas, Reply
from localgw.workers import PipeConnections


class FakeGateway(threading.Thread):
    """The gateway end of the pipe: answers each manage call from ``answers``."""

    def __init__(self, end: Any, answers: dict[str, Reply]) -> None:
        super().__init__(daemon=True)
        self.end, self.answers, self.seen = end, answers, []

    def run(self) -> None:
        while True:
            try:
                message = self.end.recv()
            except EOFError:
                return
            self.seen.append(message)
            if message[0] == "manage":
                reply = self.answers[message[2]]
                self.end.send(("reply", reply.status, reply.body, reply.error_type))


def test_posts_to_unknown_connections_ask_the_gateway_then_go_one_way() -> None:
    ours, theirs = Pipe()
    gateway = FakeGateway(theirs, {"new": Reply(200), "gone": GONE})
    gateway.start()
    connections = PipeConnections(ours, Quotas(max_message_bytes=10))
    connections.open.add("known")

    assert connections.post("known", b"a").status == 200
    assert connections.post("new", b"b").status == 200  # opened since the invocation began
    assert connections.post("new", b"c").status == 200  # now known: one way
    assert connections.post("gone", b"d") == GONE
    assert connections.post("known", b"x" * 11).error_type == "PayloadTooLargeException"
    ours.close()
    gateway.join(timeout=5)

    assert gateway.seen == [
        ("post", "known", b"a"),
        ("manage", "POST", "new", b"b"),
        ("post", "new", b"c"),
        ("manage", "POST", "gone", b"d"),
    ]
    assert "gone" not in connections.open
