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
from pnrguard.formats.pnrgov import fast, read_pnrgov
from pnrguard.formats.pnrgov.contacts import _clean_phone, _phone_by_patterns, _plain_number
from pnrguard.formats.pnrgov.documents import _ASSOCIATION, _slash_fields
from pnrguard.formats.pnrgov.state import BookingReader, Context
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
_ssr_code = st.sampled_from(
    ["DOCS", "DOCA", "DOCO", "SEAT", "NSST", "CTCM", "CTCE", "WCHR", "docs", " DOCS", ""]
)
_colons = st.sampled_from(["", ":", "::::::", ":::::::", "::::::::", "HK:1:UA:::::"])
_docs_text = st.one_of(
    _value,
    st.sampled_from([
        "/P/GBR/123/GBR/09SEP64/M/16MAY30/RAVAL/CHRISTOPHER", "/P/GBR/1/GBR/01JAN24/FI/01JAN30/RAVAL/MAYA",
        "/P / GBR / 1 / GBR/01JAN1980/M/01JAN30/A/B C-1.1", " /P/GBR/1/GBR/99XXX99/M//A/B", "P/GBR",
        "/P/GBR/1/GBR/01JAN80/M/01JAN30/A/B:C", "/R/FRA/1 RUE/PARIS//75001", "//X/1/GBR/01JAN20/USA/I",
    ]),
)
_ift_head = st.sampled_from(["4:15", "4:28", "4:43", "3", "3:", "4", "4:28:X", "", "5:1"])
_ift_text = st.one_of(
    _value,
    st.sampled_from([
        "CTCP ?+48 778 3157330", "CTCP 0691234", "CTCM +49 1512", "CTCE A//B.COM/EN", "CTC H 069 123",
        "AM CTCP 123", "CTCB LON 44 (20) 7946-0000/EN", "CTCP + 48", "CTCP 12 34-H", "CTCT 1\u00a02",
        "FRA UA IAD 100.00END", "CTCA 1 RUE", "CTCP", "CTCF 33 1",
    ]),
)
_type = st.sampled_from(["A", "C", "IN", "INF", "", "X", "CREW"])
_fast_segment = st.one_of(
    st.just(_TVL),  # opens a leg: most fast paths read only there
    st.builds(lambda r: f"TRI++:::{r}'", _value),
    st.builds(lambda s, g, r: f"TIF+{s}+{g}:A:{r}'", _value, _value, _value),
    st.builds(lambda n, s: f"RPI+{n}+{s}'", _value, _value),
    st.builds(lambda e: f"APD+{e}'", _value),
    st.builds(lambda t: f"LTS+{t}'", _value),
    st.builds(lambda d, t: f"DAT+2:{d}:{t}'", _date, _time),
    st.builds(lambda d: f"DAT+710:{d}'", _date),
    # The fused readers of the other frequent segments, and their near misses.
    st.builds(lambda c, t, r: f"SSR+{c}:HK:::::::{t}+::{r}'", _ssr_code, _docs_text, _value),
    st.builds(lambda c, h, t, r: f"SSR+{c}:{h}{t}+{r}'", _ssr_code, _colons, _docs_text, _value),
    st.builds(lambda c, s, t: f"SSR+{c}:HK:1:UA+{s}::{t}'", _ssr_code, _value, _value),
    st.builds(lambda h, t: f"IFT+{h}+{t}'", _ift_head, _ift_text),
    st.builds(lambda h, t, u: f"IFT+{h}+{t}+{u}'", _ift_head, _ift_text, _value),
    st.builds(lambda s, g, k, r, f: f"TIF+{s}+{g}:{k}:{r}{f}'", _value, _value, _type, _value,
              st.sampled_from(["", ":1", ":0", ":1:X"])),
    st.builds(lambda n, d: f"TKT+{n}:{d}'", _value, _value),
    st.builds(lambda q, a, c, u: f"MON+{q}:{a}:{c}+T:{u}'", st.sampled_from(["B", "T", "X", ""]),
              _value, _value, _value),
    st.builds(lambda d, t, e, f, o, c: f"TVL+{d}:{t}:{e}:{f}+{o}+LYS+{c}+121:H'",
              _date, _time, _date, _time, _value, _value),
    st.builds(lambda a, i, c: f"ORG+{a}:LAX+{i}++++{c}+WEB'", _value, _value, _value),
    st.builds(lambda f, a: f"FOP+{f}::{a}:VI:XXXX1111:0128'", _value, _value),
    st.sampled_from([
        "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'", "TKT+0375:T'", "SSD+48E++++Y'",
        "TBD++01:26:701+++UA:0621::IAD:006'", "SRC'", "RCI+UA:ABC123'", "EQN+1'", "MSG+:22'",
        "ABI+1'", "SAC+++X'", "TRI'", "TIF'", "DAT'", "LTS'", "APD'", "RPI'", "DAT+'", "TRI:1++:::1'",
        "TIF+RAVAL+CHRISTOPHER:A:1'", "TIF+RAVAL+CHRISTOPHER:A:1'", "TIF+RAVAL+MAYA:IN:1I'",
        "SSR+DOCS'", "SSR+DOCS:HK'", "SSR+docs:HK:::::::/P/GBR/1'", "SSR+ DOCS:HK:::::::/P'",
        "SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/M/01JAN30/A/B+::1+::2'", "SSR+DOCS+::1'",
        "SSR+SEAT:HK:1:UA+12A::1+14C::2'", "SSR+NSST:HK:1:UA:::::12AN'", "SSR+CTCM:HK:::::::4917'",
        "IFT+4:15+FRA UA IAD 100.00END'", "IFT+4:43+HOLDER'", "IFT+3+REMARK'", "IFT+4:28'",
        "IFT+4:28+CTCP ?+48 778 3157330'", "IFT+4:28+CTCM 4917 1234-H'", "IFT+4:28+CTC H 069'",
        "MON'", "MON+'", "TKT'", "TKT+'", "FOP'", "FOP+'", "ORG'", "ORG+'", "ORG++++++'",
        "TVL+++++624:M'", "TVL+260819:1220:1505+FRA+IAD+UA+988'", "TVL+260819+FRA+IAD+UA+988'",
        "FOP+CC::12.00+MS::3.00'", "TIF+A:B+C:A:1'", "TIF+ONLY'", "SRC'", "SRC'",
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


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("+0123456789 ()-./ABHM\t\u00a0\u0663"), max_size=16))
def test_plain_numbers_read_as_the_phone_patterns_read_them(value: str) -> None:
    """`_plain_number` (no regular expression) gives what the general phone cleaning gives."""
    v = value.strip()
    number = _plain_number(v)
    if number is not None:
        assert (number, "") == _phone_by_patterns(value, v)
    assert _clean_phone(value) == _phone_by_patterns(value, v)


def _slash_fields_reference(text: str) -> list[str]:
    """`_slash_fields` as it was: every field stripped whenever the text holds a blank."""
    stripped = text.strip(" ")
    if stripped.startswith("/"):
        stripped = stripped[1:]
    if "-" in stripped:
        stripped = _ASSOCIATION.sub("", stripped)
    fields = stripped.split("/")
    if " " in stripped:
        fields = [f.strip(" ") for f in fields]
    return fields


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("/ AB12-.\t"), max_size=20))
def test_slash_fields_strip_only_what_needs_it(text: str) -> None:
    assert _slash_fields(text) == _slash_fields_reference(text)


