"""What a PNRGOV round trip keeps: `pnrgov_normalise` describes it, so that
`read_pnrgov(write_pnrgov([b], flight=f, ...)).bookings == [pnrgov_normalise(b, flight=f)]`."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Sequence

from pnrguard.domain.model import (
    Address,
    Agency,
    Booking,
    Document,
    FrequentFlyer,
    Leg,
    Seat,
    Source,
    TravellerType,
)
from pnrguard.formats.pnrgov.contacts import _KIND_CTC, _clean_phone, _contact, _contact_text
from pnrguard.formats.pnrgov.documents import (
    _derive_traveller,
    _doca_able,
    _doco_able,
    _no_slash,
    _slash_fields,
)
from pnrguard.formats.pnrgov.state import CHECKED_IN


def _leg_position(index: int | None, n_legs: int) -> int | None:
    return index if index is not None and 0 <= index < n_legs else None


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
                    if not m.cabin
                    and m.leg_index == s.leg_index
                    and m.seat == s.seat
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
