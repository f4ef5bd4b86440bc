"""The tokenizer's C accelerator (`edifact/_csplit.c`, built by `make compile`) gives what
its pure-Python twins in `edifact/splitting.py` give, on every body and segment of the
synthetic, sample and mutated corpora and on hypothesis soups of separators, release
characters, stand-ins, line breaks and non-ASCII letters; and its readings of PNRGOV dates
and times are those of `pnrgov/values.py` wherever it gives one.

Runs only where the accelerator was built; the pure-Python versions are what every other
test runs when it was not. That the readers read the corpora the same with it (bookings,
deviations, counts, errors) is tests/unit/formats/test_compiled.py: `make compile` builds the
accelerator with the mypyc modules, and that test compares the whole build with the pure one.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiled_corpus import corpus
from pnrguard.errors import ParseError
from pnrguard.formats.edifact import Segment, splitting
from pnrguard.formats.edifact.charset import decode
from pnrguard.formats.edifact.escapes import _RELEASED
from pnrguard.formats.edifact.tokenizer import _prepare
from pnrguard.formats.pnrgov import values

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
            _same_segment(raw, esep, csep, table)
    assert ACCEL.regular_tags(body, ssep, esep, csep) == splitting.regular_tags_py(body, ssep, esep, csep)
    assert ACCEL.stand_ins(body, rel, ssep, esep, csep) == splitting.stand_ins_py(body, rel, ssep, esep, csep)
    assert ACCEL.service_ends(body, ssep) == splitting.service_ends_py(body, ssep)
    for start in sorted({0, 1, 2, len(body) // 2, max(len(body) - 4, 0), len(body), len(body) + 3}):
        for sep in {esep, "+"}:
            assert ACCEL.find_unz(body, sep, start) == splitting.find_unz_py(body, sep, start)
    for breaks in ("\r\n", "\n", "\r", ""):
        if ssep not in breaks:
            assert ACCEL.unwrap(body, ssep, breaks) == splitting.unwrap_py(body, ssep, breaks)
            for release in (rel, "", "\r", "\n"):
                if release not in (ssep, esep, csep):
                    _same_scan(body, ssep, esep, csep, release, breaks)


def _same_segment(raw: str, esep: str, csep: str, table: dict[int, str] | None, index: int = 7) -> None:
    """`segment` (C) builds the very Segment `segment_py` builds: type, tag, elements, index."""
    assert ACCEL is not None
    expected = splitting.segment_py(Segment, raw[:3], raw, esep, csep, table, index)
    got = ACCEL.segment(Segment, raw[:3], raw, esep, csep, table, index)
    assert type(got) is Segment
    assert type(expected) is Segment
    assert got == expected
    assert got.tag == raw[:3]
    assert got.index == index
    assert got.elements == splitting.split_elements_py(raw, esep, csep, table)


def test_segments_built_in_c_are_the_named_tuples_the_pure_twin_builds() -> None:
    assert ACCEL is not None
    seen = []
    for index in (0, 1, 2**40, -3):
        for raw in ("TVL+020625:2035+LAX", "SRC", "RCI+", "DAT+710:020225", "SSR+DOCS:HK::::::/P/GB/1 ?+A"):
            _same_segment(raw, "+", ":", None, index)
            seen.append(ACCEL.segment(Segment, raw[:3], raw, "+", ":", None, index))
    # The segments live on after their arguments, and read as any Segment does.
    assert seen[0].get(0, 1) == "2035"
    assert seen[0][2] == 0
    assert len(seen[0]) == 3
    assert seen[0]._replace(index=5) == Segment("TVL", [["020625", "2035"], ["LAX"]], 5)
    with pytest.raises(TypeError):
        ACCEL.segment(dict, "TVL", "TVL+1", "+", ":", None, 0)  # type: ignore[type-var]
    with pytest.raises(TypeError):
        ACCEL.segment(Segment, "TVL", "TVL+1", "+", ":", None, "0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="single characters"):
        ACCEL.segment(Segment, "TVL", "TVL+1", "++", ":", None, 0)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["+", ":", "A", "1", " ", "\x80", "\x82", "é", "\U0001d11e"]), max_size=60).map(
        "".join
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
)
def test_segment_soups_build_the_same(text: str, index: int, restored: bool) -> None:
    table = {0x80: "?", 0x81: "'", 0x82: "+", 0x83: ":", 0x84: ""} if restored else None
    _same_segment("TIF" + text, "+", ":", table, index)
    _same_segment(text, "+", ":", table, index)


def _same_scan(body: str, ssep: str, esep: str, csep: str, rel: str, breaks: str) -> None:
    """`scan_body` in one C pass equals the pure passes one after the other, and its raw
    segments are canonical strings (ASCII ones flagged ASCII: `==` and hashing rely on it)."""
    assert ACCEL is not None
    expected = splitting.scan_body_py(body, ssep, esep, csep, rel, breaks)
    found = ACCEL.scan_body(body, ssep, esep, csep, rel, breaks)
    assert found == expected
    if found is not None:
        assert [r.isascii() for r in found[0]] == [all(ord(ch) < 128 for ch in r) for r in found[0]]
        assert [hash(r) for r in found[0]] == [hash("".join(list(r))) for r in found[0]]


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
            body = d.segment.join(prep.raws)
            _same_everywhere(body, prep.raws, d.segment, d.element, d.component, d.release or "?")
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


def test_short_components_handed_out_again_keep_their_values() -> None:
    """The C split shares recent short ASCII components between segments: thousands of
    different ones, colliding in its table, each read back as the pure split reads it."""
    assert ACCEL is not None
    words = [f"{k:x}" * (1 + k % 4) for k in range(20000)]
    raws = [f"TIF+{':'.join(words[k : k + 7])}+{words[(k * 7919) % len(words)]}" for k in range(0, 20000, 7)]
    for raw in [*raws, *raws]:
        assert ACCEL.split_elements(raw, "+", ":", None) == splitting.split_elements_py(raw, "+", ":", None)


# ---- PNRGOV dates and times -------------------------------------------------------------

_TODAYS = [dt.date(2026, 12, 6), dt.date(2024, 2, 28), dt.date(2000, 1, 1), dt.date(2099, 12, 31)]


def _same_dates(value: str, other: str = "") -> None:
    """Where the C reader answers (anything but False), it answers as the pure reader."""
    assert ACCEL is not None
    checks: list[tuple[object, object]] = [
        (ACCEL.date6(value), values._read_date6(value)),
        (ACCEL.time(value), values._read_time(value)),
        (ACCEL.datetime(value, other), values._read_datetime(value, other)),
    ]
    checks += [(ACCEL.date7(value, past, today), values._read_date7(value, past, today))
               for past in (True, False) for today in _TODAYS]  # fmt: skip
    for found, expected in checks:
        if found is not False:
            assert type(found) is type(expected)
            assert found == expected


def test_dates_and_times_of_the_corpora_read_the_same() -> None:
    """Every component of every segment of the corpora, alone and with the next one."""
    seen: set[tuple[str, str]] = set()
    for data in corpus():
        text, _ = decode(data)
        try:
            prep = _prepare(text, 0)
        except ParseError:
            continue
        d = prep.delims
        for raw in prep.raws:
            comps = [c for e in raw.split(d.element) for c in e.split(d.component)]
            seen.update(zip(comps, [*comps[1:], ""], strict=True))
    assert len(seen) > 1000
    for value, other in seen:
        _same_dates(value, other)


def test_every_shape_the_c_reader_takes_is_read_the_same() -> None:
    """Every day, month and two-digit year of DDMMYY and DDMMMYY (impossible ones too),
    every hour and minute, and four-digit years around the edges."""
    months = ["JAN", "feb", "Mar", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    months += ["XYZ", "1AN"]
    for yy in range(100):
        for mm in range(14):
            for dd in range(0, 33):
                _same_dates(f"{dd:02d}{mm:02d}{yy:02d}")
                _same_dates(f"{dd:02d}{months[mm]}{yy:02d}")
    for year in (0, 1, 1900, 1999, 2000, 2024, 2100, 9999):
        for dd in (0, 1, 28, 29, 30, 31):
            _same_dates(f"{dd:02d}FEB{year:04d}")
    for hh in range(26):
        for mi in range(0, 62):
            _same_dates("010125", f"{hh:02d}{mi:02d}")
            _same_dates(f"{hh:02d}{mi:02d}", f"{hh:02d}{mi:02d}59")


_DATE_PIECES = st.sampled_from(
    ["0", "1", "2", "3", "9", "29", "31", "02", "12", "JAN", "feb", "FEB", "Dec", " ", "\t", "\n", "\xa0",
     "٣", "²", "é", "A", "+", ":"]
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(_DATE_PIECES, max_size=6).map("".join), st.lists(_DATE_PIECES, max_size=4).map("".join))
def test_date_and_time_soups_read_the_same(value: str, other: str) -> None:
    _same_dates(value, other)


def test_the_reader_uses_the_c_dates_and_keeps_its_caches_for_other_shapes() -> None:
    """Compiled or not, `values` reads through the accelerator when it is built; the odd
    shapes (blanks, other digits) still go the pure way, with the same results."""
    assert values._C_DATE6 is not None
    assert values._date6("010125") == dt.date(2025, 1, 1)
    assert values._date6(" 010125 ") == dt.date(2025, 1, 1)
    assert values._datetime("010125", "") == dt.datetime(2025, 1, 1)
    assert values._datetime("010125", " ") == dt.datetime(2025, 1, 1)
    assert values._datetime("010125", "4321") is None
    assert values._date7("29FEB00", True, dt.date(1999, 1, 1)) is None  # 1900 was not a leap year
    assert values._date7("29feb28", True, dt.date(2026, 1, 1)) == dt.date(1928, 2, 29)
