"""The tokenizer's C accelerator (`edifact/_csplit.c`, built by `make compile`) gives what
its pure-Python twins in `edifact/splitting.py` give, on every body and segment of the
synthetic, sample and mutated corpora and on hypothesis soups of separators, release
characters, stand-ins, line breaks and non-ASCII letters.

Runs only where the accelerator was built; the pure-Python versions are what every other
test runs when it was not. That the readers read the corpora the same with it (bookings,
deviations, counts, errors) is tests/unit/formats/test_compiled.py: `make compile` builds the
accelerator with the mypyc modules, and that test compares the whole build with the pure one.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiled_corpus import corpus
from pnrguard.errors import ParseError
from pnrguard.formats.edifact import splitting
from pnrguard.formats.edifact.charset import decode
from pnrguard.formats.edifact.escapes import _RELEASED
from pnrguard.formats.edifact.tokenizer import _prepare

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(splitting.ACCEL is None, reason="the C accelerator is not built (make compile)"),
]

ACCEL = splitting.ACCEL
_SEPARATORS = [("'", "+", ":", "?"), ("\n", "*", "^", "!"), ("\r", "+", ":", "?")]


def _same_everywhere(body: str, raws: list[str], ssep: str, esep: str, csep: str, rel: str) -> None:
    assert ACCEL is not None
    restore = {0x80: rel, 0x81: ssep, 0x82: esep, 0x83: csep, 0x84: ""}
    for raw in raws:
        for table in (None, restore):
            expected = splitting.split_elements_py(raw, esep, csep, table)
            assert ACCEL.split_elements(raw, esep, csep, table) == expected
    assert ACCEL.regular_tags(body, ssep, esep, csep) == splitting.regular_tags_py(body, ssep, esep, csep)
    assert ACCEL.stand_ins(body, rel, ssep, esep, csep) == splitting.stand_ins_py(body, rel, ssep, esep, csep)
    assert ACCEL.service_ends(body, ssep) == splitting.service_ends_py(body, ssep)
    for breaks in ("\r\n", "\n", "\r", ""):
        if ssep not in breaks:
            assert ACCEL.unwrap(body, ssep, breaks) == splitting.unwrap_py(body, ssep, breaks)


def test_every_body_and_segment_of_the_corpora_splits_the_same() -> None:
    """Synthetic traffic, the conformance samples, our quirky inputs and their mutations."""
    checked = 0
    for data in corpus():
        for text, _ in [decode(data)]:
            try:
                prep = _prepare(text, 0)
            except ParseError:
                continue
            d = prep.delims
            _same_everywhere(prep.body, prep.raws, d.segment, d.element, d.component, d.release or "?")
            # and the text before any of it: line breaks and release characters still in
            _same_everywhere(text, text.split(d.segment), d.segment, d.element, d.component, d.release or "?")
            checked += 1
    assert checked > 100


_ALPHABET = st.sampled_from(
    ["'", "+", ":", "?", "*", "^", "!", "\r", "\n", "\r\n", " ", "\t", "UNH", "UNT", "UNZ", "UNE", "UNG",
     "UNB", "SSR", "TIF", "A", "z", "9", "é", "Ü", "€", "\U0001d11e", *_RELEASED]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join), st.sampled_from(_SEPARATORS))
def test_soups_split_the_same(text: str, seps: tuple[str, str, str, str]) -> None:
    ssep, esep, csep, rel = seps
    _same_everywhere(text, text.split(ssep), ssep, esep, csep, rel)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["+", ":", "A", "é", "\x81", "\U0001d11e"]), min_size=200, max_size=900))
def test_segments_with_hundreds_of_separators_split_the_same(pieces: list[str]) -> None:
    """Past the C version's table of separator positions (256), it splits in two passes."""
    rest = "".join(pieces)
    _same_everywhere("FTX+" + rest, ["FTX+" + rest], "'", "+", ":", "?")
