"""The one interface the gateway runs handlers through, whichever way they run (threads
of this process: localgw.thread_invoker; worker processes: localgw.process_invoker)."""

from __future__ import annotations

from typing import Any, Protocol

from localgw.connections_api import ConnectionsAPI
from localgw.runtime import Invocation, Prepared


class Invoker(Protocol):
    """Runs the app's handlers like concurrent Lambda invocations."""

    @property
    def busy(self) -> int:
        """Invocations running now (a handler that outlived its caller included)."""
        ...

    async def start(self, connections: ConnectionsAPI, endpoint: str) -> Prepared:
        """Loads the app, hooks its @connections client to ``connections`` (reached at
        ``endpoint`` by anything that bypasses the hook), and runs its preparation."""
        ...

    def has(self, route: str) -> bool: ...

    async def invoke(self, route: str, event: dict[str, Any]) -> Invocation: ...

    def shutdown(self) -> None: ...
