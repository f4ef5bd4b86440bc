"""The one-pass reader reads exactly as the general one.

`read_pnrgov(bytes)` scans the interchange lazily (`scan_interchange`: envelopes checked on
their own segments, bodies left unsplit) and reads the commonest segments from their raw text
(`pnrgov.fast`); `read_pnrgov(parse_interchange(bytes))` splits every segment first and sends
each through the general handlers. A carrier's message must give the same bookings,
deviations, counts and errors either way, whatever its shape.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiled_corpus import corpus
from edifact_inputs import pnr
from pnrguard.domain.model import to_dict
from pnrguard.errors import ParseError
from pnrguard.formats.edifact import message_segments, parse_interchange, scan_interchange
from pnrguard.formats.pnrgov import read_pnrgov
from pnrguard.formats.result import ReadResult

pytestmark = pytest.mark.unit


def _reading(read: object) -> str:
    try:
        r = read()  # type: ignore[operator]
    except ParseError as exc:
        return json.dumps(["error", type(exc).__name__, str(exc), exc.segment_index])
    assert isinstance(r, ReadResult)
    return json.dumps(
        [[to_dict(b) for b in r.bookings], to_dict(r.flight) if r.flight else None,
         [str(d) for d in r.deviations], sorted(r.unknown_segments.items()), r.version, r.message_refs],
        sort_keys=True, default=str,
    )  # fmt: skip


def _eager(data: bytes | str) -> str:
    def read() -> ReadResult:
        return read_pnrgov(parse_interchange(data))

    return _reading(read)


def _lazy(data: bytes | str) -> str:
    return _reading(lambda: read_pnrgov(data))


def test_corpus_reads_the_same_in_one_pass() -> None:
    """Synthetic traffic, the GTAS samples, our quirky inputs and seeded mutations."""
    items = corpus()
    assert len(items) > 100
    for data in items:
        assert _lazy(data) == _eager(data)


def test_scanned_bodies_split_as_parse_interchange_splits_them() -> None:
    for data in corpus()[:80]:
        try:
            eager = parse_interchange(data)
        except ParseError:
            with pytest.raises(ParseError):
                scan_interchange(data)
            continue
        lazy = scan_interchange(data)
        assert [message_segments(m) for m in lazy.messages] == [m.segments for m in eager.messages]
        assert [str(d) for d in lazy.deviations] == [str(d) for d in eager.deviations]


# Segments in the shapes the fast paths take, and near misses of them: other separators in
# the values, released characters, non-ASCII letters, blanks, impossible dates and times.
_value = st.text(st.sampled_from("0129HK:+?/ AÜ-"), max_size=8)  # a terminator: corpus mutations
_date = st.sampled_from(["020225", "310225", "", " ", "9999", "010625"])
_time = st.sampled_from(["2123", "4321", "", "0000", "21"])
_TVL = "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'"
_fast_segment = st.one_of(
    st.just(_TVL),  # opens a leg: most fast paths read only there
    st.builds(lambda r: f"TRI++:::{r}'", _value),
    st.builds(lambda s, g, r: f"TIF+{s}+{g}:A:{r}'", _value, _value, _value),
    st.builds(lambda n, s: f"RPI+{n}+{s}'", _value, _value),
    st.builds(lambda e: f"APD+{e}'", _value),
    st.builds(lambda t: f"LTS+{t}'", _value),
    st.builds(lambda d, t: f"DAT+2:{d}:{t}'", _date, _time),
    st.builds(lambda d: f"DAT+710:{d}'", _date),
    st.sampled_from([
        "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'", "TKT+0375:T'", "SSD+48E++++Y'",
        "TBD++01:26:701+++UA:0621::IAD:006'", "SRC'", "RCI+UA:ABC123'", "EQN+1'", "MSG+:22'",
        "ABI+1'", "SAC+++X'", "TRI'", "TIF'", "DAT'", "LTS'", "APD'", "RPI'", "DAT+'", "TRI:1++:::1'",
        "TIF+RAVAL+CHRISTOPHER:A:1'",
    ]),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_fast_segment, max_size=30), st.booleans())
def test_fast_paths_read_as_the_general_handlers(segments: list[str], as_bytes: bool) -> None:
    text = pnr(_TVL, *segments)
    data: bytes | str = text.encode("utf-8") if as_bytes else text
    assert _lazy(data) == _eager(data)
    with contextlib.suppress(ParseError):
        read_pnrgov(data)  # and, as everywhere, nothing but a ParseError
