"""MiniStack on 127.0.0.1 for the deploy tests and `python -m bench deploy`, and every
adaptation the deploy paths need there — each one small, with its reason.

The server is the pinned `ministack` from requirements-dev.txt, run from this venv (its
Lambdas run on its interpreter, which is why boto3 and aws-sam-translator sit in the
venv), on a free port, with a fresh state and temp directory, no Docker. It is stopped by
its process id (its whole process group, Lambdas included) by whoever started it and,
should that be skipped, at interpreter exit.

Nothing reaches AWS: the clients' environment points every SDK at MiniStack
(AWS_ENDPOINT_URL), Python processes get offline/sitecustomize.py (an AWS host name
fails to resolve at once), and every other process (Terraform) gets a proxy that
refuses, which the SDKs use for any host but loopback.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = Path(__file__).resolve().parent / "offline"
VENV_BIN = ROOT / ".venv" / "bin"
REGION = "us-east-1"
# A closed port on loopback: a proxy that refuses every connection at once.
REFUSING_PROXY = "http://127.0.0.1:9"
# MiniStack serves execute-api by Host ({api}.execute-api.localhost) or, with no DNS
# needed, by path; the deployed outputs name AWS's host, which is mapped to the path form.
EXECUTE_API = re.compile(r"^(?:wss|https)://([a-z0-9]+)\.execute-api\.[^/]+/([^/]+)$")

_running: set[int] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop_all() -> None:
    for pid in list(_running):
        _kill_group(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    _running.discard(pid)


atexit.register(_stop_all)


def pinned_version() -> str:
    """The MiniStack version requirements-dev.txt pins (ministack==X)."""
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        match = re.fullmatch(r"ministack==(\S+)", line.split("#", 1)[0].strip())
        if match:
            return match.group(1)
    raise RuntimeError("requirements-dev.txt pins no ministack version (ministack==X)")


def check_pinned_version() -> None:
    pinned = pinned_version()
    try:
        installed = importlib.metadata.version("ministack")
    except importlib.metadata.PackageNotFoundError:
        installed = "none"
    if installed != pinned:
        raise RuntimeError(
            f"MiniStack {installed} is installed, requirements-dev.txt pins {pinned}: "
            "install it with `pip install -r requirements-dev.txt` (make test does)"
        )


class MiniStack:
    """One MiniStack server and the environment its clients run in."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "ministack.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server_env(self) -> dict[str, str]:
        state, tmp = self.workdir / "state", self.workdir / "tmp"
        state.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        return {
            **self.client_env(),
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "PERSIST_STATE": "0",
            "STATE_DIR": str(state),
            "S3_DATA_DIR": str(state / "s3"),
            "TMPDIR": str(tmp),
            "LAMBDA_EXECUTOR": "local",  # Lambdas as subprocesses: no Docker
            # Listeners the chat does not use, which would take fixed ports (8883).
            "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
        }

    def client_env(self) -> dict[str, str]:
        """What a user exports to point the AWS CLI, Chalice and Terraform at MiniStack."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "CHAT_", "TF_")) and k not in ("PYTHONPATH",)
        }
        config = self.workdir / "aws-config"
        config.write_text(f"[default]\nregion = {REGION}\n")
        env.update(
            {
                "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_CONFIG_FILE": str(config),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.workdir / "no-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "",
                "PYTHONPATH": str(OFFLINE),
                "HTTPS_PROXY": REFUSING_PROXY,
                "HTTP_PROXY": REFUSING_PROXY,
                "https_proxy": REFUSING_PROXY,
                "http_proxy": REFUSING_PROXY,
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "CHECKPOINT_DISABLE": "1",  # Terraform's version check
            }
        )
        return env

    def start(self, timeout: float = 30) -> MiniStack:
        check_pinned_version()
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ministack"],
                cwd=self.workdir,
                env=self.server_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the Lambdas go with it
            )
        _running.add(self.process.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            health = f"{self.endpoint}/_ministack/health"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=1):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"MiniStack did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None:
            _kill_group(self.process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def websocket_url(self, deployed_url: str) -> str:
        """MiniStack's address of a deployed API: wss://{api}.execute-api.../{stage} ->
        ws://127.0.0.1:PORT/_aws/execute-api/{api}/{stage} (path form: no DNS needed)."""
        match = EXECUTE_API.match(deployed_url.strip())
        if not match:
            raise ValueError(f"not an execute-api URL: {deployed_url!r}")
        api, stage = match.groups()
        return f"ws://127.0.0.1:{self.port}/_aws/execute-api/{api}/{stage}"


def without_api_deployment(sam_path: Path) -> None:
    """MiniStack 1.5.33 refuses a template naming AWS::ApiGatewayV2::Deployment (from
    Chalice's own package output) before creating anything. Its data plane serves a
    WebSocket API's routes without a deployment, so the harness drops the resource and
    the stage's DeploymentId; on AWS a stage needs both, so only the harness does this."""
    template: dict[str, Any] = json.loads(sam_path.read_text())
    resources = template["Resources"]
    for name in [n for n, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Deployment"]:
        del resources[name]
        for resource in resources.values():
            if resource.get("Properties", {}).get("DeploymentId") == {"Ref": name}:
                del resource["Properties"]["DeploymentId"]
            depends = resource.get("DependsOn")
            if depends == name:
                del resource["DependsOn"]
            elif isinstance(depends, list) and name in depends:
                depends.remove(name)
    sam_path.write_text(json.dumps(template, indent=2))


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.deploy.ministack without-deployment build/cloudformation/sam.json`:
    the one template change the CloudFormation path needs on MiniStack, for users too."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "without-deployment":
        print(main.__doc__, file=sys.stderr)
        return 2
    without_api_deployment(Path(args[1]))
    print(f"removed AWS::ApiGatewayV2::Deployment from {args[1]} (for MiniStack only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
