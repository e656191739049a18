"""A copy of the project for one deploy, so the deploy scripts may write .chalice/ and
build/ as they do for a user, without touching the working tree."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.deploy.ministack import ROOT

COPIED = ("app.py", "chalicelib", "infra", ".chalice", "frontend", "requirements.txt", "Makefile")
IGNORED = shutil.ignore_patterns("__pycache__", "deployed", "deployments", "*.pyc")


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=IGNORED)
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target
