"""Run a corpus script under the pure-Python build, beside a mypyc build (`make compile`).

The compiled-build tests compare what the `.so` modules produce in this process with what
the pure-Python modules produce in a child process over a copy of `src/` without the
extension modules; this holds that child's set-up, shared by every such test.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pnrguard

SRC = Path(pnrguard.__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
NOT_BUILT = "the mypyc build is not present (make compile)"
#: Why a test that extends a model class skips on the compiled build: interpreted classes
#: cannot inherit from compiled ones, so there the threat it guards against cannot arise.
NO_SUBCLASS = "interpreted classes cannot extend the compiled model (make compile)"


def compiled(module: str) -> bool:
    """Whether `module` was imported from a mypyc extension rather than its `.py` file."""
    return not str(importlib.import_module(module).__file__).endswith(".py")


def pure_output(tmp_path: Path, script: str, probe: str) -> str:
    """Standard output of `tests/<script>` run on a pure-Python copy of `src/`.

    `probe` is a module the script exercises: the child asserts it really imported its `.py`
    file, so a test cannot pass by comparing the compiled build with itself.
    """
    pure = tmp_path / "src"
    shutil.copytree(SRC, pure, ignore=shutil.ignore_patterns("*.so", "__pycache__", "build"))
    env = {**os.environ, "PYTHONPATH": f"{pure}{os.pathsep}{TESTS}"}
    check = subprocess.run(
        [sys.executable, "-c", f"import {probe} as m; print(m.__file__)"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert check.stdout.strip().endswith(".py"), "the child did not run the pure build"
    child = subprocess.run(
        [sys.executable, str(TESTS / script)], env=env, capture_output=True, check=True, timeout=600
    )
    return child.stdout.decode("utf-8")