# A PNR's own groups (after SRC and RCI, before any leg): where the fused readers of TIF,
# SSR, IFT, TKT, MON, FOP and ORG read; values full of separators, so that a component
# read from the wrong place shows.
_part = st.text(st.sampled_from("012:+ABTI "), max_size=5)
_ref = st.one_of(_part, st.sampled_from(["1", "2", "1:2", "1+2", "2::", ""]))
_booking_segment = st.one_of(
    st.builds(lambda s, g, r: f"TIF+{s}+{g}:{r}'", _part, _part, _part),
    st.builds(lambda t, r: f"SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/{t}+::{r}'", _part, _ref),
    st.builds(lambda r: f"SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/FI/01JAN30/A/B+::{r}'", _ref),
    st.builds(lambda c, t, r: f"SSR+{c}:{t}+{r}'", _ssr_code, _part, _part),
    st.builds(lambda h, t: f"IFT+{h}+{t}'", _ift_head, st.one_of(_part, _ift_text)),
    st.builds(lambda t: f"TKT+{t}'", _part),
    st.builds(lambda t: f"MON+{t}'", _part),
    st.builds(lambda t: f"FOP+{t}'", _part),
    st.builds(lambda t: f"ORG+{t}'", _part),
    st.builds(lambda q, a, c: f"MON+{q}:{a}:{c}+T:9'", st.sampled_from(["B", "T", ""]), _part, _part),
    st.sampled_from([
        "TIF+RAVAL+CHRISTOPHER:A:1'", "TIF+RAVAL+MAYA:IN:1I'", "TIF+B+C:A:2'", "TKT+1:T'", "FOP+CC::1'",
    ]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_booking_segment, min_size=1, max_size=12))
