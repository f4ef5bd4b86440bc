"""The PAXLST writer: bookings to a complete interchange a carrier could have sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pnrguard.domain.model import (
    Booking,
    Leg,
    Traveller,
    TravellerType,
)
from pnrguard.formats.edifact import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Element,
    OutgoingMessage,
    RawSegment,
    write_interchange,
)
from pnrguard.formats.paxlst.codes import (
    _COM_CODES,
    MESSAGE_TYPE,
)


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
