"""Group 1 of an SRC group, the PNR itself: record locator (RCI), dates (DAT), free text
(IFT), agency (ORG), addresses (ADD), excess bags (EBD), tickets (TKT, MON) and payments
(FOP). Each handler places one segment and returns True only when it starts another PNR."""

from __future__ import annotations

from collections.abc import Sequence

from pnrguard.domain.model import Address, Agency, Bag, Contact, Payment, Remark, Ticket
from pnrguard.formats.edifact import Segment
from pnrguard.formats.pnrgov.contacts import _clean_phone, _contact
from pnrguard.formats.pnrgov.state import _BOOKING, _LEG, _SPLIT, _TRAVELLER, BookingReader, Pending
from pnrguard.formats.pnrgov.values import _NONE, _comp, _date6, _datetime, _int


def rci(rd: BookingReader, seg: Segment) -> bool:
    els = seg.elements
    b = rd.b
    if rd.state == _SPLIT:
        for el in els:
            if len(el) > 1 and el[1]:
                b.split_from.append(el[1])
        return False
    locators = [el[1] for el in els if len(el) > 1 and el[1]]
    if rd.rci_seen:
        if b.locator in locators or not locators:
            return False  # a repeat, or the leg's (DCS) copy of the record
        if rd.state == _LEG:
            # Another locator in a leg: the operating carrier's record, unless it gives a
            # creation date as only a PNR's own RCI does: then SRC was left out.
            return any(len(el) > 3 and el[3] for el in els)
        return True
    rd.rci_seen = True
    chosen = 0
    for i, el in enumerate(els):
        if el and el[0] in rd.flight_carriers and len(el) > 1 and el[1]:
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
        rd.ctx.deviate("datetime_unreadable", seg)
    if len(locators) > 1:
        # Other systems' locators of the same PNR: the model keys on one locator.
        rd.ctx.result.unknown_segments["RCI"] += len(locators) - 1
    if rd.fed > 1:  # RCI is the first segment after SRC
        rd.ctx.deviate("segment_out_of_order", seg)
    return False


def dat(rd: BookingReader, seg: Segment) -> bool:
    state = rd.state
    if state == _LEG:
        # A leg's check-in (DCS) block: DAT+2 (or DAT+3, or an empty DAT) then TRI groups.
        rd.checkin_open = True
        e0 = seg.elements[0] if seg.elements else _NONE
        date_v, time_v = e0[1] if len(e0) > 1 else "", e0[2] if len(e0) > 2 else ""
        rd.checkin_at = _datetime(date_v, time_v)
        if rd.checkin_at is None and (date_v.strip() or time_v.strip()):
            rd.ctx.deviate("datetime_unreadable", seg)
        rd.tri_ref = None
        rd.tri_checkin = None
        return False
    for el in seg.elements:
        qualifier = el[0] if el else ""
        if qualifier == "710":
            day = _date6(el[1]) if len(el) > 1 else None
            if rd.ticket is not None:
                if rd.ticket.issue_date is None:
                    rd.ticket.issue_date = day
            elif rd.b.ticketed is None:
                rd.b.ticketed = day
    return False


def ift(rd: BookingReader, seg: Segment) -> bool:
    els = seg.elements
    n = len(els)
    head = els[0] if n else _NONE
    c0 = head[0] if head else ""
    c1 = head[1] if len(head) > 1 else ""
    # Nearly every IFT holds one free-text element: join it alone (measured).
    text = ":".join(els[1]) if n == 2 else " ".join(map(":".join, els[1:]))
    billing: list[str] | None = None
    if c0 == "4" and c1 == "43" and rd.payment is not None:
        billing = [":".join(e) for e in els[1:]]
    place_ift(rd, c0, c1, text, billing)
    return False


def place_ift(rd: BookingReader, c0: str, c1: str, text: str, billing: list[str] | None) -> None:
    """One IFT, its parts read (by `ift`, or from the raw text by `fast.ift`): `billing`
    (each free-text element) is needed only for billing details (4:43) under a payment."""
    traveller = rd.traveller if rd.state == _TRAVELLER else None
    ref = traveller.ref if traveller is not None else ""
    if c0 == "4" and c1 == "15":  # fare calculation
        if rd.ticket is not None and not rd.ticket.fare_calculation:
            rd.ticket.fare_calculation = text
        else:
            rd.flush_fare()
            rd.pending_fare = (text, ref)
        return
    if c0 == "4" and c1 == "43" and rd.payment is not None:  # billing: holder, address, phone
        pay = rd.payment
        texts = billing if billing is not None else [text]
        if texts and not pay.holder:
            pay.holder = texts[0]
        if len(texts) > 1 and pay.billing_address is None:
            pay.billing_address = Address(street=texts[1], phone=" ".join(texts[2:]))
        return
    if not text:
        return
    contact = _contact(text)
    if contact is not None:
        kind, value, use = contact
        rd.b.contacts.append(Contact(kind=kind, value=value, traveller_ref=ref, use=use))
        return
    if c0 == "4" and c1 == "28":
        kind = "OSI"
    elif c0 == "3" and not c1:
        kind = "RMK"
    else:
        kind = f"{c0}:{c1}"
    rd.b.remarks.append(Remark(kind=kind, text=text, traveller_ref=ref))