def test_fused_readers_read_a_pnrs_groups_as_the_general_handlers(segments: list[str]) -> None:
    text = pnr(*segments)  # the head ends with SRC and RCI: the PNR's own groups
    assert _lazy(text) == _eager(text)


# Shapes at the edge of each fused reader, read after two travellers (the second current)
# and a ticket: extra components and elements, separators where a value should be.
_EDGES = [
    "SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/M/01JAN30/A/B+::1:2'",
    "SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/M/01JAN30/A/B+::1+::2'",
    "SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/M/01JAN30/A/B:C+::1'",
    "SSR+DOCS:HK:::::::/P/GBR/1/GBR/01JAN80/FI/01JAN30/A/B+:1'",
    "SSR+DOCS:HK::::::+::1'", "SSR+DOCS:HK:1:UA:::::+::1'", "SSR+DOCS:HK:1:UA::::::+::1'",
    "SSR+DOCS:HK:::::::/P/GBR/1/GBR/32JAN80/M/01JAN30/A/B+::1'", "SSR+DOCS:::::::::+++'",
    "SSR+SEAT:HK:1:UA+12A::1:X+14C'", "SSR+SEAT:HK+::1'", "SSR+SEAT+12A'", "SSR+SEAT'", "SSR+SEAT+'",
    "SSR+SEAT:HK:1:UA:::::12AN+::1'", "SSR+SEAT:HK+:X:+12B'", "SSR+SEAT:HK+12A:Y:3+12B::+'",
    "SSR+WCHR:NN:1:UA:::::TEXT:MORE+::1'", "SSR+CTCM:HK::::::::+::1'",
    "IFT+4:15:X+FARE'", "IFT+4:43+HOLDER'", "IFT+4:43+HOLDER+STREET+PHONE'", "IFT+4+CTCP 1'",
    "IFT+:28+CTCE A//B.COM'", "IFT+3+CTCH 069'", "IFT+4:28+CTCP 1 2 3'", "IFT+4:28+CTCP 1:2'",
    "TIF+A+B:IN:1I'", "TIF+A+B:A:1'", "TIF+RAVAL+CHRISTOPHER:A:1'", "TIF+A+B:A:3:1'", "TIF+A+B:IN:'",
    "TIF+A:X+B:A:3'", "TIF+A+B:A:3+X'", "TIF+A'", "TIF++:A:4'",
    "TKT+1:T:X'", "TKT+:T'", "TKT+1+2'", "MON+B:1:EUR:X+T:2'", "MON+T:2:USD+B:1'", "MON+B+T'",
    "MON+X:1:2'", "FOP+CC::1:VI:4111:0128:X+MS'", "FOP+:::'", "ORG+:+++++US'", "ORG+A:B:C+1:2++++C:D+E:F'",
    "ORG+:++'", "ORG+++++++:X'",
    "TVL+260819:1220:260819:1505+FRA:X+IAD:Y+UA:LH:Z+988:Y:Z'", "TVL+260819:1220:260819:4321+FRA+IAD+UA+988'",
    "TVL+260819:1220:260819:+FRA+IAD+UA+988'", "TVL+260819:1220:260819:1505:X+FRA+IAD+UA+988'",
    "TVL+260819:1220:260819:1505+FRA+IAD+UA+988+X'", "TVL+260819::270819:1505+FRA+IAD+UA+988'",
    "TVL+260819:1220:1505:+FRA+IAD+UA+988'", "TVL+:1220:260819:1505+FRA+IAD+UA+988'",
    "TVL+260819:1220:260819:1505+++UA+988'", "TVL+260819:1220:260819:1505+FRA+IAD+UA'",
    "TVL+260819:1220:250819:1505+FRA+IAD+UA+988'", "TVL+260819: 1220:260819:1505 +FRA+IAD+UA+988'",
]


