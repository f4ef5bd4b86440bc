"""CSV injection (issue 11 §5): every CSV pnrguard writes goes through `csvsafe`, and no
text cell can start a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pnrguard.csvsafe import FORMULA_PREFIXES, defuse, safe_writer

SRC = Path(__file__).resolve().parents[2] / "src" / "pnrguard"


@given(st.lists(st.one_of(st.text(), st.integers(), st.booleans(), st.none()), max_size=8))
def test_no_written_cell_starts_a_formula(row: list[object]) -> None:
    out = io.StringIO()
    safe_writer(out).writerow(row)
    for cell, original in zip(next(csv.reader(io.StringIO(out.getvalue()))), row, strict=False):
        if isinstance(original, str):
            assert not cell.startswith(FORMULA_PREFIXES)
            assert cell in (original, "'" + original)  # defused, never otherwise changed


def test_the_attack_is_defused() -> None:
    assert defuse('=HYPERLINK("http://evil.example","x")') == '\'=HYPERLINK("http://evil.example","x")'
    for prefix in FORMULA_PREFIXES:
        assert defuse(prefix + "1+1") == "'" + prefix + "1+1"
    assert defuse(-5) == -5  # numbers stay numbers
    assert defuse("LH1234") == "LH1234"


def test_no_module_writes_csv_around_the_helper() -> None:
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "csvsafe.py" and re.search(r"\bcsv\.(writer|DictWriter)\(", p.read_text())
    ]
    assert offenders == [], "write CSV through pnrguard.csvsafe.safe_writer"
