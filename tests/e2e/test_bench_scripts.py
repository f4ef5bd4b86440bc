"""The store benchmarks still run end to end (at a toy size).

bench/links.py imports its store filler and desk from bench/search.py; a signature change
there broke the 1,000,000-booking links run after 40 minutes of filling. Running both at a
few hundred bookings catches that in seconds. The figures are not checked here (targets
live in bench/ and docs/performance.md); only that each prints its table of results.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str, tmp_path: Path) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--db", "sqlite", *args],
        cwd=BENCH, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_links_bench_measures_both_depths(tmp_path: Path) -> None:
    toy = ("--bookings", "300", "--queries", "3", "--baseline-bookings", "20")
    out = _run("links.py", *toy, tmp_path=tmp_path)
    assert "depth 1" in out
    assert "depth 2" in out


def test_search_bench_measures_every_query_kind(tmp_path: Path) -> None:
    toy = ("--bookings", "300", "--queries", "3", "--baseline-bookings", "50", "--ingest-flights", "1")
    out = _run("search.py", *toy, tmp_path=tmp_path)
    assert "index upkeep" in out
    assert "surname" in out
