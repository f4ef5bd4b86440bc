"""Fast paths: the commonest PNRGOV segments, in their commonest shape, read from the raw text.

About 85% of the segments of a push (synthetic traffic) are a handful of shapes
(`TRI++:::1`, `TIF+SURNAME+GIVEN:A:1`, `RPI+1+HK`, `APD+788`, `DAT+710:020225`, `LTS+...`,
`SSR+DOCS:HK:::::::/P/...`, `IFT+4:28+CTCE ...`, `TKT`, `MON`, `TVL`, `ORG`, `FOP`). Reading
them from the raw segment, slicing or splitting only what is kept and without a `Segment`
or the general dispatch, saves that work for them (docs/performance.md).

Each function reads one raw segment (default separators `+` and `:`, ASCII or no released
character: the caller checks) and returns True when it placed it, or False, having changed
nothing, when the segment needs the general handler: another state, another shape, or a
case whose deviation the general handler records. Where a fast path shares the general
handler's placing code (`ssr.place_ssr`, `reservation.place_ift` ...), what that code
records is recorded the same way. `tests/unit/formats/test_fast_paths.py` holds the two
ways equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pnrguard.domain.model import Agency, HistoryEntry, Leg
from pnrguard.formats.edifact.splitting import split_elements
from pnrguard.formats.pnrgov.itinerary import open_leg
from pnrguard.formats.pnrgov.reservation import add_payment, place_ift, place_ticket, set_amounts
from pnrguard.formats.pnrgov.ssr import _SEAT_CODES, place_ssr
from pnrguard.formats.pnrgov.state import _LEG, BookingReader
from pnrguard.formats.pnrgov.travellers import add_traveller
from pnrguard.formats.pnrgov.values import _date6, _datetime

#: The elements of a raw segment, split as the general path splits them (C where built).
_split: Final = split_elements


def tri(rd: BookingReader, raw: str, index: int) -> bool:
    """`TRI++:::1`: a traveller's check-in group on the current leg."""
    if rd.state != _LEG or rd.leg is None:
        return False
    parts = raw.split("+", 3)
    ref = ""
    if len(parts) > 2:
        e1 = parts[2].split(":", 4)
        ref = e1[3] if len(e1) > 3 else ""
    rd.start_tri(ref)
    rd.tri_expect_tif = True
    return True


def tif(rd: BookingReader, raw: str, index: int) -> bool:
    """The `TIF` right after a `TRI` names the checked-in traveller; elsewhere, a
    `TIF+SURNAME+GIVEN:A:1` opens a traveller's group (`travellers.add_traveller`)."""
    if rd.state != _LEG:
        return new_traveller(rd, raw)
    if not rd.tri_expect_tif:
        return False
    parts = raw.split("+", 3)
    ref = ""
    if len(parts) > 2:
        e1 = parts[2].split(":", 3)
        ref = e1[2] if len(e1) > 2 else ""
    rd.tri_expect_tif = False
    if ref:
        rd.tri_ref = ref
        if rd.tri_checkin is not None:
            rd.tri_checkin.traveller_ref = ref
    return True


def rpi(rd: BookingReader, raw: str, index: int) -> bool:
    """`RPI+1+HK`: the leg's party size and status."""
    leg = rd.leg
    if rd.state != _LEG or leg is None:
        return False
    parts = raw.split("+", 3)
    n = len(parts)
    size = parts[1].partition(":")[0].strip() if n > 1 else ""
    leg.party_size = int(size) if size.isdigit() and len(size) < 10 else None
    leg.status = parts[2].partition(":")[0] if n > 2 else ""
    return True


def apd(rd: BookingReader, raw: str, index: int) -> bool:
    """`APD+788`: the leg's equipment."""
    leg = rd.leg
    if rd.state != _LEG or leg is None:
        return False
    leg.equipment = raw[4:].partition("+")[0].partition(":")[0]
    return True


def lts(rd: BookingReader, raw: str, index: int) -> bool:
    """`LTS+<text>`: a history line, the text as sent (separators included)."""
    rd.flush_history()
    rd.b.history.append(HistoryEntry(text=raw[4:]))
    return True


def dat(rd: BookingReader, raw: str, index: int) -> bool:
    """`DAT+2:date:time` on a leg (its check-in block), `DAT+710:date` elsewhere (ticketing)."""
    if rd.state == _LEG:
        e0 = raw[4:].partition("+")[0].split(":")
        date_v = e0[1] if len(e0) > 1 else ""
        time_v = e0[2] if len(e0) > 2 else ""
        at = _datetime(date_v, time_v)
        if at is None and (date_v.strip() or time_v.strip()):
            return False  # a deviation: the general handler records it
        rd.checkin_open = True
        rd.checkin_at = at
        rd.tri_ref = None
        rd.tri_checkin = None
        return True
    if len(raw) < 5:
        return False
    for element in raw[4:].split("+"):
        el = element.split(":")
        if el[0] == "710":
            day = _date6(el[1]) if len(el) > 1 else None
            ticket = rd.ticket
            if ticket is not None:
                if ticket.issue_date is None:
                    ticket.issue_date = day
            elif rd.b.ticketed is None:
                rd.b.ticketed = day
    return True


