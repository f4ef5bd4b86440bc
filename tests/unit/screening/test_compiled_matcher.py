"""The mypyc build of the matcher (`make compile`) screens exactly as the pure-Python
modules do: candidates, scores, features and explanations.

Runs only where the extension modules were built: the compiled matcher screens the corpus
of `compiled_screening_corpus.py` here, the pure-Python one (a copy of `src/` without the
`.so` files) in a child process, and both outputs must be identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pnrguard
import pnrguard.screening.index
from compiled_screening_corpus import results

pytestmark = pytest.mark.unit

COMPILED = not pnrguard.screening.index.__file__.endswith(".py")
SRC = Path(pnrguard.__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not COMPILED, reason="the mypyc build is not present (make compile)")
def test_compiled_and_pure_python_builds_screen_identically(tmp_path: Path) -> None:
    pure = tmp_path / "src"
    shutil.copytree(SRC, pure, ignore=shutil.ignore_patterns("*.so", "__pycache__", "build"))
    env = {**os.environ, "PYTHONPATH": f"{pure}{os.pathsep}{TESTS}"}
    child = subprocess.run(
        [sys.executable, str(TESTS / "compiled_screening_corpus.py")],
        env=env,
        capture_output=True,
        check=True,
        timeout=600,
    )
    check = subprocess.run(
        [sys.executable, "-c", "import pnrguard.screening.index as m; print(m.__file__)"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert check.stdout.strip().endswith(".py")  # the child really ran the pure build
    assert child.stdout.decode("utf-8") == results()
