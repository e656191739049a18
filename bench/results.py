"""Reads and writes bench/results/<part>.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _clean(value: Any) -> Any:
    """NaN is not JSON: write null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def save(part: str, data: dict[str, Any], directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{part}.json"
    path.write_text(json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")
    return path


def load(part: str, directory: Path = RESULTS) -> dict[str, Any] | None:
    path = directory / f"{part}.json"
    if not path.exists():
        return None
    return dict(json.loads(path.read_text()))
