"""Issue 12 §3, index upkeep, fourth pass: the one-pass derivation of a booking's stored
rows (`search_index.booking_tokens`, with the leaner `links.tokens.link_rows`) gives exactly
the rows of the derivation it replaced: search's rows from `Tokeniser.booking_rows` (kept below as
`reference_search_rows`), link
analysis's from the reference below (main's `link_rows` before this pass, kept verbatim
but for names), the flight day from `flight_columns`. Over synthetic traffic (PNRGOV and
PAXLST as read) and over hand-made bookings that reach every branch: multi-leg itineraries,
seats and check-ins naming a leg or none, travellers without a search row, split records,
cards with billing addresses, agencies, frequent flyers, repeated values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnrguard.domain.model import (
    Address,
    Agency,
    Booking,
    CheckIn,
    Contact,
    Document,
    FrequentFlyer,
    Leg,
    Payment,
    Seat,
    Source,
    Traveller,
)
from pnrguard.formats.reader import read_message
from pnrguard.formats.synth import generate
from pnrguard.links.tokens import CASH_FORMS, LinkField, payment_forms
from pnrguard.screening.blind_index import Tokeniser
from pnrguard.service.search_index import booking_tokens, traveller_pairs
from pnrguard.store.repository import flight_columns
from pnrguard.store.traveller import day_of

pytestmark = pytest.mark.unit

KEY = bytes(range(32))

# --- the reference: the derivation before this pass ------------------------------------------

import functools  # noqa: E402
import re  # noqa: E402

_SEAT = re.compile(r"0*(\d{1,3})([A-K])")
_LETTERS = "ABCDEFGHJK"
_NOT_ALNUM_RUN = re.compile(r"[^A-Z0-9]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def _flight_key(leg: Leg) -> str:
    if leg.departure is None or not leg.flight_number:
        return ""
    number = leg.flight_number.lstrip("0") or "0"
    return f"{leg.carrier.upper()}{number}/{leg.departure.date().isoformat()}"


def _flight_of(keys: Sequence[str], index: int | None, reported: str) -> str:
    return keys[index] if index is not None and 0 <= index < len(keys) else reported


@functools.lru_cache(maxsize=1024)
def _address_key(street: str, postal_code: str, country: str) -> str:
    street = _NOT_ALNUM_RUN.sub(" ", street.upper()).strip()
    if not street:
        return ""
    postal = _NOT_ALNUM.sub("", postal_code.upper())
    return f"{street}|{postal}|{country.upper()}"


def _address(a: Address) -> str:
    return _address_key(a.street, a.postal_code, a.country)


def _phone_or_mail(value: str) -> tuple[LinkField, str] | None:
    value = value.strip()
    if "@" in value:
        return LinkField.EMAIL, value.lower()
    digits = "".join(ch for ch in value if ch.isdigit())
    return (LinkField.PHONE, digits[-9:]) if len(digits) >= 6 else None


def _seat_pairs(flight: str, seat: str) -> tuple[str, ...]:
    m = _SEAT.fullmatch(seat.strip().upper())
    if m is None or m.group(2) not in _LETTERS:
        return ()
    row, i = int(m.group(1)), _LETTERS.index(m.group(2))
    return (f"{flight}|{row}|{i - 1}", f"{flight}|{row}|{i}")


def _check_in_pairs(flight: str, at: dt.datetime) -> list[str]:
    bucket = int(at.timestamp()) // 120
    return [f"{flight}|{bucket}", f"{flight}|{bucket + 1}"]


def reference_link_rows(
    tok: Tokeniser, b: Booking, pairs: Sequence[tuple[str, Traveller]], *, bare: Collection[str] | None = None
) -> list[tuple[bytes, int, str]]:
    values: set[tuple[int, str, str]] = set()
    by_ref = {t.ref: ref for ref, t in pairs if t.ref}
    legs = list(b.itinerary) or ([b.reported_flight] if b.reported_flight else [])
    keys = [_flight_key(leg) for leg in legs]
    flights = [f for f in keys if f]
    reported = _flight_key(b.reported_flight) if b.reported_flight is not None else ""
    if pairs:
        values.update((LinkField.FLIGHT, f, "") for f in flights)
    for ref, t in pairs:
        for ff in t.frequent_flyers:
            if ff.number.strip():
                account = f"{ff.airline.upper()}|{ff.number.strip().upper()}"
                values.add((LinkField.FREQUENT_FLYER, account, ref))
        for a in t.addresses:
            if v := _address(a):
                values.add((LinkField.ADDRESS, v, ref))
    wide_addresses = list(b.addresses) + [p.billing_address for p in b.payments if p.billing_address]
    for a in wide_addresses:
        if v := _address(a):
            values.add((LinkField.ADDRESS, v, ""))
    for c in b.contacts:
        if found := _phone_or_mail(c.value):
            values.add((found[0], found[1], ""))
    for a in b.addresses:
        if a.phone and (found := _phone_or_mail(a.phone)):
            values.add((found[0], found[1], ""))
    if b.agency is not None and (b.agency.iata_number or b.agency.location):
        values.add((LinkField.AGENCY_OFFICE, f"{b.agency.iata_number}|{b.agency.location.upper()}", ""))
    if b.locator:
        values.add((LinkField.GROUP, f"{b.carrier.upper()}|{b.locator.upper()}", ""))
    for split in b.split_from:
        if split.strip():
            values.add((LinkField.GROUP, f"{b.carrier.upper()}|{split.strip().upper()}", ""))
    for form in payment_forms(b):
        values.add((LinkField.PAYMENT_FORM, form, ""))
    for s in b.seats:
        ref = by_ref.get(s.traveller_ref, "")
        if not ref:
            continue
        flight = _flight_of(keys, s.leg_index, reported)
        for v in _seat_pairs(flight, s.seat) if flight else ():
            values.add((LinkField.SEAT_PAIR, v, ref))
    for ci in b.check_ins:
        ref = by_ref.get(ci.traveller_ref, "")
        if not ref or ci.at is None:
            continue
        flight = _flight_of(keys, ci.leg_index, reported)
        for v in _check_in_pairs(flight, ci.at) if flight else []:
            values.add((LinkField.CHECK_IN_PAIR, v, ref))
    if flights and (bare is None or bare):
        own = {ref for _, _, ref in values}
        for ref, _ in pairs:
            if (bare is None or ref in bare) and ref not in own:
                values.update((LinkField.FLIGHT, f, ref) for f in flights)
    return [(tok.token(field, value), int(field), ref) for field, value, ref in values]


def reference_search_rows(
    tok: Tokeniser, b: Booking, pairs: Sequence[tuple[str, Traveller]]
) -> list[tuple[bytes, int, str]]:
    """Search's rows as `Tokeniser.booking_rows` derived them before this pass: each
    traveller's own tokens under its ref, the booking's cards under no ref."""
    rows: list[tuple[bytes, int, str]] = []
    for ref, t in pairs:
        rows += [(token, field, ref) for token, field in tok.traveller_tokens(t)]
    cards = {term for p in b.payments if (term := tok.card_term(p.card_number))}
    rows += [(token, int(field), "") for field, token in sorted(cards)]
    return rows


def reference_rows(tok: Tokeniser, b: Booking, booking_id: str) -> set[tuple[bytes, int, int, str, str]]:
    pairs = traveller_pairs(b)
    rows = reference_search_rows(tok, b, pairs)
    bare = [ref for ref, t in pairs if not tok.traveller_tokens(t)]
    rows += reference_link_rows(tok, b, pairs, bare=bare)
    day = day_of(flight_columns(b)["flight_date"])
    return {(t, f, day, booking_id, r) for t, f, r in rows}


# --- the comparison -------------------------------------------------------------------------


def _same(tok: Tokeniser, b: Booking) -> None:
    item = booking_tokens(tok, b, "b1")
    assert len(item.stored) == len(set(item.stored))  # stored as derived: no repeats
    assert set(item.stored) == reference_rows(tok, b, "b1")
    assert item.rows == [(t, f, r) for t, f, _, _, r in item.stored]
    assert item.day == day_of(flight_columns(b)["flight_date"])


def _traffic() -> list[Booking]:
    out: list[Booking] = []
    for seed in (3, 11):
        for push in generate(seed, flights=3, passengers_per_flight=(20, 60), base_date=dt.date(2026, 2, 1)):
            for text in (push.pnrgov, push.paxlst):
                if text:
                    out += read_message(text.encode()).bookings
    return out


def test_synthetic_traffic_gives_the_same_rows_as_before() -> None:
    tok = Tokeniser(KEY)
    bookings = _traffic()
    assert len(bookings) > 100
    assert {b.source for b in bookings} == {Source.PNR, Source.API}
    for b in bookings:
        _same(tok, b)
    for b in bookings:  # a second push: every memo warm, the same rows
        _same(tok, b)


def _leg(number: str, day: int, carrier: str = "mu") -> Leg:
    return Leg(carrier=carrier, flight_number=number, departure=dt.datetime(2026, 3, day, 9, 30))


_names = st.sampled_from(["WANG", "LI", "MÜLLER", "O'NEIL", "DE LA CRUZ", "", "  "])
_seats = st.sampled_from(["12C", "012D", "30A", "7I", "99Z", "", "1K"])
_refs = st.sampled_from(["1", "2", "3", "", "9"])
_leg_index = st.sampled_from([None, 0, 1, 5])
_accounts = st.sampled_from(["x1", " ", "X1 "])
_billing = st.sampled_from([None, Address(street="1 Main St", postal_code="A1")])


@st.composite
def bookings(draw: st.DrawFn) -> Booking:
    legs = draw(st.lists(st.sampled_from([_leg("103", 2), _leg("0103", 2), _leg("7", 4), Leg()]), max_size=3))
    reported = draw(st.sampled_from([None, _leg("103", 2), _leg("", 2)]))
    travellers = []
    for i in range(draw(st.integers(0, 3))):
        docs = [
            Document(number=draw(st.sampled_from(["E123", "e-123", ""])), surname=draw(_names),
                     date_of_birth=draw(st.sampled_from([None, dt.date(1980, 1, 2)])))
            for _ in range(draw(st.integers(0, 2)))
        ]  # fmt: skip
        travellers.append(
            Traveller(
                ref=draw(st.sampled_from([str(i + 1), "", "1"])), surname=draw(_names),
                given_names=draw(_names), date_of_birth=draw(st.sampled_from([None, dt.date(1990, 5, 6)])),
                documents=docs,
                frequent_flyers=[FrequentFlyer(airline="mu", number=draw(_accounts))],
                addresses=[Address(street=draw(st.sampled_from(["1 Main St", "", "--"])), postal_code="a-1")],
            )
        )  # fmt: skip
    at = draw(st.sampled_from([None, dt.datetime(2026, 3, 2, 7, 0, 59), dt.datetime(2026, 3, 2, 7, 1)]))
    return Booking(
        source=draw(st.sampled_from([Source.PNR, Source.API])), carrier="MU",
        locator=draw(st.sampled_from(["abc123", ""])), reported_flight=reported, itinerary=legs,
        travellers=travellers,
        seats=[Seat(seat=draw(_seats), traveller_ref=draw(_refs), leg_index=draw(_leg_index))
               for _ in range(draw(st.integers(0, 3)))],
        check_ins=[CheckIn(traveller_ref=draw(_refs), at=at, leg_index=draw(st.sampled_from([None, 0, 2])))
                   for _ in range(draw(st.integers(0, 2)))],
        contacts=[Contact(value=draw(st.sampled_from(["+86 10 1234 5678", "A@B.example ", "12"])))],
        addresses=[Address(street="9 Rue X", phone=draw(st.sampled_from(["", "0033 1 23 45 67 89"])))],
        payments=[
            Payment(form=draw(st.sampled_from([*sorted(CASH_FORMS), "CC"])),
                    card_number=draw(st.sampled_from(["", "4111 1111 1111 1111", "123"])),
                    holder=draw(st.sampled_from(["", "WANG LEI", "SOMEONE ELSE"])),
                    billing_address=draw(_billing))
            for _ in range(draw(st.integers(0, 2)))
        ],
        agency=draw(st.sampled_from([None, Agency(iata_number="123", location="pek"), Agency()])),
        split_from=draw(st.sampled_from([[], ["XYZ789", " "]])),
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(bookings())
def test_every_branch_gives_the_same_rows_as_before(b: Booking) -> None:
    _same(Tokeniser(KEY), b)


# --- a traveller's tokens: built from memoised names, equal to its values' tokens -----------


def _by_values(tok: Tokeniser, t: Traveller) -> list[tuple[bytes, int]]:
    return sorted({(tok.token(f, v), int(f)) for f, v in Tokeniser.traveller_values(t)})


@settings(max_examples=300, deadline=None)
@given(bookings())
def test_a_travellers_tokens_are_the_tokens_of_its_values(b: Booking) -> None:
    warm = Tokeniser(KEY)
    for t in b.travellers:
        # Cold (a fresh tokeniser), then warm: names, people and tokens memoised.
        assert list(Tokeniser(KEY).traveller_tokens(t)) == _by_values(Tokeniser(KEY), t)
        assert list(warm.traveller_tokens(t)) == _by_values(warm, t)
        assert list(warm.traveller_tokens(t)) == _by_values(warm, t)


def test_travellers_sharing_a_name_keep_their_own_tokens() -> None:
    """The name memo is shared between travellers: what differs (a birth date, a document,
    a second given name, a document's own name) still gives each their own rows."""
    tok = Tokeniser(KEY)
    people = [
        Traveller(surname="WANG", given_names="LEI"),
        Traveller(surname="WANG", given_names="LEI", date_of_birth=dt.date(1990, 5, 6)),
        Traveller(surname="WANG", given_names="LEI MING"),
        Traveller(surname="WANG", given_names="LEI", documents=[Document(number="E1", surname="WONG")]),
        Traveller(surname="LEI", given_names="WANG"),  # swapped: surname tokens are not given-name tokens
    ]
    rows = [tok.traveller_tokens(t) for t in people]
    assert len(set(rows)) == len(people)
    for t, got in zip(people, rows, strict=True):
        assert list(got) == _by_values(tok, t)
