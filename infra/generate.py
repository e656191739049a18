"""Writes (or checks) the committed add-on templates from infra/cfn.py and infra/tf.py.

python -m infra.generate            rewrite the templates
python -m infra.generate --check    exit 1 when a committed template is stale
python -m infra.generate --terraform-stage DIR
                                    write DIR/chalice_locals.tf.json (package time)
python -m infra.generate --cloudformation-stage DIR
                                    add the stage's literal names to DIR/sam.json (package time)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra import cfn, spec, tf

TEMPLATES: dict[str, Callable[[], dict[str, Any]]] = {
    "infra/cloudformation/resources.json": cfn.merge_template,
    "infra/cloudformation/chalice-deploy.json": cfn.base_stack,
    "infra/terraform/addon.tf.json": tf.addon,
    "infra/terraform/chalice_override.tf.json": tf.overrides,
}


def render(build: Callable[[], dict[str, Any]]) -> str:
    return json.dumps(build(), indent=2) + "\n"


def stale() -> list[str]:
    """Committed templates whose content differs from what the generators produce now."""
    out = []
    for relative, build in TEMPLATES.items():
        path = spec.ROOT / relative
        if not path.exists() or path.read_text() != render(build):
            out.append(relative)
    return out


def write() -> list[str]:
    written = []
    for relative, build in TEMPLATES.items():
        path = spec.ROOT / relative
        text = render(build)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(relative)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a template is stale")
    parser.add_argument("--terraform-stage", type=Path, metavar="DIR")
    parser.add_argument("--cloudformation-stage", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    if args.cloudformation_stage:
        sam = args.cloudformation_stage / "sam.json"
        sam.write_text(json.dumps(cfn.stage_literals(json.loads(sam.read_text())), indent=2))
        print(f"wrote {sam}")
        return 0
    if args.terraform_stage:
        print(f"wrote {tf.write_stage_locals(args.terraform_stage)}")
        return 0
    spec.check_bucket_names()
    for missing in spec.frontend().missing:
        print(f"warning: {missing} is missing; the Amplify app uses a placeholder", file=sys.stderr)
    if args.check:
        outdated = stale()
        for relative in outdated:
            print(f"{relative} is stale: run `python -m infra.generate`", file=sys.stderr)
        return 1 if outdated else 0
    for relative in write():
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
