"""axe-core (npm, pinned in package-lock.json, installed by `npm ci`) run inside a page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
GRAVE = ("serious", "critical")


def require_axe() -> None:
    """Fails the test at once, in one line, when axe-core is not installed."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE}): run `npm ci` in the repository root",
                    pytrace=False)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations on the page as it is now.

    The page's CSP allows no injected script: use a context with ``bypass_csp=True``."""
    require_axe()
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v["impact"] in GRAVE]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(node["target"]) for node in v["nodes"][:5]]
        lines.append(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x: {targets})")
        for node in v["nodes"][:2]:
            lines.append("    " + node.get("failureSummary", "").replace("\n", " "))
    return "\n".join(lines)
