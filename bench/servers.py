"""Starts the servers under test as child processes bound to 127.0.0.1 (the local
gateway running the real app, or the bare relay) and reads their memory from /proc."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.machine import ROOT

SERVING = re.compile(r"Serving \w+ on (http://[^\s/]+)/")
FAST_SCRYPT = "1024,8,1"
# the load benches measure the chat, not its rate limits (bench cost measures those):
# simulated people all come from loopback and send faster than a person would
LIMITS_OFF = {
    "CHAT_LIMIT_LOGIN": "off",
    "CHAT_LIMIT_LOGIN_IP": "off",
    "CHAT_LIMIT_REGISTER_IP": "off",
    "CHAT_LIMIT_SEND": "off",
    "CHAT_LIMIT_SIGN_IN": "off",
    "CHAT_LIMIT_UPLOAD": "off",
    "CHAT_TYPING_INTERVAL": "0",
}
START_TIMEOUT = 30.0


def tree(pid: int) -> list[int]:
    """A process and all its descendants (the gateway and its handler processes)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
    return found


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _over_tree(pid: int, read: Callable[[int], float]) -> float:
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            total += read(member)
    return total


def rss_kib(pid: int) -> int:
    """Resident memory (VmRSS) of a process and its descendants, in KiB."""
    return int(_over_tree(pid, _rss_kib))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its live descendants have used so far."""
    return _over_tree(pid, _cpu_seconds)


def loopback_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child server: fake AWS credentials (nothing may reach
    AWS), a cheap scrypt cost so sign-ups are fast, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "CHAT_SCRYPT_COST": FAST_SCRYPT,
            "PYTHONUNBUFFERED": "1",
            **LIMITS_OFF,
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A running child server; ``ws_url`` is its WebSocket endpoint."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/ws"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, like a crashed host."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(
    name: str, args: list[str], log_path: Path, env: Mapping[str, str] | None = None
) -> Server:
    """Run ``python <args>`` from the project root, output to ``log_path``, and wait
    for its 'Serving ... on http://HOST:PORT/' line."""
    log = log_path.open("wb")
    try:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=loopback_env(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        match = SERVING.search(log_path.read_text(errors="replace"))
        if match:
            return Server(name, process, match.group(1), log_path, args)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"{name} did not start (exit {process.returncode}):\n{tail}")


def gateway_args(port: int = 0, *extra: str) -> list[str]:
    return ["-m", "localgw", "--host", "127.0.0.1", "--port", str(port), *extra]


def start_gateway(
    store_url: str,
    log_path: Path,
    *,
    port: int = 0,
    extra_args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Server:
    """The local gateway running the real app on ``store_url``."""
    return start(
        "gateway",
        gateway_args(port, "--log-level", "WARNING", *extra_args),
        log_path,
        # the app logs its one line per event as on Lambda; the gateway's own
        # per-invocation REPORT lines (Lambda's platform writes those) are off
        {"CHAT_STORE": store_url, "CHAT_LOG_LEVEL": "INFO", **(env or {})},
    )


def start_relay(log_path: Path) -> Server:
    """The bare in-memory relay (bench/relay.py)."""
    return start("relay", ["-m", "bench.relay", "--port", "0"], log_path)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()
