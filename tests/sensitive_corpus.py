"""The sensitive-data corpus (tests/data/sensitive_corpus.csv) and how to plant it.

Each row is ``expect,category,lang,field,text,term``: `text` goes into `field` of a booking
that has every element of the model filled with ordinary data. ``delete`` rows must leave
no trace of `term` anywhere in the filtered booking; ``keep`` rows must come out with
`text` unchanged at `field` (and nothing else lost). Fields are named ``element.field``;
``ssr:CODE.text`` is the text of an SSR with that code, ``ssr.code`` an SSR's code.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    Ticket,
    Traveller,
    to_dict,
)
from pnrguard.protection.terms import fold

CORPUS = Path(__file__).parent / "data" / "sensitive_corpus.csv"


@dataclass(frozen=True)
class Item:
    expect: str
    category: str
    lang: str
    field: str
    text: str
    term: str


def load() -> list[Item]:
    with CORPUS.open(encoding="utf-8") as f:
        return [Item(**row) for row in csv.DictReader(f)]


def base_booking(locator: str = "QWE123") -> Booking:
    """A booking with every element filled with ordinary (kept) data."""
    leg = Leg(
        carrier="XX", flight_number="101", origin="LHR", destination="CDG",
        departure=dt.datetime(2026, 3, 2, 9, 0), arrival=dt.datetime(2026, 3, 2, 11, 0),
        booking_class="Y", status="HK", equipment="320",
    )  # fmt: skip
    traveller = Traveller(
        ref="1", surname="DOE", given_names="JANE", gender="F", nationality="GBR",
        date_of_birth=dt.date(1980, 1, 1), birth_place="LONDON",
        documents=[Document(doc_type="P", number="123456789", issuing_country="GBR",
                            nationality="GBR", surname="DOE", given_names="JANE", gender="F",
                            date_of_birth=dt.date(1980, 1, 1), expiry=dt.date(2030, 1, 1))],
        addresses=[Address(kind="R", street="1 HIGH STREET", city="LONDON", country="GBR", postal_code="N1")],
        frequent_flyers=[FrequentFlyer(airline="XX", number="123456789", tier="SILVER")],
    )  # fmt: skip
    return Booking(
        carrier="XX", locator=locator, created=dt.datetime(2026, 2, 1, 10, 0), reporting_party="XX",
        reported_flight=dataclasses.replace(leg), itinerary=[leg], travellers=[traveller],
        addresses=[Address(kind="700", street="2 MAIN ROAD", city="PARIS", country="FRA", phone="0033100")],
        contacts=[Contact(kind="phone", value="0044 20 0000 0000", traveller_ref="1")],
        payments=[Payment(form="CC", card_vendor="VI", card_number="XXXXXXXXXXXX1111", holder="JANE DOE",
                          amount="100.00", currency="EUR",
                          billing_address=Address(street="3 BANK ST", city="LONDON", country="GBR"))],
        agency=Agency(airline="XX", location="LON", iata_number="12345678", agent_id="A1B2", country="GB"),
        check_ins=[CheckIn(traveller_ref="1", leg_index=0, status="CKIN")],
        remarks=[Remark(kind="RMK", text="TKT BY 15JAN", traveller_ref="1")],
        tickets=[Ticket(number="1251234567890", traveller_ref="1", document_type="T",
                        fare_amount="100.00", fare_currency="EUR", fare_calculation="LON XX PAR 100.00 END")],
        seats=[Seat(seat="12A", traveller_ref="1", leg_index=0, cabin="Y")],
        bags=[Bag(traveller_ref="1", leg_index=0, count=1, weight="23", unit="KG", tag_numbers=["XX123456"])],
        service_requests=[ServiceRequest(code="VGML", status="HK", carrier="XX", traveller_ref="1")],
        history=[HistoryEntry("CHG SEAT 12A")],
        party_size=1,
    )  # fmt: skip


#: element name -> (path to the object, field)
_TARGETS: dict[str, tuple[str, ...]] = {
    "booking": (),
    "traveller": ("travellers", "0"),
    "document": ("travellers", "0", "documents", "0"),
    "address": ("addresses", "0"),
    "billing": ("payments", "0", "billing_address"),
    "contact": ("contacts", "0"),
    "payment": ("payments", "0"),
    "agency": ("agency",),
    "ff": ("travellers", "0", "frequent_flyers", "0"),
    "leg": ("itinerary", "0"),
    "seat": ("seats", "0"),
    "bag": ("bags", "0"),
    "ticket": ("tickets", "0"),
    "checkin": ("check_ins", "0"),
    "remark": ("remarks", "0"),
    "history": ("history", "0"),
}


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj[int(step)] if isinstance(obj, list) else getattr(obj, step)
    return obj


def plant(item: Item, booking: Booking | None = None) -> Booking:
    """`booking` (a fresh `base_booking()` by default) with `item.text` at `item.field`."""
    b = booking or base_booking()
    element, _, name = item.field.partition(".")
    if element.startswith("ssr:"):
        b.service_requests.append(
            ServiceRequest(code=element[4:], status="HK", carrier="XX", text=item.text, traveller_ref="1")
        )
        return b
    if element == "ssr":
        b.service_requests.append(
            ServiceRequest(code=item.text, status="HK", carrier="XX", traveller_ref="1")
        )
        return b
    target = _get(b, _TARGETS[element])
    if name == "tag_numbers":
        target.tag_numbers.append(item.text)
    else:
        setattr(target, name, item.text)
    return b


def value_at(booking: Booking, item: Item) -> Any:
    """What the filtered `booking` holds where `item` was planted (None if the element went)."""
    element, _, name = item.field.partition(".")
    if element.startswith("ssr"):
        code = element[4:] if element.startswith("ssr:") else item.text
        for s in booking.service_requests:
            if s.code == code and (element == "ssr" or s.text == item.text):
                return item.text
        return None
    try:
        target = _get(booking, _TARGETS[element])
    except (IndexError, AttributeError, TypeError):
        return None
    return None if target is None else getattr(target, name)


def strings(booking: Booking) -> list[str]:
    """Every string in `booking`, folded (for "no trace" checks)."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            out.append(fold(v))

    walk(to_dict(booking))
    return out


