"""The local gateway's ids: API Gateway's shapes, drawn from os.urandom."""

from __future__ import annotations

import re
import uuid

from localgw import events


def test_ids_have_api_gateway_and_lambda_shapes() -> None:
    ids = {events.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{15}=", i) for i in ids)
    request_id = uuid.UUID(events.new_uuid())
    assert request_id.version == 4
    assert str(request_id) != events.new_uuid()
