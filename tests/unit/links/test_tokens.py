"""Link tokens: adjacency and consecutiveness told by shared keyed tokens alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.domain.model import Booking, CheckIn, Contact, Leg, Payment, Seat, Source, Traveller
from pnrguard.links.tokens import (
    CASH,
    CASH_FORMS,
    THIRD_PARTY,
    LinkField,
    contact_rows,
    link_rows,
    payment_forms,
)

pytestmark = pytest.mark.unit

LETTERS = "ABCDEFGHJK"


class Keyed:
    def token(self, field: int, value: str) -> bytes:
        return hashlib.sha256(f"{field}|{value}".encode()).digest()[:16]


def _booking(
    seat: str = "", check_in: dt.datetime | None = None, flight: str = "400", **kw: object
) -> Booking:
    leg = Leg(
        carrier="LH",
        flight_number=flight,
        origin="FRA",
        destination="IST",
        departure=dt.datetime(2026, 3, 2, 9),
    )
    return Booking(
        locator="ABC123", carrier="LH", reported_flight=leg, itinerary=[leg],
        travellers=[Traveller(ref="1", surname="X", given_names="Y")],
        seats=[Seat(seat=seat, traveller_ref="1")] if seat else [],
        check_ins=[CheckIn(traveller_ref="1", at=check_in)] if check_in else [], **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _tokens(b: Booking, field: LinkField) -> set[bytes]:
    rows = link_rows(Keyed(), b, [("1", b.travellers[0])]) + contact_rows(Keyed(), b)
    return {t for t, f, _ in rows if f == field}


@given(st.integers(1, 60), st.sampled_from(LETTERS), st.integers(1, 60), st.sampled_from(LETTERS))
def test_seats_share_a_token_exactly_when_side_by_side(r1: int, l1: str, r2: int, l2: str) -> None:
    a = _tokens(_booking(f"{r1}{l1}"), LinkField.SEAT_PAIR)
    b = _tokens(_booking(f"{r2}{l2}"), LinkField.SEAT_PAIR)
    adjacent = r1 == r2 and abs(LETTERS.index(l1) - LETTERS.index(l2)) <= 1
    assert bool(a & b) == adjacent


def test_seats_on_another_flight_are_not_adjacent() -> None:
    assert not _tokens(_booking("12C"), LinkField.SEAT_PAIR) & _tokens(
        _booking("12D", flight="402"), LinkField.SEAT_PAIR
    )


@given(st.integers(0, 3600), st.integers(0, 3600))
def test_check_ins_under_two_minutes_apart_always_share_a_token(s1: int, s2: int) -> None:
    base = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
    a = _tokens(_booking(check_in=base + dt.timedelta(seconds=s1)), LinkField.CHECK_IN_PAIR)
    b = _tokens(_booking(check_in=base + dt.timedelta(seconds=s2)), LinkField.CHECK_IN_PAIR)
    gap = abs(s1 - s2)
    if gap < 120:
        assert a & b
    if gap >= 240:
        assert not a & b


def test_contacts_are_told_apart_and_normalised() -> None:
    b = _booking(
        contacts=[Contact(kind="phone", value="+49 (170) 123-4567"), Contact(kind="email", value="A@X.org")]
    )
    c = _booking(
        contacts=[Contact(kind="phone", value="0170 1234567"), Contact(kind="email", value="a@x.org ")]
    )
    assert _tokens(b, LinkField.PHONE) == _tokens(c, LinkField.PHONE) != set()
    assert _tokens(b, LinkField.EMAIL) == _tokens(c, LinkField.EMAIL) != set()
    assert not _tokens(b, LinkField.PHONE) & _tokens(b, LinkField.EMAIL)
    # Search's contact digests: link analysis's own rows never repeat them.
    own = {f for _, f, _ in link_rows(Keyed(), b, [("1", b.travellers[0])])}
    assert not own & {LinkField.PHONE, LinkField.EMAIL}


_NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ -'", min_size=0, max_size=20)


@given(
    surnames=st.lists(_NAMES, min_size=1, max_size=4),
    forms=st.lists(st.sampled_from(["CC", "CA", "MS", "CK", "", "cash"]), min_size=0, max_size=3),
    holder=_NAMES,
)
def test_payment_form_tokens_follow_the_forms_and_never_call_a_traveller_a_third_party(
    surnames: list[str], forms: list[str], holder: str
) -> None:
    travellers = [Traveller(ref=str(i), surname=s) for i, s in enumerate(surnames, start=1)]
    b = Booking(source=Source.PNR, carrier="LH", locator="X", travellers=travellers,
                payments=[Payment(form=f, holder=holder) for f in forms])  # fmt: skip
    got = payment_forms(b)
    assert got <= {CASH, THIRD_PARTY}
    assert (CASH in got) == any(f.strip().upper() in CASH_FORMS for f in forms)
    # A holder who bears a traveller's surname part is that traveller's family, not a third party.
    kin = Booking(source=Source.PNR, carrier="LH", locator="X", travellers=travellers,
                  payments=[Payment(form="CC", holder=f"{surnames[0]} X")])  # fmt: skip
    if any(part.isalpha() for part in surnames[0].split()):
        assert THIRD_PARTY not in payment_forms(kin)
    # The rows carry the form as a booking-wide token, never the value in clear.
    rows = link_rows(Keyed(), b, [(t.ref, t) for t in travellers])
    forms_rows = [r for r in rows if r[1] == LinkField.PAYMENT_FORM]
    assert {ref for _, _, ref in forms_rows} <= {""}
    assert len(forms_rows) == len(got)


def test_flights_are_the_booking_s_rows_and_a_traveller_without_rows_keeps_its_own() -> None:
    legs = [
        Leg(carrier="LH", flight_number="0400", departure=dt.datetime(2026, 3, 2, 9)),
        Leg(carrier="LH", flight_number="402", departure=dt.datetime(2026, 3, 20, 9)),
    ]
    travellers = [Traveller(ref="1", surname="KAYA"), Traveller(ref="2", surname="")]
    b = Booking(source=Source.PNR, carrier="LH", locator="X", travellers=travellers, itinerary=legs)
    rows = link_rows(Keyed(), b, [("1", travellers[0]), ("2", travellers[1])], bare=["2"])
    flights = sorted((f, ref) for t, f, ref in rows if f == LinkField.FLIGHT)
    # One row a leg for the booking; "2" holds no other row, so it keeps its own two.
    assert flights == [(LinkField.FLIGHT, "")] * 2 + [(LinkField.FLIGHT, "2")] * 2
    nobody = link_rows(Keyed(), dataclasses.replace(b, travellers=[]), [])
    assert not [r for r in nobody if r[1] == LinkField.FLIGHT]