@pytest.mark.parametrize("segment", _EDGES)
def test_fused_readers_edge_shapes(segment: str) -> None:
    for before in (["TIF+RAVAL+CHRISTOPHER:A:1'", "TIF+B+C:A:2'"], ["TIF+B+C:A:2'", "FOP+CC'", "TKT+1:T'"]):
        text = pnr(*before, segment, "TIF+D+E:A:3'", segment, _TVL, segment)
        assert _lazy(text) == _eager(text)


def test_each_booking_gets_a_complete_copy_of_the_flight() -> None:
    """`state._copy_leg` names every field of Leg: a field added to Leg must be copied too."""
    import dataclasses
    import datetime as dt

    from pnrguard.domain.model import Leg
    from pnrguard.formats.pnrgov.state import _LEG_FIELDS, _copy_leg

    assert tuple(f.name for f in dataclasses.fields(Leg)) == _LEG_FIELDS
    moments = ("departure", "arrival")
    values = {
        name: (i if name == "party_size" else dt.datetime(2025, 1, 1 + i) if name in moments else f"v{i}")
        for i, name in enumerate(_LEG_FIELDS)
    }
    leg = Leg(**values)  # type: ignore[arg-type]
    copy = _copy_leg(leg)
    assert copy is not leg
    assert copy == leg
    assert {name: getattr(copy, name) for name in _LEG_FIELDS} == values
    copy.status = "XX"
    assert leg.status == "v7"


_NEAR_TAG = st.sampled_from([*"TIFDASRLVKMONPGt+\x00", "\u0154", "\u0149", "\U00100054", "\U0010ffff"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_NEAR_TAG, min_size=3, max_size=3).map("".join), st.text(min_size=3, max_size=3),
       st.sampled_from(sorted(fast.FAST)))
def test_tag_keys_tell_every_tag_apart(near: str, anything: str, tag: str) -> None:
    """`fast.read` (compiled) dispatches by `tag_key`: equal keys only for equal tags."""
    for a, b in ((near, tag), (anything, tag), (near, anything), (tag + "+X", tag)):
        assert (fast.tag_key(a) == fast.tag_key(b)) == (a[:3] == b[:3])


def test_the_chain_reads_no_tag_without_a_fast_path() -> None:
    result = ReadResult(message_type="PNRGOV", version="", bookings=[])
    reader = BookingReader(Context(result, False), None, "", set())
    for raw in ("", "T", "TI", "SRC", "RCI+1:AB", "ADD+7", "TIG+A+B", "tif+A+B:A:1", "\u0154IF+A"):
        assert fast.read(reader, raw, 0) is False
    assert reader.b.travellers == []
    assert fast.read(reader, "TIF+DOE+JOHN:A:1", 0) is True
    assert [t.surname for t in reader.b.travellers] == ["DOE"]