def org(rd: BookingReader, seg: Segment) -> bool:
    if rd.state in (_BOOKING, _TRAVELLER) and rd.b.agency is None:
        els = seg.elements
        airline, location, iata = _comp(els, 0, 0), _comp(els, 0, 1), _comp(els, 1, 0)
        country, agent = _comp(els, 5, 0), _comp(els, 6, 0)
        # Some field given (`!= Agency()` without the dataclass's interpreted `__eq__`).
        if airline or location or iata or country or agent:
            rd.b.agency = Agency(
                airline=airline, location=location, iata_number=iata, country=country, agent_id=agent
            )
            return False
    rd.ctx.result.unknown_segments["ORG"] += 1
    return False


def add(rd: BookingReader, seg: Segment) -> bool:
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
    if rd.payment is not None and rd.payment.billing_address is None:
        rd.payment.billing_address = addr
    elif rd.state == _TRAVELLER and rd.traveller is not None:
        rd.pending.append(Pending("ADD", addr, "", rd.traveller, False, "", seg.index))
    elif rd.state == _BOOKING:
        rd.b.addresses.append(addr)
    else:
        rd.ctx.result.unknown_segments["ADD"] += 1
    return False


def ebd(rd: BookingReader, seg: Segment) -> bool:
    if rd.state not in (_BOOKING, _TRAVELLER):
        rd.ctx.result.unknown_segments["EBD"] += 1
        return False
    els = seg.elements
    ref = rd.traveller.ref if rd.state == _TRAVELLER and rd.traveller is not None else ""
    count = _int(_comp(els, 1, 0))
    bag = Bag(traveller_ref=ref, count=count, weight=_comp(els, 1, 1), unit=_comp(els, 1, 2))
    rd.b.bags.append(bag)
    return False


def tkt(rd: BookingReader, seg: Segment) -> bool:
    if rd.state not in (_BOOKING, _TRAVELLER):
        rd.ctx.deviate("segment_out_of_order", seg)
        rd.ctx.result.unknown_segments["TKT"] += 1
        return False
    els = seg.elements
    e0 = els[0] if els else _NONE
    place_ticket(rd, e0[0] if e0 else "", e0[1] if len(e0) > 1 else "")
    return False


def place_ticket(rd: BookingReader, number: str, document_type: str) -> None:
    """A TKT read in a PNR's or a traveller's group (by `tkt`, or by `fast.tkt`)."""
    ref = rd.traveller.ref if rd.state == _TRAVELLER and rd.traveller is not None else ""
    ticket = Ticket(number=number, document_type=document_type, traveller_ref=ref)
    if rd.pending_fare is not None:
        ticket.fare_calculation = rd.pending_fare[0]
        rd.pending_fare = None
    rd.b.tickets.append(ticket)
    rd.ticket = ticket
    rd.payment = None


def mon(rd: BookingReader, seg: Segment) -> bool:
    ticket = rd.ticket
    if ticket is None:
        rd.ctx.result.unknown_segments["MON"] += 1
        return False
    set_amounts(ticket, seg.elements)
    return False


def set_amounts(ticket: Ticket, elements: Sequence[Sequence[str]]) -> None:
    """MON's amounts on the current ticket (by `mon`, or by `fast.mon`): the fare (`B`) and
    the total (`T`); a fare without a currency takes the total's."""
    total_currency = ""
    for el in elements:
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


def fop(rd: BookingReader, seg: Segment) -> bool:
    if rd.state not in (_BOOKING, _TRAVELLER):
        rd.ctx.deviate("segment_out_of_order", seg)
    for el in seg.elements:
        add_payment(rd, el)
    if not seg.elements:
        rd.payment = Payment()
        rd.b.payments.append(rd.payment)
    return False


def add_payment(rd: BookingReader, el: list[str]) -> None:
    """One FOP element (by `fop`, or from the raw text by `fast.fop`): the payment now read."""
    n = len(el)
    pay = Payment(
        form=el[0] if n else "",
        amount=el[2] if n > 2 else "",
        card_vendor=el[3] if n > 3 else "",
        card_number=el[4] if n > 4 else "",
        card_expiry=el[5] if n > 5 else "",
    )
    rd.b.payments.append(pay)
    rd.payment = pay


def count(rd: BookingReader, seg: Segment) -> bool:
    """PNRGOV segments outside Annex I (REF, FAR, TXD, PTK, ERC ...): counted, dropped."""
    rd.ctx.result.unknown_segments[seg.tag] += 1
    return False
