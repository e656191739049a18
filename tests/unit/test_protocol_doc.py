"""docs/protocol.md and the action table (chalicelib/actions.py) agree: every
action in the table is documented with a JSON example that parses, its reply
and whether it needs sign-in; every documented action is in the table; every
server frame and error code is shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib import protocol
from chalicelib.actions import ACTIONS, parse

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
EXAMPLES = [
    json.loads(block)
    for block in re.findall(r"```json\n(.*?)\n```", DOC, re.S)
]
# "### `name`" sections of "## Client actions", up to the next "## "
ACTIONS_PART = DOC.split("## Client actions", 1)[1].split("\n## ", 1)[0]
SECTIONS = dict(re.findall(r"### `(\w+)`\n(.*?)(?=\n### |\Z)", ACTIONS_PART, re.S))
# frames pushed to others, beside the direct replies named in the table
PUSHED = {"message", "read", "typing", "presence"}


def test_every_action_has_a_parsing_example() -> None:
    client_frames = [example for example in EXAMPLES if "action" in example]
    assert {example["action"] for example in client_frames} == set(ACTIONS)
    for example in client_frames:
        assert parse(json.dumps(example)).action == example["action"]


def test_every_documented_action_is_in_the_table() -> None:
    assert set(SECTIONS) == set(ACTIONS)


def test_each_actions_reply_is_documented_in_its_section() -> None:
    for name, action in ACTIONS.items():
        section = SECTIONS[name]
        if action.reply is None:
            assert "No reply" in section, name
        else:
            assert f"`{action.reply}`" in section, name


def test_the_actions_allowed_before_sign_in_are_the_documented_ones() -> None:
    line = next(line for line in DOC.splitlines() if "Before sign-in only" in line)
    documented = set(re.findall(r"`(\w+)`", line))
    assert documented == {name for name, a in ACTIONS.items() if not a.needs_sign_in}


def test_every_server_frame_and_error_code_is_shown() -> None:
    replies = {a.reply for a in ACTIONS.values() if a.reply is not None}
    for frame_type in sorted(replies | PUSHED | {"error"}):
        assert f'{{"type": "{frame_type}"' in DOC, frame_type
    for code in protocol.ERROR_CODES:
        assert f'"code": "{code}"' in DOC, code
