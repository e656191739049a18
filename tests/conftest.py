"""Fixtures shared by every suite.

At import: fake AWS credentials and a region, so no test can reach a real AWS
account, a cheap scrypt cost so suites that sign up many users stay fast
(the production cost is tested in tests/unit/test_auth.py), no per-IP
limits and no send limit.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest

for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
# the app's settings for every suite, local gateways and deployed functions alike
SUITE_SETTINGS = {
    "CHAT_SCRYPT_COST": "1024,8,1",
    # every simulated person of a test comes from 127.0.0.1: the per-IP limits
    # would count them all as one; and suites fill conversations faster than a
    # person types (the tests of these limits set them back)
    "CHAT_LIMIT_LOGIN_IP": "off",
    "CHAT_LIMIT_REGISTER_IP": "off",
    "CHAT_LIMIT_SEND": "off",
}
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        **SUITE_SETTINGS,
    }
)

FAST_SCRYPT = "1024,8,1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A DynamoDB-protocol server (moto's server mode) on loopback, made safe
    for concurrent requests (see tests/moto_tuning.py)."""
    from moto.server import ThreadedMotoServer

    from tests.moto_tuning import serialize_moto_dynamodb

    serialize_moto_dynamodb()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def dynamodb_table(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """Creates a fresh table from the single table definition; returns its name.
    Also points AWS_ENDPOINT_URL_DYNAMODB at the loopback server."""
    from chalicelib.store import schema

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint)
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint)

    def create() -> str:
        name = f"chat-{uuid.uuid4().hex[:12]}"
        schema.ensure_table(client, name)
        return name

    return create
