"""Packages the app once per session (infra/package.sh, as `make package` does) for the infra tests.

Offline: `chalice package`, cfn-lint and the Terraform loader call no AWS endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import spec, tfcheck

ROOT = spec.ROOT
STAGE = "dev"


@dataclass(frozen=True)
class Packaged:
    stage: str
    cloudformation: Path
    terraform: Path

    @property
    def sam(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.cloudformation / "sam.json").read_text())
        return data

    def terraform_module(self) -> dict[str, Any]:
        return tfcheck.load_module(self.terraform)


def venv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def packaged() -> Packaged:
    env = venv_env()
    env["STAGE"] = STAGE
    result = subprocess.run(
        ["bash", str(ROOT / "infra" / "package.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, (
        f"infra/package.sh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    build = ROOT / "build"
    assert (build / "stage").read_text().strip() == STAGE
    return Packaged(STAGE, build / "cloudformation", build / "terraform")


@pytest.fixture(scope="session")
def sam(packaged: Packaged) -> dict[str, Any]:
    return packaged.sam


@pytest.fixture(scope="session")
def tf(packaged: Packaged) -> dict[str, Any]:
    return packaged.terraform_module()
