"""Committed templates equal the generators' output; docs/deploy.md cites real template lines."""

from __future__ import annotations

import re

from infra import generate, spec
from tests.infra.conftest import ROOT

DOC = ROOT / "docs" / "deploy.md"
# [`path` line N](../path#LN) `token`: line N of path must contain token.
LINE_LINK = re.compile(r"\]\(\.\./(?P<path>[^)#]+)#L(?P<line>\d+)\)\s*\(?`(?P<token>[^`]+)`")


def test_committed_templates_are_generated_from_the_current_sources() -> None:
    assert generate.stale() == [], "templates are stale: run `python -m infra.generate`"


def test_frontend_inputs_exist() -> None:
    assert spec.frontend().missing == (), "the Amplify templates fell back to a placeholder"


def test_deploy_doc_line_references_point_at_what_they_name() -> None:
    assert DOC.exists(), "docs/deploy.md is missing"
    links = list(LINE_LINK.finditer(DOC.read_text()))
    assert len(links) >= 8, "docs/deploy.md should cite the template line of each pitfall"
    for link in links:
        lines = (ROOT / link["path"]).read_text().splitlines()
        number = int(link["line"])
        assert number <= len(lines), link.group(0)
        assert link["token"] in lines[number - 1], (
            f"{link['path']} line {number} is {lines[number - 1]!r}, "
            f"not the line with {link['token']!r}"
        )
