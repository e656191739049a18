"""The local gateway's ids: API Gateway's shapes, drawn from a buffered os.urandom."""

from __future__ import annotations

import re
import uuid

from localgw import events


def test_random_bytes_never_hands_out_the_same_bytes_twice() -> None:
    draws = [events.random_bytes(11) for _ in range(3 * events.random_bytes.PAGE // 11)]
    assert all(len(d) == 11 for d in draws)
    assert len(set(draws)) == len(draws)  # across page refills too
    assert len(events.random_bytes(events.random_bytes.PAGE + 1)) == events.random_bytes.PAGE + 1


def test_ids_have_api_gateway_and_lambda_shapes() -> None:
    ids = {events.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{15}=", i) for i in ids)
    request_id = uuid.UUID(events.new_uuid())
    assert request_id.version == 4
    assert str(request_id) != events.new_uuid()
