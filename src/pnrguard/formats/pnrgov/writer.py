"""The PNRGOV writer: a complete interchange a carrier could have sent, in the group order
that `pnrgov_normalise` describes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pnrguard.domain.model import (
    Address,
    Agency,
    Bag,
    Booking,
    Contact,
    Document,
    FrequentFlyer,
    Leg,
    Payment,
    Remark,
    Ticket,
    Traveller,
    TravellerType,
)
from pnrguard.formats.edifact import (
    DEFAULT_DELIMITERS,
    Delimiters,
    OutgoingMessage,
    RawSegment,
    write_interchange,
)
from pnrguard.formats.pnrgov.contacts import _contact_text
from pnrguard.formats.pnrgov.documents import _doca_able, _doco_able, _no_slash
from pnrguard.formats.pnrgov.normalise import _leg_position
from pnrguard.formats.pnrgov.values import _fmt_date6, _fmt_date7, _fmt_time


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
            birth_place,
            d.doc_type,
            d.number,
            d.place_of_issue,
            _fmt_date7(d.date_of_issue),
            d.valid_for,
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
        (
            "RCI",
            [
                [
                    b.carrier,
                    b.locator,
                    "",
                    _fmt_date6(created) if created else "",
                    _fmt_time(created, seconds=True) if created else "",
                ]
            ],
        )
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