def new_traveller(rd: BookingReader, raw: str) -> bool:
    """`TIF+SURNAME+GIVEN:A:1[:1]` in a PNR's own groups: a new traveller."""
    els: list[list[str]] = _split(raw, "+", ":", None)
    if len(els) != 2 or len(els[0]) != 1:
        return False
    surname = els[0][0]
    e1 = els[1]
    m = len(e1)
    given = e1[0]
    ref = e1[2] if m > 2 else ""
    if ref:
        same = rd.b.traveller(ref)
        if same is not None and same.surname == surname and same.given_names == given:
            return False  # the traveller group sent again: a deviation
    add_traveller(rd, surname, given, e1[1] if m > 1 else "", ref, m > 3 and e1[3] == "1")
    return True


def docs(rd: BookingReader, raw: str, index: int) -> bool:
    """`SSR+DOCS:HK:::::::/P/GBR/...+::1`: only the text and the traveller reference are
    kept, so they are sliced out (ten `find`s) rather than every component split."""
    n = len(raw)
    end = raw.find("+", 9)
    if end < 0:
        end = n
    i = 8  # the colon after DOCS
    for _ in range(7):
        i = raw.find(":", i + 1, end)
        if i < 0:
            return False  # no free text: the split path
    text = raw[i + 1 : end]  # components 8 and after, joined by their colons
    ref = ""
    if end < n:
        stop = raw.find("+", end + 1)
        if stop < 0:
            stop = n
        a = raw.find(":", end + 1, stop)
        if a >= 0:
            b = raw.find(":", a + 1, stop)
            if b >= 0:
                c = raw.find(":", b + 1, stop)
                ref = raw[b + 1 : stop if c < 0 else c]
    place_ssr(rd, "DOCS", "", "", text, ref, None, index)
    return True


def ssr(rd: BookingReader, raw: str, index: int) -> bool:
    """SSRs whose code is regular (DOCS by `docs`, the rest split here)."""
    if raw.startswith("SSR+DOCS:") and docs(rd, raw, index):
        return True
    if len(raw) < 5:
        return False
    els: list[list[str]] = _split(raw, "+", ":", None)
    head = els[0]
    code = head[0]
    if code != code.strip().upper():
        return False  # `docs`: a deviation
    h = len(head)
    text = (head[8] if h == 9 else ":".join(head[8:])) if h > 8 else ""
    ref = els[1][2] if len(els) > 1 and len(els[1]) > 2 else ""
    rest = els[1:] if code in _SEAT_CODES else None
    place_ssr(rd, code, head[1] if h > 1 else "", head[3] if h > 3 else "", text, ref, rest, index)
    return True


def ift(rd: BookingReader, raw: str, index: int) -> bool:
    """`IFT+4:28+CTCE ...`, `IFT+4:15+<fare calculation>`: one free-text element."""
    parts = raw.split("+")
    if len(parts) != 3:
        return False
    c0, _, c1 = parts[1].partition(":")
    if ":" in c1:
        c1 = c1.partition(":")[0]
    place_ift(rd, c0, c1, parts[2], None)
    return True


def tkt(rd: BookingReader, raw: str, index: int) -> bool:
    """`TKT+0064941187915:T` in a PNR's or a traveller's group."""
    if rd.state == _LEG or len(raw) < 5:
        return False  # on a leg: a deviation
    number, _, rest = raw[4:].partition("+")[0].partition(":")
    place_ticket(rd, number, rest.partition(":")[0])
    return True


def mon(rd: BookingReader, raw: str, index: int) -> bool:
    """`MON+B:732.00:USD+T:852.00`: the current ticket's fare and total."""
    ticket = rd.ticket
    if ticket is None or len(raw) < 5:
        return False
    set_amounts(ticket, [element.split(":") for element in raw[4:].split("+")])
    return True


