"""Put on PYTHONPATH by tests/deploy/ministack.py: every Python process the deploy tests
start (aws, chalice, MiniStack and its Lambdas) fails at once on any lookup of an AWS host,
so nothing can reach a real AWS endpoint even if an endpoint setting is missed."""

from __future__ import annotations

import socket
from typing import Any

AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".aws.dev")
_getaddrinfo = socket.getaddrinfo


def _is_aws(host: Any) -> bool:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    name = name.rstrip(".").lower()
    return any(name.endswith(s) or name == s[1:] for s in AWS_SUFFIXES)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if _is_aws(host):
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: AWS hosts are blocked in this test")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded_getaddrinfo
