"""Write a benchmark's JSON and markdown table, or rewrite the table from its committed JSON
(``--render-only``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from lhcgen.io import write_text_atomic


def rerender(json_path: Path, render: Callable[[dict], str]) -> None:
    """Write ``json_path`` with suffix .md from ``render(json)``; one line if it is missing."""
    if not json_path.is_file():
        sys.exit(f"error: {json_path} does not exist: run the benchmark first")
    write_text_atomic(json_path.with_suffix(".md"), render(json.loads(json_path.read_text())))


def write_results(stem: Path, result: dict, render: Callable[[dict], str] | None) -> None:
    """Write ``stem``.json (no NaN) and ``stem``.md = ``render(result)`` atomically; the JSON
    alone when ``render`` is None (results with nothing to tabulate yet)."""
    stem = Path(stem)
    write_text_atomic(stem.with_suffix(".json"), json.dumps(result, indent=2, allow_nan=False))
    if render is None:
        print(f"wrote {stem.with_suffix('.json')}")
        return
    write_text_atomic(stem.with_suffix(".md"), render(result))
    print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")