def tvl(rd: BookingReader, raw: str, index: int) -> bool:
    """`TVL+020625:2035:030625:1740+LAX+LYS+DL+121:H`: a leg whose four moments read."""
    els: list[list[str]] = _split(raw, "+", ":", None)
    if len(els) != 5:
        return False
    e0 = els[0]
    if len(e0) != 4:
        return False
    dep_d, dep_t, arr_d, arr_t = e0[0], e0[1], e0[2], e0[3]
    if not (dep_d and arr_d and arr_t):
        return False  # an operating flight's TVL, the arrival time alone, a date left out
    departure = _datetime(dep_d, dep_t)
    arrival = _datetime(arr_d, arr_t)
    if departure is None or arrival is None:
        return False  # a deviation
    rd.flush_fare()
    e3, e4 = els[3], els[4]
    leg = Leg(
        carrier=e3[0],
        operating_carrier=e3[1] if len(e3) > 1 else "",
        flight_number=e4[0],
        booking_class=e4[1] if len(e4) > 1 else "",
        origin=els[1][0],
        destination=els[2][0],
        departure=departure,
        arrival=arrival,
    )
    open_leg(rd, leg)
    return True


def org(rd: BookingReader, raw: str, index: int) -> bool:
    """`ORG+DL:LAX+++++US+WEB`: the booking's agency, in a PNR's or a traveller's group."""
    if rd.state == _LEG or rd.b.agency is not None or len(raw) < 5:
        return False
    els: list[list[str]] = _split(raw, "+", ":", None)
    n = len(els)
    e0 = els[0]
    airline = e0[0]
    location = e0[1] if len(e0) > 1 else ""
    iata = els[1][0] if n > 1 else ""
    country = els[5][0] if n > 5 else ""
    agent = els[6][0] if n > 6 else ""
    if not (airline or location or iata or country or agent):
        return False  # nothing given: counted by the general handler
    rd.b.agency = Agency(
        airline=airline, location=location, iata_number=iata, country=country, agent_id=agent
    )
    return True


def fop(rd: BookingReader, raw: str, index: int) -> bool:
    """`FOP+CC::1079.00:DC:XXXXXXXXXXXX8110:0128`: payments, in a PNR's or a traveller's group."""
    if rd.state == _LEG or len(raw) < 5:
        return False  # on a leg: a deviation
    for el in _split(raw, "+", ":", None):
        add_payment(rd, el)
    return True


def tag_key(raw: str) -> int:
    """The tag (the first three characters) as one number, each code point in 21 bits, so
    no two tags share one: `read` compares numbers, where each `tag == "TIF"` was a call
    and a `memcmp` (about 90 instructions, 2.6 M a read of the flight, compiled), and the
    tag need not be sliced out of the raw segment at all."""
    return (ord(raw[0]) << 42) | (ord(raw[1]) << 21) | ord(raw[2])


_TIF: Final = tag_key("TIF")
_DAT: Final = tag_key("DAT")
_IFT: Final = tag_key("IFT")
_SSR: Final = tag_key("SSR")
_TRI: Final = tag_key("TRI")
_LTS: Final = tag_key("LTS")
_TVL: Final = tag_key("TVL")
_TKT: Final = tag_key("TKT")
_MON: Final = tag_key("MON")
_RPI: Final = tag_key("RPI")
_APD: Final = tag_key("APD")
_ORG: Final = tag_key("ORG")
_FOP: Final = tag_key("FOP")


def read(rd: BookingReader, raw: str, index: int) -> bool:
    """Read one raw segment by the fast path of its tag (`FAST[raw[:3]]`), if it has one:
    True when placed.

    A chain of tests, commonest tags first, rather than a dict of functions: mypyc makes
    each a direct native call, where a look-up and a call through the Python calling
    convention cost about 600 instructions a segment (docs/performance.md)."""
    if len(raw) < 3:
        return False
    key = tag_key(raw)
    if key == _TIF:
        return tif(rd, raw, index)
    if key == _DAT:
        return dat(rd, raw, index)
    if key == _IFT:
        return ift(rd, raw, index)
    if key == _SSR:
        return ssr(rd, raw, index)
    if key == _TRI:
        return tri(rd, raw, index)
    if key == _LTS:
        return lts(rd, raw, index)
    if key == _TVL:
        return tvl(rd, raw, index)
    if key == _TKT:
        return tkt(rd, raw, index)
    if key == _MON:
        return mon(rd, raw, index)
    if key == _RPI:
        return rpi(rd, raw, index)
    if key == _APD:
        return apd(rd, raw, index)
    if key == _ORG:
        return org(rd, raw, index)
    if key == _FOP:
        return fop(rd, raw, index)
    return False


FastPath = Callable[[BookingReader, str, int], bool]

#: Tag -> fast path: how the interpreted build dispatches (a dict look-up and one call
#: cost less there than a chain of tests in a Python function; compiled, `read` wins).
FAST: Final[dict[str, FastPath]] = {
    "TRI": tri,
    "TIF": tif,
    "RPI": rpi,
    "APD": apd,
    "LTS": lts,
    "DAT": dat,
    "SSR": ssr,
    "IFT": ift,
    "TKT": tkt,
    "MON": mon,
    "TVL": tvl,
    "ORG": org,
    "FOP": fop,
}
