"""PNRGOV (carrier-to-government PNR push) reader and writer.

The reader maps what it recognises into the Annex I booking model and counts everything
else by tag (`ReadResult.unknown_segments`), so nothing outside Annex I reaches storage.
It follows what carriers really send (the GTAS samples in `shared/conformance/gtas`), not
only the implementation guides: versions 10.1 to 21.1, RCI with several locators or with
the date in the wrong component, DOCS at booking, traveller and itinerary level, infants
whose DOCS sit on the adult, code-share legs given as a marketing TVL followed by an
operating `TVL+++++<flight>` (11.1) or a `TRA` (13.1), bag pools, and stray lines.

Tolerance (REQUIREMENTS.md section 9): the reader is a small state machine over the
segments of each `SRC` group. A segment that cannot be placed is skipped, counted and
recorded as a `Deviation` (tag and index only); everything else is kept. `MessageError` is
raised only when the interchange holds no PNRGOV message or no PNR at all. Every loop runs
over the input's own segments, elements or a small bound (bag tag runs are capped), so no
input can make the reader spin.

Sensitive SSRs (meals, health) are read like any other: the protection layer deletes them
right after reading, where the deletion is counted and audited.

The writer produces a complete interchange a carrier could have sent. What PNRGOV cannot
express exactly is described by `pnrgov_normalise`, which a round trip must equal:
`read_pnrgov(write_pnrgov([b], flight=f, ...)).bookings == [pnrgov_normalise(b, flight=f)]`.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Sequence

from pnrguard.domain.model import (
    Address,
    Agency,
    Bag,
    Booking,
    CheckIn,
    Contact,
    Document,
    FrequentFlyer,
    HistoryEntry,
    Leg,
    Payment,
    Remark,
    Seat,
    ServiceRequest,
    Source,
    Ticket,
    Traveller,
    TravellerType,
)
from pnrguard.errors import MessageError
from pnrguard.formats.edifact import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Deviation,
    Interchange,
    Message,
    OutgoingMessage,
    RawSegment,
    Segment,
    gc_paused,
    parse_interchange,
    safe_tag,
    write_interchange,
    write_segment,
)
from pnrguard.formats.result import ReadResult

__all__ = [
    "CHECKED_IN",
    "SUPPORTED_VERSIONS",
    "pnrgov_normalise",
    "read_pnrgov",
    "write_pnrgov",
]

#: Major versions of the PNRGOV message this reader accepts (10.1 ... 21.1).
SUPPORTED_VERSIONS = range(10, 22)

#: CheckIn.status for a traveller reported in a leg's check-in (DCS) group. PNRGOV carries
#: the check-in time, not a status code, so this is the only status the reader produces.
CHECKED_IN = "checked_in"

#: Max bags expanded from one "first tag + number of consecutive tags" element; a larger
#: count is kept as the single tag given (real traffic sends garbage counts like 722356).
MAX_TAG_RUN = 99

# Tags that belong to PNRGOV: outside Annex I they are counted, not reported as deviations.
_PNRGOV_TAGS = frozenset(
    {
        "MSG", "ORG", "TVL", "EQN", "SRC", "RCI", "SSR", "DAT", "IFT", "ADD", "EBD", "TIF",
        "FTI", "REF", "FAR", "TKT", "MON", "PTK", "TXD", "FOP", "RPI", "APD", "TRA", "TRI",
        "SSD", "TBD", "ABI", "SAC", "LTS", "ERC", "CBD", "PBD",
    }
)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NO = {m: i + 1 for i, m in enumerate(_MONTHS)}

_TYPE_CODES: dict[str, TravellerType] = {
    "": TravellerType.ADULT,
    "A": TravellerType.ADULT,
    "C": TravellerType.CHILD,
    "CH": TravellerType.CHILD,
    "CHD": TravellerType.CHILD,
    "IN": TravellerType.INFANT,
    "INF": TravellerType.INFANT,
    "CREW": TravellerType.CREW,
    "OTHER": TravellerType.OTHER,
}

# Contact kinds <-> the letter after CTC in OSI / free text (IATA: CTCE e-mail, CTCF fax,
# CTCA address, CTCB/H/M/P/R/T/U phones of various kinds).
_CTC_KIND = {"E": "email", "F": "fax", "A": "other"}
_CTC_USE = {"H": "home", "M": "mobile", "B": "business", "T": "agency"}
_USE_CTC = {use: letter for letter, use in _CTC_USE.items()}
_KIND_CTC = {"email": "E", "fax": "F", "other": "A", "phone": "P"}
_CTC_LETTERS = frozenset("ABEFHMPRTU")

_CTC_SSR = frozenset(f"CTC{letter}" for letter in "BEHMPT")

# Seat requests (AIRIMP): SEAT, and the smoking/non-smoking requests that name the seat in
# their free text (`NSST ... 12AN`); RQST is a generic seat request.
_SEAT_CODES = frozenset({"SEAT", "NSST", "NSSA", "NSSW", "NSSB", "SMST", "SMSA", "SMSW", "SMSB", "RQST"})
_SEAT_IN_TEXT = re.compile(r"(?<![0-9A-Z])0*([1-9][0-9]{0,2})([A-HJ-L])(?:[NSWAB]?)(?![0-9A-Z])")

_DOCS_ONLY_FIELDS = ("nationality", "surname", "given_names", "gender", "date_of_birth", "expiry")

# --- small parsers ------------------------------------------------------------------------


# Date and time strings repeat a great deal (a flight's date in every booking, tickets
# issued the same day, a traveller's DOCS in each push): the parsers below are cached, in
# bounded LRU caches (the reader ran 10% faster, and 8% more with `_date7`, measured).
# Their results are immutable, so sharing them between bookings is safe.
@functools.lru_cache(maxsize=4096)
def _date6(value: str) -> dt.date | None:
    """DDMMYY as PNRGOV sends event dates (bookings, flights, check-in): always 20YY."""
    if len(value) != 6 or not value.isdigit():
        value = value.strip()
        if len(value) != 6 or not value.isdigit():
            return None
    try:
        return dt.date(2000 + int(value[4:6]), int(value[2:4]), int(value[0:2]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _time(value: str) -> dt.time | None:
    """HHMM or HHMMSS."""
    value = value.strip()
    n = len(value)
    if n not in (4, 6) or not value.isdigit():
        return None
    try:
        return dt.time(int(value[0:2]), int(value[2:4]), int(value[4:6]) if n == 6 else 0)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _datetime(date_value: str, time_value: str) -> dt.datetime | None:
    """The moment, or None when the date or a time that was sent is unreadable (an
    impossible time such as 4321 is not midnight); a date alone is midnight."""
    day = _date6(date_value)
    if day is None:
        return None
    tm = _time(time_value)
    if tm is None:
        return None if time_value.strip() else dt.datetime(day.year, day.month, day.day)
    return dt.datetime.combine(day, tm)


def _moments_ok(seg: Segment, element: int, pairs: int) -> bool:
    """Whether every date and time sent in `element` (date, time, date, time ...) reads."""
    comps = seg.elements[element] if element < len(seg.elements) else _NONE
    for i, value in enumerate(comps[: 2 * pairs]):
        if value.strip() and (_time(value) if i % 2 else _date6(value)) is None:
            if i == 2 and not comps[3:4] and _time(value) is not None:
                continue  # TVL+date:time:time, the arrival time alone
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _date7(value: str, past: bool, today: dt.date) -> dt.date | None:
    """DDMMMYY as in SSR DOCS. `past` dates (birth, issue) are never in the future, so the
    century is 20YY unless that lies after today; other dates (expiry) are 20YY."""
    value = value.strip().upper()
    n = len(value)
    if n not in (7, 9) or not (value[:2].isdigit() and value[5:].isdigit()):
        return None  # DDMMMYY, or DDMMMYYYY as some carriers send: the century is given
    month = _MONTH_NO.get(value[2:5])
    if month is None:
        return None
    try:
        if n == 9:
            return dt.date(int(value[5:]), month, int(value[:2]))
        day = dt.date(2000 + int(value[5:]), month, int(value[:2]))
        if past and day > today:
            day = day.replace(year=day.year - 100)
    except ValueError:
        return None
    return day


def _fmt_date6(day: dt.date) -> str:
    return f"{day.day:02d}{day.month:02d}{day.year % 100:02d}"


def _fmt_time(moment: dt.datetime, *, seconds: bool = False) -> str:
    if seconds and moment.second:
        return f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    return f"{moment.hour:02d}{moment.minute:02d}"


def _fmt_date7(day: dt.date | None) -> str:
    if day is None:
        return ""
    return f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


_NONE: list[str] = []  # an element the carrier left out (only ever read, never changed)


def _comp(elements: list[list[str]], element: int, component: int = 0) -> str:
    if element < len(elements):
        comps = elements[element]
        if component < len(comps):
            return comps[component]
    return ""


_ASSOCIATION = re.compile(r"\s*-\s*[0-9]{1,3}\.[0-9]{1,3}\s*$")


def _slash_fields(text: str) -> list[str]:
    """The fields of DOCS/DOCA/DOCO free text: `/P/GBR/123/...` (leading slash optional).

    Blanks around the slashes are dropped (`/P / GBR / 123`), and so is the passenger
    association a reservation system appends (`...//JAY-1.1`): it is not part of the name.
    """
    stripped = text.strip(" ")
    if stripped.startswith("/"):
        stripped = stripped[1:]
    if "-" in stripped:
        stripped = _ASSOCIATION.sub("", stripped)
    fields = stripped.split("/")
    if " " in stripped:
        fields = [f.strip(" ") for f in fields]
    return fields


def _field(fields: list[str], i: int) -> str:
    return fields[i] if i < len(fields) else ""


def _traveller_gender(doc_gender: str) -> str:
    """Traveller gender from a DOCS gender: MI/FI (infant) become M/F."""
    if len(doc_gender) == 2 and doc_gender[1] == "I":
        return doc_gender[0]
    return doc_gender


def _is_infant_gender(doc_gender: str) -> bool:
    return len(doc_gender) == 2 and doc_gender[1] == "I"


def _contact(text: str) -> tuple[str, str, str] | None:
    """(kind, value, use) if free text is a CTC contact, else None.

    Accepts `CTCE X//Y.COM`, `CTCM 4917...`, `CTC H 0691234`, `AM CTCP 123`, and the SSR
    form of the same (`CTCM` code, number in the text). The value is cleaned: an e-mail
    gets its `@`, `_` and `-` back from the AIRIMP escapes; a phone loses the city code in
    front, the language or kind suffix and its punctuation (`LON 44 (20) 7946-0000/EN` is
    `+4420...` only when a `+` was sent; else digits). Text that is not a number is kept.
    """
    start = 0
    if not text.startswith("CTC"):
        if len(text) > 6 and text[2] == " " and text.startswith("CTC", 3):
            start = 3
        else:
            return None
    rest = text[start + 3 :]
    letter = ""
    if rest[:1] in _CTC_LETTERS and (len(rest) == 1 or rest[1] == " "):
        letter, value = rest[0], rest[2:]
    elif rest[:1] == " " and rest[1:2] in _CTC_LETTERS and (len(rest) == 2 or rest[2] == " "):
        letter, value = rest[1], rest[3:]  # `CTC H 0691234`
    else:
        value = rest[1:] if rest.startswith(" ") else rest
    kind = _CTC_KIND.get(letter, "phone")
    if kind == "email":
        return kind, _clean_email(value), ""
    if kind == "phone":
        number, suffix = _clean_phone(value)
        return kind, number, _CTC_USE.get(letter) or _CTC_USE.get(suffix, "")
    return kind, value.strip(), ""


_CITY_PREFIX = re.compile(r"^[A-Z]{3}\s+(?=[+0-9(])")
_PHONE_SUFFIX = re.compile(r"(?:/[A-Z]{2}|-([A-Z]))\s*$")
_PHONE = re.compile(r"\+?[0-9(][0-9 ().\-/]*")


def _clean_phone(value: str) -> tuple[str, str]:
    """(number, kind letter of a `-H` style suffix) from phone free text."""
    v = value.strip()
    suffix = ""
    m = _PHONE_SUFFIX.search(v)
    if m is not None:
        suffix = m.group(1) or ""
        v = v[: m.start()].rstrip()
    v = _CITY_PREFIX.sub("", v)
    if _PHONE.fullmatch(v) is None:
        return value.strip(), ""  # not a number: kept as sent
    digits = "".join(c for c in v if c.isdigit())
    return ("+" + digits if v.startswith("+") else digits), (suffix if suffix in _CTC_USE else "")


def _clean_email(value: str) -> str:
    """AIRIMP free text cannot carry `@`, `_` or `-`: `//`, `..` and `./` stand for them."""
    v = value.strip()
    if "/" in v:
        head, sep, lang = v.rpartition("/")
        if sep and len(lang) == 2 and lang.isalpha() and "//" in head:
            v = head  # a trailing language code: `X//Y.COM/EN`
        v = v.replace("//", "@").replace("./", "-")
    return v.replace("..", "_")


def _docs_document(fields: list[str], today: dt.date) -> tuple[Document, bool]:
    """A Document from SSR DOCS fields; the flag says whether a date was unreadable."""
    # Padded and unpacked at once rather than ten `_field` calls (measured).
    doc_type, country, number, nationality, dob_text, gender, exp_text, surname, given, middle = (
        *fields, "", "", "", "", "", "", "", "", "", "")[:10]
    dob = _date7(dob_text, True, today) if dob_text else None
    expiry = _date7(exp_text, False, today) if exp_text else None
    doc = Document(
        doc_type=doc_type,
        issuing_country=country,
        number=number,
        nationality=nationality,
        date_of_birth=dob,
        gender=gender,
        expiry=expiry,
        surname=surname,
        given_names=f"{given} {middle}" if middle else given,
    )
    bad = (bool(dob_text.strip()) and dob is None) or (bool(exp_text.strip()) and expiry is None)
    return doc, bad


def _leg_from_tvl(seg: Segment) -> Leg:
    # Guarded indexing, written out: 3x faster than ten `_comp` calls (measured).
    els = seg.elements
    n = len(els)
    e0 = els[0] if n else _NONE
    m = len(e0)
    if m >= 4:
        dep_d, dep_t, arr_d, arr_t = e0[0], e0[1], e0[2], e0[3]
    else:
        dep_d, dep_t, arr_d, arr_t = (*e0, "", "", "", "")[:4]
    if not arr_t and len(arr_d.strip()) == 4:  # TVL+120518:1220:1505: the arrival time only
        arr_d, arr_t = "", arr_d
    departure = _datetime(dep_d, dep_t) if dep_d else None
    arrival: dt.datetime | None = None
    if arr_d:
        arrival = _datetime(arr_d, arr_t)
    elif arr_t and departure is not None:
        # Arrival date left out "if it is the same day"; an earlier time means next day.
        tm = _time(arr_t)
        if tm is not None:
            arrival = dt.datetime.combine(departure.date(), tm)
            if arrival < departure:
                arrival += dt.timedelta(days=1)
    e1 = els[1] if n > 1 else _NONE
    e2 = els[2] if n > 2 else _NONE
    e3 = els[3] if n > 3 else _NONE
    e4 = els[4] if n > 4 else _NONE
    return Leg(
        carrier=e3[0] if e3 else "",
        operating_carrier=e3[1] if len(e3) > 1 else "",
        flight_number=e4[0] if e4 else "",
        booking_class=e4[1] if len(e4) > 1 else "",
        origin=e1[0] if e1 else "",
        destination=e2[0] if e2 else "",
        departure=departure,
        arrival=arrival,
    )


def _is_operating_tvl(seg: Segment) -> bool:
    """`TVL+++++624:M`: the operating flight of the code-share leg just read (11.1 style)."""
    els = seg.elements
    if len(els) < 5 or not els[4] or not els[4][0]:
        return False
    if els[0] and els[0][0]:  # a leg's own TVL starts with its date: skip the generator
        return False
    return not any(c for e in els[:4] for c in e)


# --- the reader -----------------------------------------------------------------------------

# Every booking gets its own copy of the message's flight. `copy.copy` on a slotted
# dataclass goes through `__reduce_ex__` and took 10% of the reader (measured); building
# the Leg from its own fields (all immutable values) is a shallow copy too.
_leg_values = operator.attrgetter(*(f.name for f in dataclasses.fields(Leg)))


def _copy_leg(leg: Leg) -> Leg:
    return Leg(*_leg_values(leg))


# Where in the SRC group the reader is.
_BOOKING, _TRAVELLER, _LEG, _SPLIT, _NONAIR, _HISTORY = range(6)


class _Context:
    """Per-read state shared by the bookings of one interchange: result, strictness."""

    __slots__ = ("result", "strict", "today")

    def __init__(self, result: ReadResult, strict: bool) -> None:
        self.result = result
        self.strict = strict
        self.today = dt.date.today()

    def deviate(self, code: str, seg: Segment | None) -> None:
        index = seg.index if seg is not None else None
        if self.strict:
            raise MessageError(code, segment_index=index)
        self.result.deviations.append(Deviation(code, index, safe_tag(seg.tag) if seg else ""))

    def unknown(self, seg: Segment) -> None:
        tag = seg.tag
        if tag in _PNRGOV_TAGS:
            self.result.unknown_segments[tag] += 1
        else:
            tag = safe_tag(tag)
            self.result.unknown_segments[tag] += 1
            self.deviate("unknown_segment", seg)


@dataclasses.dataclass(slots=True)
class _Pending:
    """An SSR DOCS/DOCA/DOCO or traveller ADD waiting for its traveller (infant DOCS can
    come before the infant's TIF, so placement happens when the SRC group ends)."""

    kind: str  # "DOCS", "DOCA", "DOCO", "ADD"
    obj: Document | Address | None
    ref: str  # traveller reference given in the SSR
    context: Traveller | None  # the TIF the SSR was found under
    infant: bool
    surname: str
    index: int
    birth_place: str = ""


class _BookingReader:
    """Builds one Booking from the segments of one SRC group."""

    def __init__(self, ctx: _Context, flight: Leg | None, reporting: str, flight_carriers: set[str]) -> None:
        self.ctx = ctx
        self.b = Booking(
            source=Source.PNR,
            reported_flight=_copy_leg(flight) if flight is not None else None,
            reporting_party=reporting,
        )
        self.flight_carriers = flight_carriers
        self.state = _BOOKING
        self.rci_seen = False
        self.traveller: Traveller | None = None
        self.ticket: Ticket | None = None
        self.payment: Payment | None = None
        self.leg_index: int | None = None
        self.leg: Leg | None = None
        self.checkin_open = False
        self.checkin_at: dt.datetime | None = None
        self.tri_ref: str | None = None
        self.tri_checkin: CheckIn | None = None
        self.tri_expect_tif = False
        self.pending_fare: tuple[str, str] | None = None
        self.pending: list[_Pending] = []
        self.infant_flagged: list[Traveller] = []
        self.linked: set[str] = set()
        self.history_parts: list[str] | None = None
        self.fed = 0

    # -- dispatch ---------------------------------------------------------------------------

    def feed(self, seg: Segment) -> bool:
        """Place one segment. Returns True when it starts another PNR (an RCI with a new
        locator where no SRC came first): the caller then opens a new booking with it."""
        tag = seg.tag
        state = self.state
        self.fed += 1
        if state == _HISTORY and tag != "LTS":
            self._history_segment(seg)
            return False
        handler = _HANDLERS.get(tag)
        if handler is None:
            self.ctx.unknown(seg)
            return False
        if state == _SPLIT and tag != "RCI":
            self.state = _BOOKING if self.leg is None else _LEG
        elif state == _NONAIR and tag not in _LEAVE_NONAIR:
            self.ctx.result.unknown_segments[tag] += 1
            return False
        return handler(self, seg)

    # -- group 1: the PNR -------------------------------------------------------------------

    def _rci(self, seg: Segment) -> bool:
        els = seg.elements
        b = self.b
        if self.state == _SPLIT:
            for el in els:
                if len(el) > 1 and el[1]:
                    b.split_from.append(el[1])
            return False
        locators = [el[1] for el in els if len(el) > 1 and el[1]]
        if self.rci_seen:
            if b.locator in locators or not locators:
                return False  # a repeat, or the leg's (DCS) copy of the record
            if self.state == _LEG:
                # Another locator in a leg: the operating carrier's record, unless it gives a
                # creation date as only a PNR's own RCI does: then SRC was left out.
                return any(len(el) > 3 and el[3] for el in els)
            return True
        self.rci_seen = True
        chosen = 0
        for i, el in enumerate(els):
            if el and el[0] in self.flight_carriers and len(el) > 1 and el[1]:
                chosen = i
                break
        el = els[chosen] if els else []
        b.carrier = el[0] if el else ""
        b.locator = el[1] if len(el) > 1 else ""
        date_v = el[3] if len(el) > 3 else ""
        time_v = el[4] if len(el) > 4 else ""
        if len(el) > 2 and len(el[2]) == 6 and el[2].isdigit() and _date6(date_v) is None:
            date_v, time_v = el[2], el[3] if len(el) > 3 else ""  # RCI+UA:80F4E3:110318:2220
        b.created = _datetime(date_v, time_v) if date_v else None
        if date_v and b.created is None:
            self.ctx.deviate("datetime_unreadable", seg)
        if len(locators) > 1:
            # Other systems' locators of the same PNR: the model keys on one locator.
            self.ctx.result.unknown_segments["RCI"] += len(locators) - 1
        if self.fed > 1:  # RCI is the first segment after SRC
            self.ctx.deviate("segment_out_of_order", seg)
        return False

    def _ssr(self, seg: Segment) -> bool:
        els = seg.elements
        head = els[0] if els else []
        code = head[0] if head else ""
        if code != code.strip().upper():
            # `docs`, ` DOCS`: read as the code it is, so DOCS is placed and the
            # sensitive-data filter (which matches codes) sees `WCHR`, not `wchr`.
            self.ctx.deviate("ssr_code_irregular", seg)
            code = code.strip().upper()
        text = ":".join(head[8:]) if len(head) > 8 else ""
        ref = els[1][2] if len(els) > 1 and len(els[1]) > 2 else ""
        state = self.state
        context = self.traveller if state == _TRAVELLER else None
        leg_index = self.leg_index if state == _LEG else None
        if code in ("DOCS", "DOCA", "DOCO"):
            self._pending_ssr(code, text, ref, context, seg)
            return False
        if code in _CTC_SSR:  # SSR CTCE/CTCM...: a contact, as the same text in an OSI is
            contact = _contact(f"{code} {text}")
            if contact is not None:
                kind, value, use = contact
                owner = ref or (context.ref if context else "")
                self.b.contacts.append(Contact(kind=kind, value=value, traveller_ref=owner, use=use))
                return False
        if code in _SEAT_CODES:
            seats = [e for e in els[1:] if e and e[0]]
            if seats:
                for e in seats:
                    seat_ref = e[2] if len(e) > 2 and e[2] else (ref or (context.ref if context else ""))
                    self.b.seats.append(Seat(seat=e[0], traveller_ref=seat_ref, leg_index=leg_index))
                return False
            found = _SEAT_IN_TEXT.findall(text.upper())
            if found:  # NSST/RQST...: the seat in the free text (`12AN`: 12A, non-smoking)
                seat_ref = ref or (context.ref if context else "")
                for row, letter in found:
                    self.b.seats.append(
                        Seat(seat=f"{int(row)}{letter}", traveller_ref=seat_ref, leg_index=leg_index)
                    )
                return False
        if not ref and context is not None:
            ref = context.ref
        self.b.service_requests.append(
            ServiceRequest(
                code=code,
                status=head[1] if len(head) > 1 else "",
                carrier=head[3] if len(head) > 3 else "",
                text=text,
                traveller_ref=ref,
                leg_index=leg_index,
            )
        )
        return False

    def _pending_ssr(self, code: str, text: str, ref: str, context: Traveller | None, seg: Segment) -> None:
        fields = _slash_fields(text)
        if code == "DOCS":
            doc, bad = _docs_document(fields, self.ctx.today)
            if bad:
                self.ctx.deviate("docs_date_unreadable", seg)
            self.pending.append(
                _Pending("DOCS", doc, ref, context, _is_infant_gender(doc.gender), doc.surname, seg.index)
            )
        elif code == "DOCA":
            addr = Address(
                kind=_field(fields, 0),
                country=_field(fields, 1),
                street=_field(fields, 2),
                city=_field(fields, 3),
                region=_field(fields, 4),
                postal_code=_field(fields, 5),
            )
            infant = _field(fields, 6) == "I"
            self.pending.append(_Pending("DOCA", addr, ref, context, infant, "", seg.index))
        else:
            issue_text = _field(fields, 4)
            issued = _date7(issue_text, True, self.ctx.today) if issue_text else None
            if issue_text.strip() and issued is None:
                self.ctx.deviate("doco_date_unreadable", seg)
            # /birth place/type/number/place of issue/date of issue/country valid for/infant:
            # the country a visa is valid for is not the country that issued it.
            doc_type, number = _field(fields, 1), _field(fields, 2)
            place, valid_for = _field(fields, 3), _field(fields, 5)
            doco: Document | None = None
            if doc_type or number or place or valid_for or issued is not None:
                doco = Document(
                    doc_type=doc_type, number=number, date_of_issue=issued,
                    place_of_issue=place, valid_for=valid_for,
                )  # fmt: skip
            infant = _field(fields, 6) == "I"
            self.pending.append(
                _Pending("DOCO", doco, ref, context, infant, "", seg.index, _field(fields, 0))
            )

    def _dat(self, seg: Segment) -> bool:
        state = self.state
        if state == _LEG:
            # A leg's check-in (DCS) block: DAT+2 (or DAT+3, or an empty DAT) then TRI groups.
            self.checkin_open = True
            e0 = seg.elements[0] if seg.elements else _NONE
            date_v, time_v = e0[1] if len(e0) > 1 else "", e0[2] if len(e0) > 2 else ""
            self.checkin_at = _datetime(date_v, time_v)
            if self.checkin_at is None and (date_v.strip() or time_v.strip()):
                self.ctx.deviate("datetime_unreadable", seg)
            self.tri_ref = None
            self.tri_checkin = None
            return False
        for el in seg.elements:
            qualifier = el[0] if el else ""
            if qualifier == "710":
                day = _date6(el[1]) if len(el) > 1 else None
                if self.ticket is not None:
                    if self.ticket.issue_date is None:
                        self.ticket.issue_date = day
                elif self.b.ticketed is None:
                    self.b.ticketed = day
        return False

    def _ift(self, seg: Segment) -> bool:
        els = seg.elements
        n = len(els)
        head = els[0] if n else _NONE
        c0 = head[0] if head else ""
        c1 = head[1] if len(head) > 1 else ""
        # Nearly every IFT holds one free-text element: join it alone (measured).
        text = ":".join(els[1]) if n == 2 else " ".join(map(":".join, els[1:]))
        traveller = self.traveller if self.state == _TRAVELLER else None
        ref = traveller.ref if traveller is not None else ""
        if c0 == "4" and c1 == "15":  # fare calculation
            if self.ticket is not None and not self.ticket.fare_calculation:
                self.ticket.fare_calculation = text
            else:
                self._flush_fare()
                self.pending_fare = (text, ref)
            return False
        if c0 == "4" and c1 == "43" and self.payment is not None:  # billing: holder, address, phone
            pay = self.payment
            texts = [":".join(e) for e in els[1:]]
            if texts and not pay.holder:
                pay.holder = texts[0]
            if len(texts) > 1 and pay.billing_address is None:
                pay.billing_address = Address(street=texts[1], phone=" ".join(texts[2:]))
            return False
        if not text:
            return False
        contact = _contact(text)
        if contact is not None:
            kind, value, use = contact
            self.b.contacts.append(Contact(kind=kind, value=value, traveller_ref=ref, use=use))
            return False
        if c0 == "4" and c1 == "28":
            kind = "OSI"
        elif c0 == "3" and not c1:
            kind = "RMK"
        else:
            kind = f"{c0}:{c1}"
        self.b.remarks.append(Remark(kind=kind, text=text, traveller_ref=ref))
        return False

    def _flush_fare(self) -> None:
        if self.pending_fare is not None:
            text, ref = self.pending_fare
            self.b.remarks.append(Remark(kind="4:15", text=text, traveller_ref=ref))
            self.pending_fare = None

    def _org(self, seg: Segment) -> bool:
        if self.state in (_BOOKING, _TRAVELLER) and self.b.agency is None:
            els = seg.elements
            agency = Agency(
                airline=_comp(els, 0, 0),
                location=_comp(els, 0, 1),
                iata_number=_comp(els, 1, 0),
                country=_comp(els, 5, 0),
                agent_id=_comp(els, 6, 0),
            )
            if agency != Agency():
                self.b.agency = agency
                return False
        self.ctx.result.unknown_segments["ORG"] += 1
        return False

    def _add(self, seg: Segment) -> bool:
        els = seg.elements
        addr = Address(
            kind=_comp(els, 1, 0),
            street=_comp(els, 1, 1),
            city=_comp(els, 1, 2),
            region=_comp(els, 1, 3),
            country=_comp(els, 1, 5),
            postal_code=_comp(els, 1, 6),
            phone=_clean_phone(_comp(els, 1, 7))[0],  # `1-212-555-0100` is 12125550100
        )
        if self.payment is not None and self.payment.billing_address is None:
            self.payment.billing_address = addr
        elif self.state == _TRAVELLER and self.traveller is not None:
            self.pending.append(_Pending("ADD", addr, "", self.traveller, False, "", seg.index))
        elif self.state == _BOOKING:
            self.b.addresses.append(addr)
        else:
            self.ctx.result.unknown_segments["ADD"] += 1
        return False

    def _ebd(self, seg: Segment) -> bool:
        if self.state not in (_BOOKING, _TRAVELLER):
            self.ctx.result.unknown_segments["EBD"] += 1
            return False
        els = seg.elements
        ref = self.traveller.ref if self.state == _TRAVELLER and self.traveller is not None else ""
        count = _int(_comp(els, 1, 0))
        bag = Bag(traveller_ref=ref, count=count, weight=_comp(els, 1, 1), unit=_comp(els, 1, 2))
        self.b.bags.append(bag)
        return False

    # -- group 2: travellers ----------------------------------------------------------------

    def _tif(self, seg: Segment) -> bool:
        els = seg.elements
        # Guarded indexing, written out: 3x faster than `_comp` calls or tuple padding (measured).
        n = len(els)
        e0 = els[0] if n else _NONE
        e1 = els[1] if n > 1 else _NONE
        m = len(e1)
        ref = e1[2] if m > 2 else ""
        if self.state == _LEG:
            if self.tri_expect_tif:
                self.tri_expect_tif = False
                if ref:
                    self.tri_ref = ref
                    if self.tri_checkin is not None:
                        self.tri_checkin.traveller_ref = ref
                return False
            if ref and self.b.traveller(ref) is not None:
                self.ctx.deviate("segment_out_of_order", seg)
                self._start_tri(ref)
                return False
            self.ctx.deviate("segment_out_of_order", seg)
        if n < 2 and len(e0) > 1 and e0[1] == "G":  # a group name, not a person
            self.ctx.result.unknown_segments["TIF"] += 1
            return False
        if self.pending_fare is not None:
            self._flush_fare()
        t_type = _TYPE_CODES.get(e1[1] if m > 1 else "", TravellerType.OTHER)
        surname, given = e0[0] if e0 else "", e1[0] if m else ""
        if ref:
            same = self.b.traveller(ref)
            if same is not None and (same.surname, same.given_names) == (surname, given):
                # The traveller group sent again (some systems repeat it per leg or per
                # change): one person, whose later segments join the first group.
                self.ctx.deviate("traveller_repeated", seg)
                self._enter_traveller(same)
                return False
        t = Traveller(ref=ref, surname=surname, given_names=given, traveller_type=t_type)
        if t_type is TravellerType.INFANT:
            t.accompanied_by_ref = self._infant_adult(ref)
        elif m > 3 and e1[3] == "1":
            self.infant_flagged.append(t)
        self.b.travellers.append(t)
        self._enter_traveller(t)
        return False

    def _enter_traveller(self, t: Traveller) -> None:
        self.traveller = t
        self.ticket = None
        self.payment = None
        self.state = _TRAVELLER
        self.leg = None
        self.leg_index = None

    def _infant_adult(self, infant_ref: str) -> str:
        """The reference of the adult an infant travels with (the infant's TIF says nothing
        itself): `<adult ref>I`, else the adult just before flagged "with infant", else the
        first flagged adult not yet linked."""
        b = self.b
        if infant_ref.endswith("I") and len(infant_ref) > 1:
            adult = b.traveller(infant_ref[:-1])
            if adult is not None and adult.traveller_type is not TravellerType.INFANT:
                self.linked.add(adult.ref)
                return adult.ref
        for t in reversed(b.travellers):
            if t.traveller_type is not TravellerType.INFANT:
                if any(t is f for f in self.infant_flagged) and t.ref not in self.linked:
                    self.linked.add(t.ref)
                    return t.ref
                break
        for t in self.infant_flagged:
            if t.ref not in self.linked:
                self.linked.add(t.ref)
                return t.ref
        return ""

    def _fti(self, seg: Segment) -> bool:
        if self.state != _TRAVELLER or self.traveller is None:
            self.ctx.result.unknown_segments["FTI"] += 1
            return False
        for el in seg.elements:
            if any(el):
                tier = el[4] if len(el) > 4 and el[4] else (el[6] if len(el) > 6 else "")
                self.traveller.frequent_flyers.append(
                    FrequentFlyer(airline=el[0], number=el[1] if len(el) > 1 else "", tier=tier)
                )
        return False

    def _tkt(self, seg: Segment) -> bool:
        if self.state not in (_BOOKING, _TRAVELLER):
            self.ctx.deviate("segment_out_of_order", seg)
            self.ctx.result.unknown_segments["TKT"] += 1
            return False
        ref = self.traveller.ref if self.state == _TRAVELLER and self.traveller is not None else ""
        els = seg.elements
        e0 = els[0] if els else _NONE
        ticket = Ticket(
            number=e0[0] if e0 else "", document_type=e0[1] if len(e0) > 1 else "", traveller_ref=ref
        )
        if self.pending_fare is not None:
            ticket.fare_calculation = self.pending_fare[0]
            self.pending_fare = None
        self.b.tickets.append(ticket)
        self.ticket = ticket
        self.payment = None
        return False

    def _mon(self, seg: Segment) -> bool:
        ticket = self.ticket
        if ticket is None:
            self.ctx.result.unknown_segments["MON"] += 1
            return False
        total_currency = ""
        for el in seg.elements:
            qualifier = el[0] if el else ""
            amount = el[1] if len(el) > 1 else ""
            currency = el[2] if len(el) > 2 else ""
            if qualifier == "B":
                ticket.fare_amount, ticket.fare_currency = amount, currency
            elif qualifier == "T":
                ticket.total_amount = amount
                total_currency = currency
        if not ticket.fare_currency:
            ticket.fare_currency = total_currency
        return False

    def _fop(self, seg: Segment) -> bool:
        if self.state not in (_BOOKING, _TRAVELLER):
            self.ctx.deviate("segment_out_of_order", seg)
        for el in seg.elements:
            pay = Payment(
                form=el[0] if el else "",
                amount=el[2] if len(el) > 2 else "",
                card_vendor=el[3] if len(el) > 3 else "",
                card_number=el[4] if len(el) > 4 else "",
                card_expiry=el[5] if len(el) > 5 else "",
            )
            self.b.payments.append(pay)
            self.payment = pay
        if not seg.elements:
            self.payment = Payment()
            self.b.payments.append(self.payment)
        return False

    def _count(self, seg: Segment) -> bool:
        """PNRGOV segments outside Annex I (REF, FAR, TXD, PTK, ERC ...): counted, dropped."""
        self.ctx.result.unknown_segments[seg.tag] += 1
        return False

    # -- group 5: itinerary -----------------------------------------------------------------

    def _tvl(self, seg: Segment) -> bool:
        leg = self.leg
        if self.state == _LEG and leg is not None and _is_operating_tvl(seg):
            if not leg.operating_flight_number:
                leg.operating_flight_number = seg.elements[4][0]
            else:
                self.ctx.result.unknown_segments["TVL"] += 1
            return False
        self._flush_fare()
        leg = _leg_from_tvl(seg)
        if not _moments_ok(seg, 0, 2):
            self.ctx.deviate("datetime_unreadable", seg)
        self.b.itinerary.append(leg)
        self.leg = leg
        self.leg_index = len(self.b.itinerary) - 1
        self.state = _LEG
        self.traveller = None
        self.ticket = None
        self.payment = None
        self.checkin_open = False
        self.checkin_at = None
        self.tri_ref = None
        self.tri_checkin = None
        self.tri_expect_tif = False
        return False

    def _leg_only(self, seg: Segment) -> Leg | None:
        if self.state != _LEG or self.leg is None:
            self.ctx.deviate("segment_out_of_order", seg)
            self.ctx.result.unknown_segments[seg.tag] += 1
            return None
        return self.leg

    def _rpi(self, seg: Segment) -> bool:
        leg = self.leg if self.state == _LEG else None
        if leg is None:
            self._leg_only(seg)  # records the deviation
            return False
        els = seg.elements
        n = len(els)
        e0 = els[0] if n else _NONE
        e1 = els[1] if n > 1 else _NONE
        size = e0[0].strip() if e0 else ""
        leg.party_size = int(size) if size.isdigit() and len(size) < 10 else None  # `_int`, inline
        leg.status = e1[0] if e1 else ""
        return False

    def _apd(self, seg: Segment) -> bool:
        leg = self.leg if self.state == _LEG else None
        if leg is None:
            self._leg_only(seg)  # records the deviation
            return False
        els = seg.elements
        leg.equipment = els[0][0] if els and els[0] else ""
        return False

    def _tra(self, seg: Segment) -> bool:
        leg = self._leg_only(seg)
        if leg is not None:
            leg.operating_carrier = _comp(seg.elements, 0, 0)
            leg.operating_flight_number = _comp(seg.elements, 1, 0)
        return False

    def _start_tri(self, ref: str) -> None:
        self.tri_ref = ref
        self.tri_checkin = None
        if self.checkin_open:
            at = self.checkin_at
            checkin = CheckIn(traveller_ref=ref, leg_index=self.leg_index, status=CHECKED_IN, at=at)
            self.b.check_ins.append(checkin)
            self.tri_checkin = checkin

    def _tri(self, seg: Segment) -> bool:
        if self._leg_only(seg) is None:
            return False
        self._start_tri(_comp(seg.elements, 1, 3))
        self.tri_expect_tif = True
        return False

    def _ssd(self, seg: Segment) -> bool:
        if self._leg_only(seg) is None:
            return False
        self.tri_expect_tif = False
        ref = self.tri_ref
        if ref is None:
            self.ctx.deviate("seat_without_traveller", seg)
            ref = ""
        seat, cabin = _comp(seg.elements, 0, 0), _comp(seg.elements, 4, 0)
        leg_index = self.leg_index
        for s in self.b.seats:  # the SSD confirming a seat requested by SSR SEAT
            if s.leg_index == leg_index and s.seat == seat and s.traveller_ref == ref and not s.cabin:
                s.cabin = cabin
                return False
        self.b.seats.append(Seat(seat=seat, traveller_ref=ref, leg_index=leg_index, cabin=cabin))
        return False

    def _tbd(self, seg: Segment) -> bool:
        if self._leg_only(seg) is None:
            return False
        self.tri_expect_tif = False
        ref = self.tri_ref
        if ref is None:
            self.ctx.deviate("bag_without_traveller", seg)
            ref = ""
        els = seg.elements
        count = _int(_comp(els, 1, 0))
        pool = ""
        tags: list[str] = []
        for i, el in enumerate(els):
            if i < 2 or not el:
                continue
            marker = el[0].strip()
            if marker in ("HP", "MP"):
                pool = "head" if marker == "HP" else "member"
                continue
            if i < 3 or len(el) < 2 or not el[1].strip():
                continue
            number = el[1].strip()
            tag = marker + number
            # "first tag : number of consecutive tags", believed only within the bag count
            run = _int(el[2]) if len(el) > 2 else None
            limit = MAX_TAG_RUN if count is None else count - len(tags)
            if run is not None and 1 < run <= min(limit, MAX_TAG_RUN) and number.isdigit():
                width = len(number)
                start = int(number)
                tags.extend(f"{marker}{start + k:0{width}d}" for k in range(run))
            else:
                tags.append(tag)
        if len(tags) > 1:
            tags = list(dict.fromkeys(tags))
        self.b.bags.append(
            Bag(
                traveller_ref=ref,
                leg_index=self.leg_index,
                count=count,
                weight=_comp(els, 1, 1),
                unit=_comp(els, 1, 2),
                tag_numbers=tags,
                pool=pool,
            )
        )
        return False

    # -- split, non-air, history ------------------------------------------------------------

    def _eqn(self, seg: Segment) -> bool:
        self.state = _SPLIT  # split / divided PNR: the RCI that follows names the other PNR
        return False

    def _msg(self, seg: Segment) -> bool:
        self.state = _NONAIR  # a non-air segment (hotel, car): outside Annex I
        self.ctx.result.unknown_segments["MSG"] += 1
        return False

    def _abi(self, seg: Segment) -> bool:
        self.state = _HISTORY
        self._history_segment(seg)
        return False

    def _history_segment(self, seg: Segment) -> None:
        """ABI/SAC history groups: each SAC (or ABI) starts one entry holding the segments
        of that change as the carrier sent them (element 19 in its own words)."""
        text = write_segment(seg.tag, seg.elements)
        if seg.tag in ("SAC", "ABI") or self.history_parts is None:
            self._flush_history()
            self.history_parts = [text]
        else:
            self.history_parts.append(text)

    def _flush_history(self) -> None:
        if self.history_parts:
            self.b.history.append(HistoryEntry(text="".join(self.history_parts)))
        self.history_parts = None

    def _lts(self, seg: Segment) -> bool:
        self._flush_history()
        self.b.history.append(HistoryEntry(text="+".join(map(":".join, seg.elements))))
        return False

    # -- end of the SRC group ---------------------------------------------------------------

    def finish(self) -> Booking:
        self._flush_fare()
        self._flush_history()
        b = self.b
        for item in self.pending:
            if item.kind == "DOCS" and item.infant:
                self._infant_for(item)
        for item in self.pending:
            self._place(item)
        for t in b.travellers:
            if t.documents or t.addresses:  # else nothing to derive: the fields keep defaults
                _derive_traveller(t)
        b.party_size = len(b.travellers)
        if not self.rci_seen:
            self.ctx.deviate("rci_missing", None)
        return b

    def _infant_for(self, item: _Pending) -> None:
        """Make sure an infant DOCS has its infant: with no infant TIF, the DOCS (gender FI
        or MI) is the only record of the infant, who becomes a traveller accompanied by
        the adult the DOCS was sent with, whichever DOCS came first. Without this the adult
        took the infant's date of birth."""
        b = self.b
        base = (b.traveller(item.ref) if item.ref else None) or item.context
        if base is None and len(b.travellers) == 1:
            base = b.travellers[0]
        if base is not None and base.traveller_type is TravellerType.INFANT:
            return
        infants = [t for t in b.travellers if t.traveller_type is TravellerType.INFANT]
        if base is not None and any(t.accompanied_by_ref == base.ref for t in infants):
            return
        if base is None and infants:
            return  # placed among the infants there are (by surname, or the only one)
        if base is None:
            adults = [t for t in b.travellers if t.traveller_type is not TravellerType.INFANT]
            if len(adults) != 1 or any(t.accompanied_by_ref for t in infants):
                return  # whose infant is unknown: left to `_place`, which records it
            base = adults[0]
        doc = item.obj
        assert isinstance(doc, Document)
        ref = base.ref + "I"
        while b.traveller(ref) is not None:
            ref += "I"
        b.travellers.append(
            Traveller(
                ref=ref,
                surname=doc.surname,
                given_names=doc.given_names,
                traveller_type=TravellerType.INFANT,
                accompanied_by_ref=base.ref,
            )
        )
        self.ctx.result.deviations.append(Deviation("infant_from_docs", item.index, "SSR"))

    def _place(self, item: _Pending) -> None:
        b = self.b
        target: Traveller | None = None
        if item.kind == "ADD":
            target = item.context
        else:
            by_ref = b.traveller(item.ref) if item.ref else None
            base = by_ref or item.context
            if item.infant:
                if base is not None and base.traveller_type is TravellerType.INFANT:
                    target = base
                else:
                    infants = [t for t in b.travellers if t.traveller_type is TravellerType.INFANT]
                    if base is not None:
                        target = next((t for t in infants if t.accompanied_by_ref == base.ref), None)
                    if target is None and item.surname:
                        named = [t for t in infants if t.surname == item.surname]
                        target = named[0] if len(named) == 1 else None
                    if target is None and len(infants) == 1:
                        target = infants[0]
                    if target is None:  # an infant's document never goes to an adult
                        self.ctx.result.unknown_segments["SSR"] += 1
                        self.ctx.result.deviations.append(
                            Deviation("ssr_traveller_unknown", item.index, "SSR")
                        )
                        return
            if target is None:
                target = base
            if target is None and item.surname:
                named = [t for t in b.travellers if t.surname == item.surname]
                target = named[0] if len(named) == 1 else None
            if target is None and len(b.travellers) == 1:
                target = b.travellers[0]
        if target is None:
            self.ctx.result.unknown_segments["SSR"] += 1
            self.ctx.result.deviations.append(Deviation("ssr_traveller_unknown", item.index, "SSR"))
            return
        if item.kind == "DOCO" and item.birth_place and not target.birth_place:
            target.birth_place = item.birth_place
        obj = item.obj
        if isinstance(obj, Document):
            if obj not in target.documents:  # the same DOCS at traveller and itinerary level
                target.documents.append(obj)
        elif isinstance(obj, Address):
            target.addresses.append(obj)


def _derive_traveller(t: Traveller) -> None:
    """Traveller API facts from their documents: PNRGOV has no other place for them."""
    # One pass over the documents, not three generators (measured): first value of each.
    gender, birth, nationality = "", None, ""
    for d in t.documents:
        if not gender and d.gender:
            gender = _traveller_gender(d.gender)
        if birth is None and d.date_of_birth:
            birth = d.date_of_birth
        if not nationality and d.nationality:
            nationality = d.nationality
    t.gender, t.date_of_birth, t.nationality = gender, birth, nationality
    t.residence_country = next((a.country for a in t.addresses if a.kind == "R" and a.country), "")


_Handler = Callable[[_BookingReader, Segment], bool]
_HANDLERS: dict[str, _Handler] = {
    "RCI": _BookingReader._rci,
    "SSR": _BookingReader._ssr,
    "DAT": _BookingReader._dat,
    "IFT": _BookingReader._ift,
    "ORG": _BookingReader._org,
    "ADD": _BookingReader._add,
    "EBD": _BookingReader._ebd,
    "TIF": _BookingReader._tif,
    "FTI": _BookingReader._fti,
    "TKT": _BookingReader._tkt,
    "MON": _BookingReader._mon,
    "FOP": _BookingReader._fop,
    "TVL": _BookingReader._tvl,
    "RPI": _BookingReader._rpi,
    "APD": _BookingReader._apd,
    "TRA": _BookingReader._tra,
    "TRI": _BookingReader._tri,
    "SSD": _BookingReader._ssd,
    "TBD": _BookingReader._tbd,
    "EQN": _BookingReader._eqn,
    "MSG": _BookingReader._msg,
    "ABI": _BookingReader._abi,
    "SAC": _BookingReader._abi,
    "LTS": _BookingReader._lts,
    "REF": _BookingReader._count,
    "FAR": _BookingReader._count,
    "TXD": _BookingReader._count,
    "PTK": _BookingReader._count,
    "ERC": _BookingReader._count,
    "CBD": _BookingReader._count,
    "PBD": _BookingReader._count,
}
_LEAVE_NONAIR = frozenset({"MSG", "ABI", "SAC", "LTS", "EQN", "TIF"})


def _read_message(msg: Message, ctx: _Context) -> tuple[int, int | None]:
    """Read one PNRGOV message into ctx.result; returns (PNR groups seen, EQN count)."""
    result = ctx.result
    version = msg.version.strip()
    if not version.isdigit() or int(version) not in SUPPORTED_VERSIONS:
        ctx.deviate("unsupported_version", msg.header)
    flight: Leg | None = None
    reporting = ""
    org_seen = False
    declared: int | None = None
    groups = 0
    reader: _BookingReader | None = None
    carriers: set[str] = set()
    bookings = result.bookings

    def open_booking() -> _BookingReader:
        return _BookingReader(ctx, flight, reporting, carriers)

    for seg in msg.segments:
        tag = seg.tag
        if tag == "SRC":
            if reader is not None:
                bookings.append(reader.finish())
            reader = open_booking()
            groups += 1
            continue
        if reader is not None:
            # `reader.feed(seg)`, inlined for the common case: this loop is the hot path.
            state = reader.state
            handler = _HANDLERS.get(tag)
            if handler is None or state >= _SPLIT:
                new_pnr = reader.feed(seg)
            else:
                reader.fed += 1
                new_pnr = handler(reader, seg)
            if new_pnr:
                ctx.deviate("src_missing", seg)
                bookings.append(reader.finish())
                reader = open_booking()
                groups += 1
                reader.feed(seg)
            continue
        # message level: before the first SRC
        if tag == "TVL" and flight is None:
            flight = _leg_from_tvl(seg)
            if not _moments_ok(seg, 0, 2):
                ctx.deviate("datetime_unreadable", seg)
            carriers = {c for c in (flight.carrier, flight.operating_carrier) if c}
            if result.flight is None:
                result.flight = flight
        elif tag == "ORG" and not org_seen:
            org_seen = True
            reporting = seg.get(0, 0)
        elif tag == "EQN" and declared is None:
            declared = _int(seg.get(0, 0))
        elif tag == "MSG":
            pass
        elif tag == "RCI":
            ctx.deviate("src_missing", seg)
            reader = open_booking()
            groups += 1
            reader.feed(seg)
        else:
            if tag in _HANDLERS:
                ctx.deviate("segment_out_of_order", seg)
            ctx.unknown(seg)
    if reader is not None:
        bookings.append(reader.finish())
    if declared is not None and declared != groups:
        ctx.deviate("eqn_count_mismatch", msg.header)
    return groups, declared


def read_pnrgov(data: bytes | str | Interchange, *, strict: bool = False) -> ReadResult:
    """Read every PNRGOV message of an interchange into bookings, one per SRC group.

    `strict=True` raises `MessageError` (or `EdifactError`) at the first deviation instead
    of recording it. Raises only `ParseError` subclasses, whatever the input.
    """
    # Reading makes many small objects and no cycles: the cyclic collector pauses meanwhile.
    with gc_paused():
        return _read(data, strict)


def _read(data: bytes | str | Interchange, strict: bool) -> ReadResult:
    ichg = data if isinstance(data, Interchange) else parse_interchange(data, strict=strict)
    result = ReadResult(
        message_type="PNRGOV",
        version="",
        bookings=[],
        sender=ichg.sender,
        recipient=ichg.recipient,
        control_ref=ichg.control_ref,
        deviations=list(ichg.deviations),
    )
    ctx = _Context(result, strict)
    pnr_messages = [m for m in ichg.messages if m.type.strip().upper() == "PNRGOV"]
    if not pnr_messages:
        raise MessageError("not a PNRGOV message", segment_index=ichg.messages[0].header.index)
    groups = 0
    empty_declared = True
    for msg in ichg.messages:
        result.deviations.extend(msg.deviations)
        if msg.type.strip().upper() != "PNRGOV":
            ctx.deviate("message_type_skipped", msg.header)
            continue
        if not result.version:
            result.version = f"{msg.version.strip()}.{msg.release.strip()}"
        result.message_refs.append(msg.reference)
        found, declared = _read_message(msg, ctx)
        groups += found
        if declared != 0:
            empty_declared = False
    if groups == 0 and not empty_declared:
        first = pnr_messages[0]
        index = first.segments[0].index if first.segments else first.header.index
        raise MessageError("no PNR (SRC or RCI) in the message", segment_index=index)
    return result


# --- normalisation: what a PNRGOV round trip keeps --------------------------------------------


def _leg_position(index: int | None, n_legs: int) -> int | None:
    return index if index is not None and 0 <= index < n_legs else None


def _doca_able(addr: Address) -> bool:
    return addr.kind in ("R", "D") and not addr.phone


def _doco_able(doc: Document) -> bool:
    """A visa-like document (written as SSR DOCO): DOCO-only data and no DOCS-only field."""
    return (doc.date_of_issue is not None or bool(doc.place_of_issue or doc.valid_for)) and not any(
        getattr(doc, f) for f in _DOCS_ONLY_FIELDS
    )


def _no_slash(value: str) -> str:
    return value.replace("/", " ") if "/" in value else value


def _read_back(values: Sequence[str]) -> list[str]:
    """Slash-field values as the reader gives them back (blanks around them dropped, a
    trailing passenger association cut): the writer's fields, read again."""
    fields = _slash_fields("/" + "/".join(_no_slash(v) for v in values))
    return (fields + [""] * len(values))[: len(values)]


def _read_back_document(doc: Document) -> Document:
    if _doco_able(doc):
        _, doc_type, number, place, _, valid_for = _read_back(
            ["", doc.doc_type, doc.number, doc.place_of_issue, "", doc.valid_for]
        )
        return dataclasses.replace(
            doc, doc_type=doc_type, number=number, place_of_issue=place, valid_for=valid_for
        )
    doc_type, country, number, nationality, _, gender, _, surname, given = _read_back(
        [doc.doc_type, doc.issuing_country, doc.number, doc.nationality, "x", doc.gender, "x",
         doc.surname, doc.given_names]
    )  # fmt: skip
    return dataclasses.replace(
        doc, doc_type=doc_type, issuing_country=country, number=number, nationality=nationality,
        gender=gender, surname=surname, given_names=given,
    )  # fmt: skip


def _read_back_address(addr: Address) -> Address:
    kind, country, street, city, region, postal = _read_back(
        [addr.kind, addr.country, addr.street, addr.city, addr.region, addr.postal_code]
    )
    return dataclasses.replace(
        addr, kind=kind, country=country, street=street, city=city, region=region, postal_code=postal
    )


def _add_read_back(addr: Address) -> Address:
    """An ADD address as read back: its phone cleaned as the reader cleans it."""
    return dataclasses.replace(addr, phone=_clean_phone(addr.phone)[0])


def _slashless_document(doc: Document) -> Document:
    return dataclasses.replace(
        doc,
        doc_type=_no_slash(doc.doc_type),
        number=_no_slash(doc.number),
        issuing_country=_no_slash(doc.issuing_country),
        nationality=_no_slash(doc.nationality),
        surname=_no_slash(doc.surname),
        given_names=_no_slash(doc.given_names),
        gender=_no_slash(doc.gender),
    )


def _minute(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(second=0, microsecond=0) if moment is not None else None


def _normal_leg(leg: Leg) -> Leg:
    return dataclasses.replace(leg, departure=_minute(leg.departure), arrival=_minute(leg.arrival))


def _normal_flight(flight: Leg | None) -> Leg | None:
    """The message-level TVL carries no status, party size, equipment or operating flight."""
    if flight is None:
        return None
    return dataclasses.replace(
        _normal_leg(flight), status="", party_size=None, equipment="", operating_flight_number=""
    )


def pnrgov_normalise(booking: Booking, *, flight: Leg | None) -> Booking:
    """The booking as a PNRGOV round trip gives it back (`flight` = the message's flight).

    PNRGOV has no place for, and so a round trip changes:
    - reported_flight: the message's flight (only what a message-level TVL carries);
      reporting_party is the message's; party_size is the number of travellers;
    - times to the minute (seconds survive only in the RCI creation time);
    - traveller gender, birth date, nationality: those of the traveller's first document
      giving them (DOCS is their only carrier); residence country: of the first "R" address;
      accompanied_by_ref only for infants (the infant follows its adult);
    - document and DOCA fields: "/" becomes a space; a document's date of issue survives
      only on a visa-like document (DOCO: no DOCS-only field set); identical documents once;
    - payment currency, ticket one-way flag: dropped; check-in status is CHECKED_IN and a
      check-in, seat cabin, bag tags and pool need a leg; a ticket, remark, contact or
      leg-less bag for an unknown traveller reference loses the reference; a birth place
      has no "/"; empty remarks, frequent-flyer entries
      and split locators are dropped; an empty agency is None;
    - list order: booking-level items first, then per traveller, then per leg (the message
      groups them so), DOCA addresses before ADD ones; an SSR SEAT and an SSD for the same
      seat are one seat.
    """
    b = copy.deepcopy(booking)
    n_legs = len(b.itinerary)
    refs = {t.ref: i for i, t in enumerate(b.travellers)}
    b.source = Source.PNR
    b.reported_flight = _normal_flight(flight)
    b.party_size = len(b.travellers)
    b.created = b.created.replace(microsecond=0) if b.created is not None else None
    b.itinerary = [_normal_leg(leg) for leg in b.itinerary]
    if b.agency is not None and b.agency == Agency():
        b.agency = None
    b.split_from = [loc for loc in b.split_from if loc]

    def owner(ref: str) -> tuple[int, int]:
        return (1, refs[ref]) if ref in refs else (0, 0)

    for t in b.travellers:
        t.frequent_flyers = [f for f in t.frequent_flyers if f != FrequentFlyer()]
        if t.traveller_type is not TravellerType.INFANT:
            t.accompanied_by_ref = ""
        docs: list[Document] = []
        for d in t.documents:
            d = _slashless_document(d)
            if _doco_able(d):
                d.issuing_country = ""  # DOCO has no issuing country (only where, and for)
            else:
                d.date_of_issue, d.place_of_issue, d.valid_for = None, "", ""
            d = _read_back_document(d)
            if d not in docs:
                docs.append(d)
        t.documents = docs
        t.birth_place = _read_back([t.birth_place])[0]
        t.addresses = [_read_back_address(a) if _doca_able(a) else _add_read_back(a) for a in t.addresses]
        t.addresses.sort(key=lambda a: 0 if _doca_able(a) else 1)
        _derive_traveller(t)

    b.addresses = [_add_read_back(a) for a in b.addresses]
    for p in b.payments:
        p.currency = ""
        if p.billing_address is not None:
            p.billing_address = _add_read_back(p.billing_address)
    for tk in b.tickets:
        tk.one_way = None
        if tk.traveller_ref not in refs:
            tk.traveller_ref = ""
    b.tickets.sort(key=lambda tk: owner(tk.traveller_ref))
    for r in b.remarks:
        if r.traveller_ref not in refs:
            r.traveller_ref = ""
    b.remarks = [r for r in b.remarks if r.text]
    b.remarks.sort(key=lambda r: owner(r.traveller_ref))
    for c in b.contacts:
        if c.kind not in _KIND_CTC:
            c.kind = "phone"
        read = _contact(_contact_text(c))
        if read is not None:  # always, for a CTC text: the value as the reader cleans it
            c.kind, c.value, c.use = read
        if c.traveller_ref not in refs:
            c.traveller_ref = ""
    b.contacts.sort(key=lambda c: owner(c.traveller_ref))

    def item_key(ref: str, leg_index: int | None) -> tuple[int, int]:
        return (2, leg_index) if leg_index is not None else owner(ref)

    for sr in b.service_requests:
        sr.leg_index = _leg_position(sr.leg_index, n_legs)
    b.service_requests.sort(key=lambda sr: item_key(sr.traveller_ref, sr.leg_index))

    for bag in b.bags:
        bag.leg_index = _leg_position(bag.leg_index, n_legs)
        if bag.leg_index is None:  # EBD: no tags, no pool, no reference of its own
            bag.tag_numbers = []
            bag.pool = ""
            if bag.traveller_ref not in refs:
                bag.traveller_ref = ""
        bag.tag_numbers = list(dict.fromkeys(bag.tag_numbers))
    b.bags.sort(key=lambda bag: item_key(bag.traveller_ref, bag.leg_index))

    for ci in b.check_ins:
        ci.leg_index = _leg_position(ci.leg_index, n_legs)
        ci.status = CHECKED_IN
        ci.at = _minute(ci.at)
    b.check_ins = [ci for ci in b.check_ins if ci.leg_index is not None]
    b.check_ins.sort(key=lambda ci: ci.leg_index if ci.leg_index is not None else -1)

    for s in b.seats:
        s.leg_index = _leg_position(s.leg_index, n_legs)
        if s.leg_index is None:
            s.cabin = ""
    b.seats.sort(key=lambda s: (*item_key(s.traveller_ref, s.leg_index), 1 if s.cabin else 0))
    merged: list[Seat] = []
    for s in b.seats:
        if s.cabin:
            twin = next(
                (
                    m
                    for m in merged
                    if not m.cabin and m.leg_index == s.leg_index and m.seat == s.seat
                    and m.traveller_ref == s.traveller_ref
                ),
                None,
            )
            if twin is not None:
                twin.cabin = s.cabin
                continue
        merged.append(s)
    b.seats = merged
    return b


# --- the writer -----------------------------------------------------------------------------


def _tvl_elements(leg: Leg) -> list[str | list[str]]:
    dep, arr = leg.departure, leg.arrival
    return [
        [
            _fmt_date6(dep) if dep else "",
            _fmt_time(dep) if dep else "",
            _fmt_date6(arr) if arr else "",
            _fmt_time(arr) if arr else "",
        ],
        leg.origin,
        leg.destination,
        [leg.carrier, leg.operating_carrier],
        [leg.flight_number, leg.booking_class],
    ]


def _ssr(code: str, text: str, ref: str, *, status: str = "HK", carrier: str = "") -> RawSegment:
    elements: list[str | list[str]] = [[code, status, "", carrier, "", "", "", "", text]]
    if ref:
        elements.append(["", "", ref])
    return ("SSR", elements)


def _docs_text(d: Document) -> str:
    return "/" + "/".join(
        _no_slash(v)
        for v in (
            d.doc_type,
            d.issuing_country,
            d.number,
            d.nationality,
            _fmt_date7(d.date_of_birth),
            d.gender,
            _fmt_date7(d.expiry),
            d.surname,
            d.given_names,
        )
    )


def _doco_text(d: Document | None, birth_place: str) -> str:
    fields = [birth_place, "", "", "", "", ""]
    if d is not None:
        fields = [
            birth_place, d.doc_type, d.number, d.place_of_issue, _fmt_date7(d.date_of_issue), d.valid_for
        ]
    return "/" + "/".join(_no_slash(v) for v in fields)


def _doca_text(a: Address) -> str:
    fields = (a.kind, a.country, a.street, a.city, a.region, a.postal_code)
    return "/" + "/".join(_no_slash(v) for v in fields)


def _add(a: Address) -> RawSegment:
    return ("ADD", ["", [a.kind, a.street, a.city, a.region, "", a.country, a.postal_code, a.phone]])


def _ift_remark(r: Remark) -> RawSegment:
    code = ["4", "28"] if r.kind == "OSI" else ["3"]
    return ("IFT", [code, r.text])


def _contact_text(c: Contact) -> str:
    letter = _USE_CTC.get(c.use, "P") if c.kind == "phone" else _KIND_CTC.get(c.kind, "P")
    return f"CTC{letter} {c.value}"


def _ift_contact(c: Contact) -> RawSegment:
    return ("IFT", [["4", "28"], _contact_text(c)])


def _ticket_segments(tk: Ticket) -> list[RawSegment]:
    out: list[RawSegment] = [("TKT", [[tk.number, tk.document_type]])]
    mon: list[str | list[str]] = []
    if tk.fare_amount or tk.fare_currency:
        mon.append(["B", tk.fare_amount, tk.fare_currency])
    if tk.total_amount:
        mon.append(["T", tk.total_amount])
    if mon:
        out.append(("MON", mon))
    if tk.fare_calculation:
        out.append(("IFT", [["4", "15"], tk.fare_calculation]))
    if tk.issue_date is not None:
        out.append(("DAT", [["710", _fmt_date6(tk.issue_date)]]))
    return out


def _payment_segments(p: Payment) -> list[RawSegment]:
    out: list[RawSegment] = [("FOP", [[p.form, "", p.amount, p.card_vendor, p.card_number, p.card_expiry]])]
    if p.holder:
        out.append(("IFT", [["4", "43"], p.holder]))
    if p.billing_address is not None:
        out.append(_add(p.billing_address))
    return out


def _bag_counts(bag: Bag) -> list[str]:
    return [str(bag.count) if bag.count is not None else "", bag.weight, bag.unit]


def _tri(ref: str, by_ref: dict[str, Traveller]) -> list[RawSegment]:
    t = by_ref.get(ref)
    if t is None:
        tif: list[str | list[str]] = ["", ["", "", ref]]
    else:
        tif = [t.surname, [t.given_names, t.traveller_type.value, ref]]
    return [("TRI", ["", ["", "", "", ref]]), ("TIF", tif)]


def _booking_segments(b: Booking) -> list[RawSegment]:
    """One SRC group, in the order `pnrgov_normalise` describes."""
    out: list[RawSegment] = [("SRC", [])]
    n_legs = len(b.itinerary)
    by_ref = {t.ref: t for t in b.travellers}
    created = b.created
    out.append(
        ("RCI", [[b.carrier, b.locator, "", _fmt_date6(created) if created else "",
                  _fmt_time(created, seconds=True) if created else ""]])
    )

    def leg_of(index: int | None) -> int | None:
        return _leg_position(index, n_legs)

    def at_booking(ref: str) -> bool:
        return ref not in by_ref

    # group 1: the PNR
    for sr in b.service_requests:
        if leg_of(sr.leg_index) is None and at_booking(sr.traveller_ref):
            out.append(_ssr(sr.code, sr.text, sr.traveller_ref, status=sr.status, carrier=sr.carrier))
    for s in b.seats:
        if leg_of(s.leg_index) is None and at_booking(s.traveller_ref):
            out.append(("SSR", [["SEAT", "HK", "1"], [s.seat, "", s.traveller_ref]]))
    if b.ticketed is not None:
        out.append(("DAT", [["710", _fmt_date6(b.ticketed)]]))
    out.extend(_ift_remark(r) for r in b.remarks if r.text and at_booking(r.traveller_ref))
    out.extend(_ift_contact(c) for c in b.contacts if at_booking(c.traveller_ref))
    if b.agency is not None and b.agency != Agency():
        a = b.agency
        out.append(("ORG", [[a.airline, a.location], a.iata_number, "", "", "", a.country, a.agent_id]))
    out.extend(_add(a) for a in b.addresses)
    for bag in b.bags:
        if leg_of(bag.leg_index) is None and at_booking(bag.traveller_ref):
            out.append(("EBD", ["", _bag_counts(bag)]))
    for tk in b.tickets:
        if at_booking(tk.traveller_ref):
            out.extend(_ticket_segments(tk))
    if not b.travellers:
        for p in b.payments:
            out.extend(_payment_segments(p))

    # group 2: travellers
    with_infant = {t.accompanied_by_ref for t in b.travellers if t.traveller_type is TravellerType.INFANT}
    for i, t in enumerate(b.travellers):
        given: list[str] = [t.given_names, t.traveller_type.value, t.ref]
        if t.ref in with_infant and t.traveller_type is not TravellerType.INFANT:
            given.append("1")
        out.append(("TIF", [t.surname, given]))
        for ff in t.frequent_flyers:
            if ff != FrequentFlyer():
                out.append(("FTI", [[ff.airline, ff.number, "", "", ff.tier]]))
        out.extend(_ift_remark(r) for r in b.remarks if r.text and r.traveller_ref == t.ref)
        out.extend(_ift_contact(c) for c in b.contacts if c.traveller_ref == t.ref)
        birth_place = t.birth_place
        for d in t.documents:
            if _doco_able(d):
                out.append(_ssr("DOCO", _doco_text(d, birth_place), t.ref))
                birth_place = ""
            else:
                out.append(_ssr("DOCS", _docs_text(d), t.ref))
        if birth_place:
            out.append(_ssr("DOCO", _doco_text(None, birth_place), t.ref))
        out.extend(_ssr("DOCA", _doca_text(a), t.ref) for a in t.addresses if _doca_able(a))
        for sr in b.service_requests:
            if leg_of(sr.leg_index) is None and sr.traveller_ref == t.ref:
                out.append(_ssr(sr.code, sr.text, t.ref, status=sr.status, carrier=sr.carrier))
        for s in b.seats:
            if leg_of(s.leg_index) is None and s.traveller_ref == t.ref:
                out.append(("SSR", [["SEAT", "HK", "1"], [s.seat, "", t.ref]]))
        out.extend(_add(a) for a in t.addresses if not _doca_able(a))
        for bag in b.bags:
            if leg_of(bag.leg_index) is None and bag.traveller_ref == t.ref:
                out.append(("EBD", ["", _bag_counts(bag)]))
        for tk in b.tickets:
            if tk.traveller_ref == t.ref:
                out.extend(_ticket_segments(tk))
        if i == 0:
            for p in b.payments:
                out.extend(_payment_segments(p))

    # group 5: itinerary, with the check-in (DCS) groups
    for j, leg in enumerate(b.itinerary):
        out.append(("TVL", _tvl_elements(leg)))
        if leg.operating_flight_number:
            out.append(("TVL", ["", "", "", "", leg.operating_flight_number]))
        if leg.party_size is not None or leg.status:
            out.append(("RPI", [str(leg.party_size) if leg.party_size is not None else "", leg.status]))
        if leg.equipment:
            out.append(("APD", [leg.equipment]))
        for sr in b.service_requests:
            if leg_of(sr.leg_index) == j:
                out.append(_ssr(sr.code, sr.text, sr.traveller_ref, status=sr.status, carrier=sr.carrier))
        for s in b.seats:
            if leg_of(s.leg_index) == j and not s.cabin:
                out.append(("SSR", [["SEAT", "HK", "1", leg.carrier], [s.seat, "", s.traveller_ref]]))
        for s in b.seats:
            if leg_of(s.leg_index) == j and s.cabin:
                out.extend(_tri(s.traveller_ref, by_ref))
                out.append(("SSD", [s.seat, "", "", "", s.cabin]))
        for bag in b.bags:
            if leg_of(bag.leg_index) == j:
                out.extend(_tri(bag.traveller_ref, by_ref))
                pool = {"head": "HP", "member": "MP"}.get(bag.pool, "")
                out.append(("TBD", ["", _bag_counts(bag), "", pool, *(["", tag] for tag in bag.tag_numbers)]))
        for ci in b.check_ins:
            if leg_of(ci.leg_index) == j:
                at = ci.at
                out.append(("DAT", [["2", _fmt_date6(at) if at else "", _fmt_time(at) if at else ""]]))
                out.extend(_tri(ci.traveller_ref, by_ref))

    # split / divided PNR, then history
    split = [loc for loc in b.split_from if loc]
    if split:
        out.append(("EQN", [str(len(split))]))
        out.append(("RCI", [[b.carrier, loc] for loc in split]))
    out.extend(("LTS", [h.text]) for h in b.history)
    return out


def write_pnrgov(
    bookings: Sequence[Booking],
    *,
    flight: Leg,
    version: str = "13.1",
    sender: str = "XX",
    recipient: str = "PIU",
    control_ref: str = "1",
    prepared: dt.datetime,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    message_ref: str = "1",
) -> str:
    """A complete PNRGOV interchange (one message) for `bookings` on `flight`.

    UNA is written only for non-default delimiters. The character set is UNOC (Latin-1)
    when every value fits, UNOY (UTF-8) otherwise; encode the result accordingly.
    """
    major, _, release = version.partition(".")
    reporting = bookings[0].reporting_party if bookings else sender
    body: list[RawSegment] = [
        ("MSG", [["", "22"]]),
        ("ORG", [reporting]),
        ("TVL", _tvl_elements(flight)),
        ("EQN", [str(len(bookings))]),
    ]
    for b in bookings:
        body.extend(_booking_segments(b))
    message = OutgoingMessage(message_ref, ("PNRGOV", major, release or "1", "IA"), body)

    def write(syntax: str) -> str:
        return write_interchange(
            [message],
            sender=sender,
            recipient=recipient,
            control_ref=control_ref,
            prepared=prepared,
            syntax=(syntax, "4"),
            delimiters=delimiters,
            una=delimiters != DEFAULT_DELIMITERS,
        )

    text = write("UNOC")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        text = write("UNOY")
    return text