def survives(term: str, booking: Booking) -> bool:
    """`term` (folded, as a whole word or phrase) is still somewhere in `booking`."""
    words = [re.escape(w) for w in re.findall(r"[A-Z]+", fold(term))]
    pattern = re.compile(r"(?<![A-Z])" + r"[^A-Z]+".join(words) + r"(?![A-Z])")
    return any(pattern.search(s) for s in strings(booking))


def corpus_message(
    items: list[Item],
    *,
    prepared: dt.datetime,
    sender: str = "XX",
    recipient: str = "PIU",
    control_ref: str = "1",
    first: int = 0,
) -> tuple[bytes, dict[str, Item]]:
    """One PNRGOV interchange (written by our writer) with a booking per item, and the
    locator of each item's booking. A keep item planted in the locator keeps that locator."""
    from pnrguard.formats.pnrgov import write_pnrgov

    bookings: list[Booking] = []
    where: dict[str, Item] = {}
    for n, item in enumerate(items):
        locator = item.text if item.field == "booking.locator" else f"C{first + n:05d}"
        booking = plant(item, base_booking(locator=locator))
        bookings.append(booking)
        where[locator] = item
    flight = bookings[0].itinerary[0]
    text = write_pnrgov(
        bookings, flight=flight, sender=sender, recipient=recipient, prepared=prepared,
        control_ref=control_ref,
    )  # fmt: skip
    try:
        return text.encode("latin-1"), where
    except UnicodeEncodeError:
        return text.encode("utf-8"), where
