"""The keyed digests link analysis reads, derived at ingest beside the search tokens.

Each value is normalised, then turned into a token by the blind index's keyed HMAC (the
field is part of the HMAC input), so the database holds no value and confirms no guess.

Adjacency without clear values: two seats are adjacent when they share a *pair* token.
Seat `12C` (letter index 2) carries the tokens of pairs (1,2) and (2,3) of row 12 on its
flight; `12D` carries (2,3) and (3,4); they share (2,3). `12A` and `12C` share none. The
same trick with 2-minute buckets tells consecutive check-ins (less than 2 minutes apart
always share a bucket token; 4 or more minutes apart never do).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from collections.abc import Collection, Sequence
from typing import Protocol

from pnrguard.domain.model import Booking, Leg, Traveller
from pnrguard.links.model import LinkKind

__all__ = [
    "BOOKING_WIDE",
    "CASH",
    "CASH_FORMS",
    "FIELD_KIND",
    "THIRD_PARTY",
    "LinkField",
    "contact_rows",
    "link_rows",
    "payment_forms",
]

_SEAT = re.compile(r"0*(\d{1,3})([A-K])")
_LETTERS = "ABCDEFGHJK"  # cabin seat letters (I is not used)
_CHECK_IN_BUCKET = 120  # seconds
_WORDS = re.compile(r"[^A-Z]+")
_NOT_ALNUM_RUN = re.compile(r"[^A-Z0-9]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


class LinkField(enum.IntEnum):
    """Blind-index fields that only link analysis reads (numbered apart from search's)."""

    PHONE = 32
    EMAIL = 33
    ADDRESS = 34
    FREQUENT_FLYER = 35
    AGENCY_OFFICE = 36
    FLIGHT = 37  # one flight (carrier, number, date) of a booking's itinerary (booking-wide)
    SEAT_PAIR = 38
    CHECK_IN_PAIR = 39
    GROUP = 40  # a record and the records split from it
    PAYMENT_FORM = 41  # "cash" or "third_party": the payer hides (financing leads, links/leads.py)


# The fields as plain ints for the ingest path (an IntEnum hashes and compares as its int,
# so memo keys and stored rows are the same either way; plain ints are cheaper to handle).
_PHONE, _EMAIL, _ADDRESS = int(LinkField.PHONE), int(LinkField.EMAIL), int(LinkField.ADDRESS)
_FREQUENT_FLYER, _AGENCY_OFFICE = int(LinkField.FREQUENT_FLYER), int(LinkField.AGENCY_OFFICE)
_FLIGHT, _SEAT_PAIR = int(LinkField.FLIGHT), int(LinkField.SEAT_PAIR)
_CHECK_IN_PAIR = int(LinkField.CHECK_IN_PAIR)
_GROUP, _PAYMENT_FORM = int(LinkField.GROUP), int(LinkField.PAYMENT_FORM)

#: Which link each field (search's or link analysis's) stands for.
FIELD_KIND: dict[int, LinkKind] = {
    LinkField.PHONE: LinkKind.PHONE,
    LinkField.EMAIL: LinkKind.EMAIL,
    LinkField.ADDRESS: LinkKind.ADDRESS,
    LinkField.FREQUENT_FLYER: LinkKind.FREQUENT_FLYER,
    LinkField.AGENCY_OFFICE: LinkKind.AGENCY_OFFICE,
    LinkField.FLIGHT: LinkKind.JOINT_TRAVEL,
    LinkField.SEAT_PAIR: LinkKind.ADJACENT_SEAT,
    LinkField.CHECK_IN_PAIR: LinkKind.CONSECUTIVE_CHECK_IN,
    LinkField.GROUP: LinkKind.SAME_GROUP,
    6: LinkKind.DOCUMENT,  # screening.blind_index.Field.DOCUMENT
    8: LinkKind.CARD,  # screening.blind_index.Field.PAYMENT
}
#: Fields whose tokens belong to the whole booking (stored with traveller ref "").
BOOKING_WIDE = frozenset(
    {LinkField.PHONE, LinkField.EMAIL, LinkField.AGENCY_OFFICE, LinkField.GROUP, LinkField.PAYMENT_FORM, 8}
)
#: The values of `LinkField.PAYMENT_FORM` (tokens like every other value: a booking's row
#: does not say in clear that it was paid in cash).
CASH = "cash"
THIRD_PARTY = "third_party"
#: Forms of payment that hide the payer: cash, and miscellaneous forms.
CASH_FORMS = frozenset({"CA", "CASH", "MS"})


class Keyed(Protocol):
    def token(self, field: int, value: str) -> bytes: ...


def _flight_key(leg: Leg) -> str:
    if leg.departure is None or not leg.flight_number:
        return ""
    return _flight_key_of(leg.carrier, leg.flight_number, leg.departure.date())


@functools.lru_cache(maxsize=4096)
def _flight_key_of(carrier: str, flight_number: str, day: dt.date) -> str:
    number = flight_number.lstrip("0") or "0"
    return f"{carrier.upper()}{number}/{day.isoformat()}"


@functools.lru_cache(maxsize=16384)
def _account(airline: str, number: str) -> str:
    """A frequent-flyer account as compared: airline and number, upper case."""
    number = number.strip()
    return f"{airline.upper()}|{number.upper()}" if number else ""


# Memoised (bounded): a carrier pushes a booking several times before departure, with the
# same contacts, addresses and seats each time.
@functools.lru_cache(maxsize=16384)
def _address_key(street: str, postal_code: str, country: str) -> str:
    street = _NOT_ALNUM_RUN.sub(" ", street.upper()).strip()
    if not street:
        return ""
    postal = _NOT_ALNUM.sub("", postal_code.upper())
    return f"{street}|{postal}|{country.upper()}"


@functools.lru_cache(maxsize=16384)
def _phone_or_mail(value: str) -> tuple[int, str] | None:
    value = value.strip()
    if "@" in value:
        return _EMAIL, value.lower()
    digits = "".join(ch for ch in value if ch.isdigit())
    return (_PHONE, digits[-9:]) if len(digits) >= 6 else None


@functools.lru_cache(maxsize=16384)
def _seat_pairs(flight: str, seat: str) -> tuple[str, ...]:
    m = _SEAT.fullmatch(seat.strip().upper())
    if m is None or m.group(2) not in _LETTERS:
        return ()
    row, i = int(m.group(1)), _LETTERS.index(m.group(2))
    return (f"{flight}|{row}|{i - 1}", f"{flight}|{row}|{i}")


def payment_forms(b: Booking) -> set[str]:
    """`CASH` when a payment is cash or miscellaneous, `THIRD_PARTY` when a card's holder
    bears none of the travellers' surnames (an unknown holder is not a third party)."""
    out: set[str] = set()
    if not b.payments:
        return out
    surnames = {part for t in b.travellers for part in _WORDS.split(t.surname.upper()) if part}
    for p in b.payments:
        if p.form.strip().upper() in CASH_FORMS:
            out.add(CASH)
        holder = {part for part in _WORDS.split(p.holder.upper()) if part}
        if holder and surnames and not holder & surnames:
            out.add(THIRD_PARTY)
    return out


def contact_rows(tok: Keyed, b: Booking) -> list[tuple[bytes, int, str]]:
    """(token, field, "") of the booking's telephone numbers and e-mail addresses (its
    contacts and its addresses' telephones): booking-wide, as a contact reaches the whole
    booking. They are the search index's contact digests (issue 12 §2: search by contact
    reads them, `Tokeniser.contact_term`) and link analysis's PHONE and EMAIL links; stored
    once for both, derived apart from `link_rows` so each has its own cost at ingest."""
    values: dict[tuple[int, str], None] = {}
    for a in b.addresses:
        if a.phone and (found := _phone_or_mail(a.phone)):
            values[found] = None
    for c in b.contacts:
        if found := _phone_or_mail(c.value):
            values[found] = None
    token = tok.token
    return [(token(field, value), field, "") for field, value in values]


def link_rows(
    tok: Keyed, b: Booking, pairs: Sequence[tuple[str, Traveller]], *, bare: Collection[str] | None = None
) -> list[tuple[bytes, int, str]]:
    """(token, field, traveller ref) rows of a booking that only link analysis reads;
    `pairs` are the screening refs, as for the search tokens. Documents, cards and contacts
    are search tokens (fields 6 and 8, `contact_rows`) and are not repeated.

    The flights (joint travel) are the booking's itinerary: one booking-wide row per leg,
    which link analysis reads as every traveller of the booking (`service.links`), not one
    row per traveller per leg. A traveller with no row of its own at all (`bare`: the refs
    without search rows, None for every ref; no name part, birth date, document, seat, ...) keeps its own
    flight rows: a booking's travellers are the refs holding rows of their own, so a
    traveller dropped by a later version (its link in `traveller_member` stays) is told
    apart from one still on the booking.

    Runs for every booking at ingest (index upkeep, issue 12 §3): plain int fields, the
    per-value normalisations memoised, and a set only where a value can repeat."""
    values: set[tuple[int, str, str]] = set()
    add = values.add
    legs = b.itinerary or ([b.reported_flight] if b.reported_flight else [])
    keys = [_flight_key(leg) for leg in legs]
    reported = _flight_key(b.reported_flight) if b.reported_flight is not None else ""
    flights = [f for f in keys if f]
    by_ref: dict[str, str] = {}
    for ref, t in pairs:
        if t.ref:
            by_ref[t.ref] = ref
        for ff in t.frequent_flyers:
            if account := _account(ff.airline, ff.number):
                add((_FREQUENT_FLYER, account, ref))
        for a in t.addresses:
            if v := _address_key(a.street, a.postal_code, a.country):
                add((_ADDRESS, v, ref))
    for a in b.addresses:
        if v := _address_key(a.street, a.postal_code, a.country):
            add((_ADDRESS, v, ""))
    for p in b.payments:
        if (bill := p.billing_address) and (v := _address_key(bill.street, bill.postal_code, bill.country)):
            add((_ADDRESS, v, ""))
    if b.agency is not None and (b.agency.iata_number or b.agency.location):
        add((_AGENCY_OFFICE, f"{b.agency.iata_number}|{b.agency.location.upper()}", ""))
    if b.locator:
        add((_GROUP, f"{b.carrier.upper()}|{b.locator.upper()}", ""))
    for split in b.split_from:
        if split.strip():
            add((_GROUP, f"{b.carrier.upper()}|{split.strip().upper()}", ""))
    if b.payments:
        for form in payment_forms(b):
            add((_PAYMENT_FORM, form, ""))
    for s in b.seats:
        ref = by_ref.get(s.traveller_ref, "")
        if not ref:
            continue
        i = s.leg_index
        flight = keys[i] if i is not None and 0 <= i < len(keys) else reported
        if flight:
            for v in _seat_pairs(flight, s.seat):
                add((_SEAT_PAIR, v, ref))
    for ci in b.check_ins:
        ref = by_ref.get(ci.traveller_ref, "")
        if not ref or ci.at is None:
            continue
        i = ci.leg_index
        flight = keys[i] if i is not None and 0 <= i < len(keys) else reported
        if flight:
            bucket = int(ci.at.timestamp()) // _CHECK_IN_BUCKET
            add((_CHECK_IN_PAIR, f"{flight}|{bucket}", ref))
            add((_CHECK_IN_PAIR, f"{flight}|{bucket + 1}", ref))
    if flights and (bare is None or bare):
        own = {ref for _, _, ref in values}
        for ref, _ in pairs:
            if (bare is None or ref in bare) and ref not in own:  # nothing else says it is on the booking
                values.update((_FLIGHT, f, ref) for f in flights)
    token = tok.token  # unsorted: the writer sorts the rows it stores
    rows = [(token(field, value), field, ref) for field, value, ref in values]
    if pairs:  # the booking's legs, booking-wide (distinct values: no set needed)
        rows += [(token(_FLIGHT, f), _FLIGHT, "") for f in dict.fromkeys(flights)]
    return rows
