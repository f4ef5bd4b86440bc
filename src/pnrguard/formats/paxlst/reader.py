"""The PAXLST reader: one pass over each message's segments, dispatch by tag, one booking
per person (NAD+FL/FM group)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

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
    Deviation,
    Interchange,
    Message,
    Segment,
    gc_paused,
    message_segments,
    parse_interchange,
    safe_tag,
)
from pnrguard.formats.paxlst.codes import (
    _COM_KINDS,
    _CREW_LISTS,
    _CREW_PARTIES,
    _NOT_KEPT,
    _PASSENGER_PARTIES,
    MESSAGE_TYPE,
)
from pnrguard.formats.paxlst.values import (
    _copy_leg,
    _count,
    _near_date,
    _near_datetime,
    _pair,
    _past_date,
    _reference_date,
    _split_flight,
)
from pnrguard.formats.result import ReadResult

# Message phases: header (BGM, NAD+MS), flight (TDT groups), persons.
_HEADER, _FLIGHT, _PERSONS = 0, 1, 2


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
