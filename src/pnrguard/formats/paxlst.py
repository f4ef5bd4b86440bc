"""PAXLST (UN/EDIFACT D02B and later): advance passenger information, carrier to PIU.

A PAXLST message reports one flight (`TDT`, with `LOC`/`DTM` pairs for its legs) and the
people on it (`NAD+FL` passengers, `NAD+FM` crew), each with gender, birth date, ports,
nationality, reservation references and travel documents. Each person becomes one
`Booking(source=Source.API)` with exactly one traveller, so API and PNR data meet in one model.

Tolerance (REQUIREMENTS.md section 9): carriers send segments out of order, unknown
segments, wrong counts and odd flight identifiers. The reader keeps everything it can place,
counts the rest by tag in `ReadResult.unknown_segments` (minimisation by construction: what
has no place in the Annex I model is never kept), and records what it tolerated as a
`Deviation` (tag and segment index only, never content). It raises `MessageError` only when
nothing is readable: no PAXLST message, or no message naming a flight.

Speed: one pass over the segments, dispatch by tag through a dict, no regex per segment;
every loop is bounded by the input.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence

from pnrguard.domain.model import (
    Address,
    Booking,
    Contact,
    Document,
    Leg,
    Seat,
    Source,
    Traveller,
    TravellerType,
)
from pnrguard.errors import MessageError, UnsupportedMessageError
from pnrguard.formats.edifact import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Deviation,
    Element,
    Interchange,
    Message,
    OutgoingMessage,
    RawSegment,
    Segment,
    gc_paused,
    message_segments,
    parse_interchange,
    safe_tag,
    write_interchange,
)
from pnrguard.formats.result import ReadResult

__all__ = ["read_paxlst", "write_paxlst"]

MESSAGE_TYPE = "PAXLST"

# Party function codes (3035) on NAD: who a person is.
_PASSENGER_PARTIES = frozenset({"FL", "DDU"})  # passenger, in-transit passenger
_CREW_PARTIES = frozenset({"FM", "DDT"})  # crew member, in-transit crew member
# BGM document codes that announce a crew list (250 crew list, 336 master crew list).
_CREW_LISTS = frozenset({"250", "336"})
# Segments PAXLST defines whose content has no place in the Annex I model: counted, not kept,
# and no deviation, because sending them is normal.
_NOT_KEPT = frozenset({"GEI", "FTX", "MEA", "EMP", "QTY"})
# COM channel qualifiers (3155) <-> Contact.kind.
_COM_KINDS = {"TE": "phone", "FX": "fax", "EM": "email"}
_COM_CODES = {kind: code for code, kind in _COM_KINDS.items()}

# Message phases: header (BGM, NAD+MS), flight (TDT groups), persons.
_HEADER, _FLIGHT, _PERSONS = 0, 1, 2
# Century windows: a birth or issue date is never after the interchange date; an expiry or a
# flight time lies within 50 years after it.
_NEAR_YEARS = 50
_MAX_COUNT_DIGITS = 9


# --- small value helpers -----------------------------------------------------------------


def _digits(value: str) -> bool:
    """ASCII digits only: `str.isdigit` alone accepts superscripts that `int` refuses."""
    return value.isascii() and value.isdigit()


def _count(value: str) -> int | None:
    value = value.strip()
    return int(value) if value and len(value) <= _MAX_COUNT_DIGITS and _digits(value) else None


def _stamp(value: str) -> tuple[int, bool, int, int, int, int, int] | None:
    """Split a DTM value into (year, has_century, month, day, hour, minute, second).

    The layout is told by the length (6 YYMMDD, 8 CCYYMMDD, 10 YYMMDDHHMM, 12 CCYYMMDDHHMM,
    14 CCYYMMDDHHMMSS) rather than by the format code, because carriers send 201 on values
    of every length; the lengths are unambiguous, so nothing is guessed.
    """
    v = value.strip()
    n = len(v)
    if not _digits(v) or n not in (6, 8, 10, 12, 14):
        return None
    century = n in (8, 12, 14)
    off = 4 if century else 2
    year = int(v[:off])
    month, day = int(v[off : off + 2]), int(v[off + 2 : off + 4])
    hour = minute = second = 0
    if n >= 10:
        hour, minute = int(v[off + 4 : off + 6]), int(v[off + 6 : off + 8])
    if n == 14:
        second = int(v[12:14])
    return year, century, month, day, hour, minute, second


def _past_date(value: str, ref: dt.date) -> dt.date | None:
    """A date that cannot lie after `ref` (birth, document issue): YY in the future -> 19YY."""
    parts = _stamp(value)
    if parts is None:
        return None
    year, century, month, day = parts[0], parts[1], parts[2], parts[3]
    try:
        if century:
            return dt.date(year, month, day)
        if year + 2000 > ref.year:
            return dt.date(1900 + year, month, day)
        try:
            date = dt.date(2000 + year, month, day)
        except ValueError:  # 29 February of a year that is leap only in one century
            return dt.date(1900 + year, month, day)
        return date if date <= ref else dt.date(1900 + year, month, day)
    except ValueError:
        return None


def _near_year(year: int, century: bool, ref: dt.date) -> int:
    if century:
        return year
    return 2000 + year if 2000 + year <= ref.year + _NEAR_YEARS else 1900 + year


def _near_date(value: str, ref: dt.date) -> dt.date | None:
    """A date within 50 years after `ref` (document expiry)."""
    parts = _stamp(value)
    if parts is None:
        return None
    try:
        return dt.date(_near_year(parts[0], parts[1], ref), parts[2], parts[3])
    except ValueError:
        return None


def _near_datetime(value: str, ref: dt.date) -> dt.datetime | None:
    """A flight time (local, naive, as the carrier sends it)."""
    parts = _stamp(value)
    if parts is None:
        return None
    year, century, month, day, hour, minute, second = parts
    try:
        return dt.datetime(_near_year(year, century, ref), month, day, hour, minute, second)
    except ValueError:
        return None


def _reference_date(prepared: str) -> dt.date:
    """The interchange date (UNB), against which two-digit years are placed.

    Using the message's own date keeps reading deterministic: the same bytes give the same
    bookings whenever they are read. Only an unreadable UNB date falls back to today.
    """
    parts = _stamp(prepared.split(":", 1)[0])
    if parts is not None:
        year = parts[0] if parts[1] else 2000 + parts[0]
        try:
            return dt.date(year, parts[2], parts[3])
        except ValueError:
            pass
    return dt.date.today()


def _split_flight(ident: str, carrier: str) -> tuple[str, str, bool]:
    """(carrier, flight number, designators differ) from TDT 8028 and C040.

    The carrier element wins where present (it names the carrier of the flight); the
    designator in front of the number is stripped whatever it is. "Progressive" flights send
    a continuing leg as `TDT+20+ZX877+++XZ`: cutting len(carrier) characters would be right
    only by accident (GTAS issue 813), so the designator is split off on its own.
    """
    ident = ident.replace(" ", "")
    if carrier and ident.startswith(carrier) and len(ident) > len(carrier):
        return carrier, ident[len(carrier) :], False
    designator, number = "", ident
    if len(ident) > 3 and ident[:3].isascii() and ident[:3].isalpha() and ident[3].isdigit():
        designator, number = ident[:3], ident[3:]  # ICAO three-letter designator
    elif (
        len(ident) > 2
        and ident[:2].isascii()
        and ident[:2].isalnum()
        and not ident[:2].isdigit()
        and ident[2].isdigit()
    ):
        designator, number = ident[:2], ident[2:]  # IATA two-character designator
    if carrier:
        return carrier, number, bool(designator) and designator != carrier
    return designator, number, False


def _pair(seg: Segment, i: int, j: int, k: int, m: int) -> tuple[str, str]:
    """Components (i, j) and (k, m), stripped: the common case without bounds checks."""
    els = seg.elements
    try:
        return els[i][j].strip(), els[k][m].strip()
    except IndexError:  # a short segment: fall back to the checked accessor
        return seg.get(i, j).strip(), seg.get(k, m).strip()


def _copy_leg(leg: Leg) -> Leg:
    """Each booking gets its own legs: later stages (masking) may change one booking."""
    return Leg(leg.carrier, leg.flight_number, leg.origin, leg.destination, leg.departure, leg.arrival)


# --- reading -------------------------------------------------------------------------------


class _Person:
    """What one NAD+FL/FM group has delivered so far."""

    __slots__ = (
        "contacts",
        "debark",
        "debark_at",
        "doc",
        "embark",
        "embark_at",
        "locator",
        "seats",
        "traveller",
    )

    def __init__(self, traveller: Traveller) -> None:
        self.traveller = traveller
        self.locator = ""
        self.contacts: list[Contact] = []
        self.seats: list[str] = []
        self.doc: Document | None = None
        self.embark = ""
        self.embark_at = 0
        self.debark = ""
        self.debark_at = 0


class _Reader:
    """Reads the PAXLST messages of one interchange into bookings."""

    def __init__(self, *, strict: bool, ref: dt.date, result: ReadResult) -> None:
        self.strict = strict
        self.ref = ref
        self.result = result
        self.deviations = result.deviations
        self.unknown = result.unknown_segments
        self.declared_empty = False  # some message's CNT said it lists nobody
        self.handlers: dict[str, Callable[[Segment], None]] = {
            "BGM": self._bgm,
            "NAD": self._nad,
            "COM": self._com,
            "RFF": self._rff,
            "TDT": self._tdt,
            "LOC": self._loc,
            "DTM": self._dtm,
            "ATT": self._att,
            "NAT": self._nat,
            "DOC": self._doc,
            "CNT": self._cnt,
        }
        self._reset()

    def _reset(self) -> None:
        self.phase = _HEADER
        self.crew_list = False
        self.seen_bgm = False
        self.reporting_party = ""
        self.legs: list[Leg] = []
        self.leg: Leg | None = None
        self.reported: int | None = None
        self.last_loc = ""  # "origin92" when a LOC+92 was taken as an origin, for DTM+232
        self.person: _Person | None = None
        self.persons: list[_Person] = []
        self.cnt: tuple[int, Segment] | None = None

    # -- accounting ---------------------------------------------------------------------

    def deviate(self, code: str, seg: Segment) -> None:
        self.deviate_at(code, seg.index, safe_tag(seg.tag))

    def deviate_at(self, code: str, index: int, tag: str) -> None:
        if self.strict:
            raise MessageError(code, segment_index=index)
        self.deviations.append(Deviation(code, index, tag))

    def not_kept(self, seg: Segment) -> None:
        """A known segment, or qualifier, whose content has no place in the model."""
        self.unknown[safe_tag(seg.tag)] += 1

    def drop(self, seg: Segment, code: str) -> None:
        """A segment the reader cannot place: counted and recorded as a deviation."""
        self.unknown[safe_tag(seg.tag)] += 1
        self.deviate(code, seg)

    # -- messages -----------------------------------------------------------------------

    def read(self, msg: Message) -> list[Booking]:
        self._reset()
        pdt = next((seg for seg in msg.segments if seg.tag == "PDT"), None)
        if pdt is not None:
            # The older US/CEDIPAX form puts each person in a PDT segment: read as D02B it
            # would give "0 persons" and lose the list, so it is refused whole.
            raise UnsupportedMessageError(
                "PAXLST in the US/CEDIPAX form (PDT segments) is not supported",
                segment_index=pdt.index,
            )
        before = self.unknown.copy()
        handlers = self.handlers
        for seg in msg.segments:
            handler = handlers.get(seg.tag)
            if handler is not None:
                handler(seg)
            elif seg.tag in _NOT_KEPT:
                self.not_kept(seg)
            else:
                self.drop(seg, "unknown_segment")
        if self.phase == _FLIGHT:
            self._close_flight()
        if self.cnt is not None and self.cnt[0] != len(self.persons):
            self.deviate("cnt_mismatch", self.cnt[1])
        if self.cnt is not None and self.cnt[0] == 0:
            self.declared_empty = True
        if self.reported is None:
            # Persons without a flight cannot be tied to anything: nothing of the message is
            # kept, so every segment is counted as not kept (and none twice).
            self.deviate("message_without_flight", msg.header)
            self.unknown.clear()
            self.unknown.update(before)
            for seg in msg.segments:
                self.unknown[safe_tag(seg.tag)] += 1
            return []
        return self._bookings(self.reported)

    def _bookings(self, at: int) -> list[Booking]:
        """One booking per person; `at` is the index of the reported leg."""
        legs = self.legs
        reported = legs[at]
        n = len(legs)
        out: list[Booking] = []
        for p in self.persons:
            start, end = 0, n
            traveller = p.traveller
            if p.embark:
                for i in range(n):
                    if legs[i].origin == p.embark:
                        start = i
                        break
                else:
                    # A through-passenger boarded before this flight: the port they declared
                    # is kept on the traveller, and the whole flight is their itinerary.
                    traveller.embarkation = p.embark
                    self.deviate_at("port_outside_flight", p.embark_at, "LOC")
            if p.debark:
                for j in range(start, n):
                    if legs[j].destination == p.debark:
                        end = j + 1
                        break
                else:
                    traveller.debarkation = p.debark
                    self.deviate_at("port_outside_flight", p.debark_at, "LOC")
            ref = traveller.ref
            for contact in p.contacts:
                contact.traveller_ref = ref
            leg_index = at - start if start <= at < end else None
            out.append(
                Booking(
                    source=Source.API,
                    carrier=reported.carrier,
                    locator=p.locator,
                    reported_flight=_copy_leg(reported),
                    travellers=[traveller],
                    itinerary=[_copy_leg(legs[i]) for i in range(start, end)],
                    contacts=p.contacts,
                    seats=[Seat(seat=s, traveller_ref=ref, leg_index=leg_index) for s in p.seats],
                    reporting_party=self.reporting_party,
                )
            )
        return out

    # -- header ---------------------------------------------------------------------------

    def _bgm(self, seg: Segment) -> None:
        if self.phase != _HEADER or self.seen_bgm:
            self.drop(seg, "segment_out_of_place")
            return
        self.seen_bgm = True
        self.crew_list = seg.get(0).strip() in _CREW_LISTS

    def _nad(self, seg: Segment) -> None:
        party = seg.get(0).strip()
        if party in _PASSENGER_PARTIES or party in _CREW_PARTIES:
            self._start_person(seg, party)
        elif party == "MS" and self.phase == _HEADER and not self.reporting_party:
            name = seg.element(3)
            self.reporting_party = " ".join(c.strip() for c in name if c.strip()) or seg.get(1).strip()
        else:
            self.person = None  # what follows belongs to a party we do not read
            self.drop(seg, "segment_out_of_place" if party == "MS" else "unknown_party")

    def _com(self, seg: Segment) -> None:
        person = self.person
        if person is not None:
            for element in seg.elements:
                value = element[0].strip() if element else ""
                if value:
                    code = element[1].strip() if len(element) > 1 else ""
                    person.contacts.append(Contact(kind=_COM_KINDS.get(code, "other"), value=value))
        elif self.phase == _HEADER:
            self.not_kept(seg)  # the reporting party's own telephone: not traveller data
        else:
            self.drop(seg, "segment_out_of_place")

    def _rff(self, seg: Segment) -> None:
        person = self.person
        if person is None:
            if self.phase == _HEADER:
                self.not_kept(seg)  # RFF+TN transaction reference and the like
            else:
                self.drop(seg, "segment_out_of_place")
            return
        qualifier, value = _pair(seg, 0, 0, 0, 1)
        if not value:
            self.not_kept(seg)
        elif qualifier == "AVF" and not person.locator:
            person.locator = value
        elif qualifier == "ABO" and not person.traveller.ref:
            person.traveller.ref = value
        elif qualifier == "SEA":
            person.seats.append(value)
        else:
            self.not_kept(seg)

    # -- flight ---------------------------------------------------------------------------

    def _tdt(self, seg: Segment) -> None:
        if self.phase == _PERSONS:
            self.drop(seg, "segment_out_of_place")
            return
        ident = seg.get(1).strip()
        if not ident:
            self.leg = None
            self.drop(seg, "flight_missing")
            return
        carrier, number, differs = _split_flight(ident, seg.get(4).strip())
        if differs:
            self.deviate("flight_designator_differs", seg)
        if seg.get(0).strip() != "20":
            self.deviate("tdt_qualifier", seg)
        self.phase = _FLIGHT
        self.leg = Leg(carrier=carrier, flight_number=number)
        self.legs.append(self.leg)
        self.last_loc = ""

    def _next_leg(self, current: Leg, origin: str = "") -> Leg:
        """Another leg of the same flight (a progressive flight within one TDT group)."""
        leg = Leg(carrier=current.carrier, flight_number=current.flight_number, origin=origin)
        self.legs.append(leg)
        self.leg = leg
        return leg

    def _mark(self) -> None:
        """LOC+125/87 name the leg that crosses the border: the flight the message reports."""
        if self.reported is None:
            self.reported = len(self.legs) - 1

    def _close_flight(self) -> None:
        if self.reported is None and self.legs:
            self.reported = 0
        self.leg = None

    def _flight_loc(self, seg: Segment) -> None:
        leg = self.leg
        if leg is None:
            self.drop(seg, "segment_out_of_place")
            return
        qualifier, code = _pair(seg, 0, 0, 1, 0)
        if not code or qualifier not in ("125", "87", "92"):
            self.not_kept(seg)
            return
        self.last_loc = ""
        if qualifier == "125":
            if leg.origin:
                leg = self._next_leg(leg)
            leg.origin = code
            self._mark()
        elif qualifier == "87":
            if leg.destination:
                leg = self._next_leg(leg, leg.destination)
            leg.destination = code
            self._mark()
        elif not leg.origin:
            leg.origin = code
            self.last_loc = "origin92"
        elif not leg.destination:
            leg.destination = code
        else:
            self._next_leg(leg, code)
            self.last_loc = "origin92"

    def _flight_dtm(self, seg: Segment) -> None:
        leg = self.leg
        if leg is None:
            self.drop(seg, "segment_out_of_place")
            return
        qualifier, value = _pair(seg, 0, 0, 0, 1)
        if qualifier not in ("189", "232"):
            self.not_kept(seg)
            return
        when = _near_datetime(value, self.ref)
        if when is None:
            self.drop(seg, "invalid_date")
        elif qualifier == "189":
            if leg.departure is None:
                leg.departure = when
            else:
                self.drop(seg, "duplicate_value")
        else:
            if self.last_loc == "origin92" and leg.departure is None and not leg.destination:
                # A LOC+92 followed by an arrival time was an arrival airport after all.
                leg.destination, leg.origin = leg.origin, ""
            if leg.arrival is None:
                leg.arrival = when
            else:
                self.drop(seg, "duplicate_value")
        self.last_loc = ""

    # -- persons --------------------------------------------------------------------------

    def _start_person(self, seg: Segment, party: str) -> None:
        if self.phase == _FLIGHT:
            self._close_flight()
        self.phase = _PERSONS
        name = seg.element(3)
        n = len(name)
        surname = name[0].strip() if n else ""
        if n <= 2:
            given = name[1].strip() if n == 2 else ""
        else:
            given = " ".join([c.strip() for c in name[1:] if c and not c.isspace()])
        traveller = Traveller(
            surname=surname,
            given_names=given,
            traveller_type=TravellerType.CREW if party in _CREW_PARTIES else TravellerType.ADULT,
        )
        if len(seg.elements) > 4:
            street = " ".join(c.strip() for c in seg.element(4) if c.strip())
            address = Address(
                street=street,
                city=seg.get(5).strip(),
                region=seg.get(6).strip(),
                postal_code=seg.get(7).strip(),
                country=seg.get(8).strip(),
            )
            if street or address.city or address.region or address.postal_code or address.country:
                traveller.addresses.append(address)
        person = _Person(traveller)
        self.person = person
        self.persons.append(person)

    def _person_for(self, seg: Segment) -> _Person | None:
        person = self.person
        if person is None:
            self.drop(seg, "segment_out_of_place")
        return person

    def _loc(self, seg: Segment) -> None:
        if self.phase != _PERSONS:
            self._flight_loc(seg)
            return
        person = self._person_for(seg)
        if person is None:
            return
        qualifier, code = _pair(seg, 0, 0, 1, 0)
        if qualifier == "178" and code and not person.embark:
            person.embark, person.embark_at = code, seg.index
        elif qualifier == "179" and code and not person.debark:
            person.debark, person.debark_at = code, seg.index
        elif qualifier == "174" and code and not person.traveller.residence_country:
            person.traveller.residence_country = code
        elif qualifier == "180" and not person.traveller.birth_place:
            place = seg.get(1, 3).strip() or code
            if place:
                person.traveller.birth_place = place
            else:
                self.not_kept(seg)
        elif qualifier == "91":
            if person.doc is None:
                self.drop(seg, "segment_out_of_place")
            elif code and not person.doc.issuing_country:
                person.doc.issuing_country = code
            else:
                self.not_kept(seg)
        else:
            self.not_kept(seg)  # LOC+22 port of clearance and others: no place in the model

    def _dtm(self, seg: Segment) -> None:
        if self.phase != _PERSONS:
            if self.phase == _FLIGHT:
                self._flight_dtm(seg)
            else:
                self.not_kept(seg)
            return
        person = self._person_for(seg)
        if person is None:
            return
        qualifier, value = _pair(seg, 0, 0, 0, 1)
        if qualifier == "329":
            birth = _past_date(value, self.ref)
            if birth is None:
                self.drop(seg, "invalid_date")
            elif person.traveller.date_of_birth is None:
                person.traveller.date_of_birth = birth
            else:
                self.drop(seg, "duplicate_value")
        elif qualifier in ("36", "182"):
            doc = person.doc
            if doc is None:
                self.drop(seg, "segment_out_of_place")
                return
            date = _near_date(value, self.ref) if qualifier == "36" else _past_date(value, self.ref)
            if date is None:
                self.drop(seg, "invalid_date")
            elif qualifier == "36" and doc.expiry is None:
                doc.expiry = date
            elif qualifier == "182" and doc.date_of_issue is None:
                doc.date_of_issue = date
            else:
                self.drop(seg, "duplicate_value")
        else:
            self.not_kept(seg)

    def _att(self, seg: Segment) -> None:
        person = self._person_for(seg)
        if person is None:
            return
        qualifier, gender = _pair(seg, 0, 0, 2, 0)
        if qualifier == "2" and gender and not person.traveller.gender:
            person.traveller.gender = gender
        else:
            self.not_kept(seg)

    def _nat(self, seg: Segment) -> None:
        person = self._person_for(seg)
        if person is None:
            return
        nationality = _pair(seg, 0, 0, 1, 0)[1]
        if nationality and not person.traveller.nationality:
            person.traveller.nationality = nationality
        else:
            self.not_kept(seg)  # a second nationality has no place in the model

    def _doc(self, seg: Segment) -> None:
        person = self._person_for(seg)
        if person is None:
            return
        doc_type, number = _pair(seg, 0, 0, 1, 0)
        doc = Document(doc_type=doc_type, number=number)
        person.traveller.documents.append(doc)
        person.doc = doc

    def _cnt(self, seg: Segment) -> None:
        qualifier = seg.get(0).strip()
        # The count belongs in the second component (CNT+42:136); some send it as an element.
        count = _count(seg.get(0, 1) or seg.get(1))
        if qualifier not in ("41", "42") or count is None or self.cnt is not None:
            self.not_kept(seg)
            return
        self.person = None
        self.cnt = (count, seg)


def _parse(data: bytes | str, *, strict: bool) -> Interchange:
    return parse_interchange(data, strict=strict)


def read_paxlst(data: bytes | str | Interchange, *, strict: bool = False) -> ReadResult:
    """Read a PAXLST interchange into one API booking per person.

    `strict=False` (carrier traffic) tolerates what is recoverable and records it as
    deviations; `strict=True` raises on the first deviation, for testing what we write.
    Raises only `ParseError` subclasses: `EdifactError` for the syntax, `MessageError` when
    no PAXLST message or no flight can be read. Errors name segment indexes, never content.
    """
    with gc_paused():
        ichg = data if isinstance(data, Interchange) else _parse(data, strict=strict)
        result = ReadResult(
            message_type=MESSAGE_TYPE,
            version="",
            bookings=[],
            sender=ichg.sender,
            recipient=ichg.recipient,
            control_ref=ichg.control_ref,
            deviations=list(ichg.deviations),
            unknown_segments=Counter(),
        )
        reader = _Reader(strict=strict, ref=_reference_date(ichg.prepared), result=result)
        read_any = False
        all_crew = True
        for msg in ichg.messages:
            message_segments(msg)  # a lazily scanned body (reader.read_message) split now
            result.deviations.extend(msg.deviations)
            if msg.type.strip() != MESSAGE_TYPE:
                reader.deviate("not_paxlst", msg.header)
                for seg in msg.segments:
                    reader.not_kept(seg)
                continue
            if not read_any:
                result.version = f"{msg.version.strip()}:{msg.release.strip()}"
            read_any = True
            bookings = reader.read(msg)
            if reader.reported is None:
                continue
            result.message_refs.append(msg.reference)
            result.bookings.extend(bookings)
            all_crew = all_crew and reader.crew_list
            if result.flight is None:
                result.flight = _copy_leg(reader.legs[reader.reported])
        first = ichg.messages[0].header.index if ichg.messages else 0
        if not read_any:
            raise MessageError("no PAXLST message in the interchange", segment_index=first)
        if result.flight is None:
            raise MessageError("no message names a flight (TDT)", segment_index=first)
        if not result.bookings and not reader.declared_empty:
            # A list of nobody is only believed when CNT says so: otherwise the persons
            # were sent in a form this reader does not know, and would be lost.
            raise UnsupportedMessageError("no person read from the PAXLST list", segment_index=first)
        result.crew = all_crew
        return result


# --- writing -------------------------------------------------------------------------------


def _date(value: dt.date) -> list[str]:
    return [f"{value.year:04d}{value.month:02d}{value.day:02d}", "102"]


def _datetime(value: dt.datetime) -> list[str]:
    """CCYYMMDDHHMM(SS): four-digit years, so reading back needs no century rule."""
    stamp = f"{value.year:04d}{value.month:02d}{value.day:02d}{value.hour:02d}{value.minute:02d}"
    if value.second:
        return [stamp + f"{value.second:02d}", "204"]
    return [stamp, "203"]


def _flight_segments(legs: Sequence[Leg], reported: int) -> list[RawSegment]:
    """One TDT group per leg: LOC+125/87 for the reported leg, LOC+92 for the others."""
    out: list[RawSegment] = []
    for i, leg in enumerate(legs):
        dep, arr = ("125", "87") if i == reported else ("92", "92")
        tdt: list[Element] = ["20", leg.carrier + leg.flight_number]
        if leg.carrier:
            tdt += ["", "", [leg.carrier]]
        out.append(("TDT", tdt))
        if leg.origin:
            out.append(("LOC", [dep, leg.origin]))
        if leg.departure is not None:
            out.append(("DTM", [["189", *_datetime(leg.departure)]]))
        if leg.destination:
            out.append(("LOC", [arr, leg.destination]))
        if leg.arrival is not None:
            out.append(("DTM", [["232", *_datetime(leg.arrival)]]))
    return out


def _leg_key(leg: Leg) -> tuple[str, str, str, str]:
    return leg.carrier, leg.flight_number, leg.origin, leg.destination


def _ports(booking: Booking, legs: Sequence[Leg], reported: int) -> tuple[str, str]:
    """LOC+178/179 for a booking: where it boards and leaves the legs this message names.

    A PNR booking's itinerary may be a whole journey (out and back), so its first origin
    and last destination are not the ports of this flight: only legs of the message count.
    A booking that names none of them boards and leaves the reported leg.
    """
    keys = {_leg_key(leg) for leg in booking.itinerary}
    covered = [i for i, leg in enumerate(legs) if _leg_key(leg) in keys]
    first, last = (covered[0], covered[-1]) if covered else (reported, reported)
    return legs[first].origin, legs[last].destination


def _person_segments(
    booking: Booking, traveller: Traveller, crew: bool, ports: tuple[str, str]
) -> list[RawSegment]:
    out: list[RawSegment] = []
    party = "FM" if crew or traveller.traveller_type == TravellerType.CREW else "FL"
    nad: list[Element] = [party, "", "", [traveller.surname, traveller.given_names]]
    if traveller.addresses:
        a = traveller.addresses[0]  # NAD holds one address
        nad += [a.street, a.city, a.region, a.postal_code, a.country]
    out.append(("NAD", nad))
    if traveller.gender:
        out.append(("ATT", ["2", "", traveller.gender]))
    if traveller.date_of_birth is not None:
        out.append(("DTM", [["329", *_date(traveller.date_of_birth)]]))
    contacts = [c for c in booking.contacts if c.value and c.traveller_ref == traveller.ref]
    if contacts:
        out.append(("COM", [[c.value, _COM_CODES.get(c.kind, "")] for c in contacts]))
    embark = traveller.embarkation or ports[0]  # a through-passenger's own ports first
    debark = traveller.debarkation or ports[1]
    if embark:
        out.append(("LOC", ["178", embark]))
    if debark:
        out.append(("LOC", ["179", debark]))
    if traveller.residence_country:
        out.append(("LOC", ["174", traveller.residence_country]))
    if traveller.birth_place:
        out.append(("LOC", ["180", ["", "", "", traveller.birth_place]]))
    if traveller.nationality:
        out.append(("NAT", ["2", traveller.nationality]))
    if booking.locator:
        out.append(("RFF", [["AVF", booking.locator]]))
    if traveller.ref:
        out.append(("RFF", [["ABO", traveller.ref]]))
    for seat in booking.seats:
        if seat.seat and seat.traveller_ref == traveller.ref:
            out.append(("RFF", [["SEA", seat.seat]]))
    for doc in traveller.documents:
        out.append(("DOC", [[doc.doc_type, "110", "111"], doc.number]))
        if doc.expiry is not None:
            out.append(("DTM", [["36", *_date(doc.expiry)]]))
        if doc.date_of_issue is not None:
            out.append(("DTM", [["182", *_date(doc.date_of_issue)]]))
        if doc.issuing_country:
            out.append(("LOC", ["91", doc.issuing_country]))
    return out


def _syntax_for(segments: Sequence[RawSegment], *extra: str) -> str:
    """UNOC (Latin-1) when every character fits, UNOY (UTF-8) otherwise."""
    texts = list(extra)
    for _tag, elements in segments:
        for element in elements:
            texts.extend([element] if isinstance(element, str) else element)
    try:
        "".join(texts).encode("latin-1")
    except UnicodeEncodeError:
        return "UNOY"
    return "UNOC"


def write_paxlst(
    bookings: Sequence[Booking],
    *,
    flight: Leg,
    crew: bool = False,
    sender: str = "XX",
    recipient: str = "PIU",
    control_ref: str = "1",
    prepared: dt.datetime,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    message_ref: str = "1",
    itinerary: Sequence[Leg] | None = None,
) -> str:
    """Write a complete PAXLST interchange (UNA, UNB, UNG, UNH ... UNT, UNE, UNZ) for one flight.

    Each traveller of each booking becomes one person; the reporting party is the first
    booking's. `itinerary` lists the legs of a progressive flight in order (default: just
    `flight`), each written as its own TDT group; `flight` is the one written with
    LOC+125/87. A person's LOC+178/179 are where the booking's itinerary boards and
    leaves those legs. Dates are written with four-digit years (formats 102/203), so
    reading back needs no century rule: `read_paxlst(write_paxlst(bs, ...)).bookings == bs`
    for bookings as `read_paxlst` makes them. Raises `ValueError` if a value holds a
    service character and `delimiters` has no release character.
    """
    legs = list(itinerary) if itinerary else [flight]
    reported = next((i for i, leg in enumerate(legs) if leg == flight), None)
    if reported is None:
        legs.insert(0, flight)
        reported = 0
    body: list[RawSegment] = [("BGM", ["250" if crew else "745"])]
    party = next((b.reporting_party for b in bookings if b.reporting_party), "")
    if party:
        body.append(("NAD", ["MS", "", "", party]))
    body.extend(_flight_segments(legs, reported))
    persons = 0
    for booking in bookings:
        ports = _ports(booking, legs, reported)
        for traveller in booking.travellers:
            body.extend(_person_segments(booking, traveller, crew, ports))
            persons += 1
    body.append(("CNT", [["41" if crew else "42", str(persons)]]))
    syntax = _syntax_for(body, sender, recipient)
    message = OutgoingMessage(
        reference=message_ref, identifier=(MESSAGE_TYPE, "D", "02B", "UN", "IATA"), body=body
    )
    return write_interchange(
        [message],
        sender=sender,
        recipient=recipient,
        control_ref=control_ref,
        prepared=prepared,
        syntax=(syntax, "4"),
        delimiters=delimiters,
        group=(MESSAGE_TYPE, sender, recipient),
    )
