"""The mypyc build of `pnrguard.formats` reads exactly as the pure-Python modules do.

Runs only where `make compile` built the extension modules: the compiled readers read the
corpus here, the pure-Python ones in a child process (`pure_build`), and both readings must
be identical, errors included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiled_corpus import readings
from pure_build import NOT_BUILT, compiled, pure_output

pytestmark = pytest.mark.unit


@pytest.mark.skipif(not compiled("pnrguard.formats.pnrgov"), reason=NOT_BUILT)
def test_compiled_and_pure_python_builds_read_identically(tmp_path: Path) -> None:
    assert pure_output(tmp_path, "compiled_corpus.py", "pnrguard.formats.pnrgov") == readings()
