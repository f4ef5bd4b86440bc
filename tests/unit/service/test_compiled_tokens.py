"""The mypyc build of the blind index (`make compile`: `screening/blind_index.py`,
`links/tokens.py`) derives exactly the rows and search terms the pure-Python modules do.

Runs only where the extension modules were built: `compiled_tokens_corpus.py` here and in a
pure-Python child process (`pure_build`), and both outputs must be identical. A token that
differed would be a booking search no longer finds, or a link no longer drawn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiled_tokens_corpus import rows
from pure_build import NOT_BUILT, compiled, pure_output

pytestmark = pytest.mark.unit


@pytest.mark.skipif(not compiled("pnrguard.screening.blind_index"), reason=NOT_BUILT)
def test_compiled_and_pure_python_builds_derive_the_same_tokens(tmp_path: Path) -> None:
    assert pure_output(tmp_path, "compiled_tokens_corpus.py", "pnrguard.screening.blind_index") == rows()
