"""docs/protocol.md documents every action, every server frame and every error
code, each with a JSON example that parses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib import protocol

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
EXAMPLES = [
    json.loads(block)
    for block in re.findall(r"```json\n(.*?)\n```", DOC, re.S)
]


def test_every_action_has_a_parsing_example() -> None:
    client_frames = [example for example in EXAMPLES if "action" in example]
    assert {example["action"] for example in client_frames} == set(protocol._PARSERS)
    for example in client_frames:
        protocol.parse(json.dumps(example))


def test_every_server_frame_and_error_code_is_shown() -> None:
    for frame_type in ["welcome", "ack", "message", "history", "conversations", "users",
                       "read", "typing", "presence", "pong", "bye", "error"]:
        assert f'{{"type": "{frame_type}"' in DOC, frame_type
    for code in protocol.ERROR_CODES:
        assert f'"code": "{code}"' in DOC, code
