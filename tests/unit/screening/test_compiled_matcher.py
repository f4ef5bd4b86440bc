"""The mypyc build of the matcher (`make compile`) screens exactly as the pure-Python
modules do: candidates, scores, features and explanations.

Runs only where the extension modules were built: the compiled matcher screens the corpus
of `compiled_screening_corpus.py` here, the pure-Python one in a child process
(`pure_build`), and both outputs must be identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiled_screening_corpus import results
from pure_build import NOT_BUILT, compiled, pure_output

pytestmark = pytest.mark.unit


@pytest.mark.skipif(not compiled("pnrguard.screening.index"), reason=NOT_BUILT)
def test_compiled_and_pure_python_builds_screen_identically(tmp_path: Path) -> None:
    assert pure_output(tmp_path, "compiled_screening_corpus.py", "pnrguard.screening.index") == results()
