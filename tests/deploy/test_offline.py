"""Nothing the deploy tests start can reach AWS: an AWS host name fails at once in every
Python process (aws, chalice, MiniStack, its Lambdas) and every other request but to
loopback goes to a proxy that refuses (Terraform)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy import paths
from tests.deploy.ministack import MiniStack

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
LOOKUP = """
import socket, sys
for host in sys.argv[1:]:
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as error:
        print("blocked", host, error)
    else:
        print("resolved", host)
"""

BOTO = """
import boto3, botocore.config, sys
client = boto3.client("sts", endpoint_url=None, config=botocore.config.Config(
    retries={"max_attempts": 1}, connect_timeout=2))
client.meta.events.register("before-send", lambda request, **_: print("url", request.url))
try:
    client.get_caller_identity()
except Exception as error:
    print("failed", type(error).__name__)
"""


def test_python_processes_cannot_resolve_aws_hosts(ministack: MiniStack) -> None:
    hosts = ["sts.amazonaws.com", "abc.execute-api.us-east-1.amazonaws.com",
             "dynamodb.cn-north-1.amazonaws.com.cn", "127.0.0.1"]
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", LOOKUP, *hosts], env=ministack.client_env(),
                         capture_output=True, text=True, timeout=30).stdout
    assert time.monotonic() - started < 10  # at once, no DNS timeout
    for host in hosts[:3]:
        assert f"blocked {host}" in out, out
    assert "resolved 127.0.0.1" in out


@pytest.mark.parametrize(
    ("dropped", "error"),
    [((), "ProxyConnectionError"),  # the proxy refuses first
     (PROXY_VARIABLES, "EndpointConnectionError")],  # and without it, the lookup fails
)
def test_an_sdk_call_without_an_endpoint_setting_fails_fast(
    ministack: MiniStack, dropped: tuple[str, ...], error: str
) -> None:
    env = ministack.client_env()
    for name in ("AWS_ENDPOINT_URL", *dropped):  # as if a setting were missed
        del env[name]
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", BOTO], env=env, capture_output=True,
                         text=True, timeout=60).stdout
    assert "url https://sts.us-east-1.amazonaws.com/" in out, out
    assert f"failed {error}" in out, out
    assert time.monotonic() - started < 20


def test_terraform_without_endpoints_fails_at_once(tmp_path: Path) -> None:
    """A provider with no endpoint setting would talk to AWS: the refusing proxy stops it."""
    missing = paths.terraform_missing()
    assert missing is None, missing
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf.json").write_text(
        # one attempt: the provider's retries of a refused connection only add time
        '{"provider": {"aws": {"region": "us-east-1", "max_retries": 1}},'
        ' "data": {"aws_caller_identity": {"me": {}}}}'
    )
    env = MiniStack(tmp_path).client_env()
    del env["AWS_ENDPOINT_URL"]
    env["TF_CLI_CONFIG_FILE"] = str(paths.terraform_cli_config(tmp_path))
    init = subprocess.run(["terraform", f"-chdir={module}", "init", "-input=false"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    started = time.monotonic()
    plan = subprocess.run(["terraform", f"-chdir={module}", "plan", "-input=false"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert plan.returncode != 0
    assert "127.0.0.1:9" in plan.stdout + plan.stderr or "proxyconnect" in plan.stderr, (
        plan.stdout + plan.stderr)
    assert time.monotonic() - started < 120
