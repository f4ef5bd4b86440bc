"""Hypothesis strategies shared by the format tests (PNRGOV and PAXLST sections).

Each section names its private helpers with its own prefix (`_api_` for PAXLST).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

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

# --- PAXLST (API) bookings: used by tests/unit/formats/test_paxlst.py ------------------------

# Letters of many scripts plus every character that is a service character in some interchange
# (`+ : ' ?` by default, `* $ -` in carriers' UNA advice): the writer must release them all.
_API_SPECIALS = " +:'?*$-."
_api_letters = st.characters(categories=["Lu", "Ll"])
_api_upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_api_alnum = _api_upper + "0123456789"


def _api_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Values as a reader returns them: no leading or trailing blanks (the reader strips)."""
    return st.text(st.one_of(_api_letters, st.sampled_from(_API_SPECIALS)), max_size=max_size).filter(
        lambda s: s == s.strip()
    )


_api_code3 = st.text(_api_upper, min_size=3, max_size=3)
_api_opt_code3 = st.one_of(st.just(""), _api_code3)
_api_date = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
_api_opt_date = st.one_of(st.none(), _api_date)
_api_opt_time = st.one_of(
    st.none(), st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2089, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    )
)
_api_carrier = st.one_of(
    st.text(_api_upper, min_size=2, max_size=2),
    st.tuples(st.sampled_from(_api_upper), st.sampled_from("0123456789")).map("".join),
)
_api_flight_number = st.tuples(
    st.text("0123456789", min_size=1, max_size=4), st.sampled_from(["", "A", "D"])
).map("".join)


@st.composite
def _api_legs(draw: st.DrawFn) -> list[Leg]:
    """1 to 3 legs along a chain of distinct airports (a progressive flight when > 1)."""
    n = draw(st.integers(1, 3))
    airports = draw(st.lists(_api_code3, min_size=n + 1, max_size=n + 1, unique=True))
    return [
        Leg(
            carrier=draw(_api_carrier),
            flight_number=draw(_api_flight_number),
            origin=airports[i],
            destination=airports[i + 1],
            departure=draw(_api_opt_time),
            arrival=draw(_api_opt_time),
        )
        for i in range(n)
    ]


@st.composite
def _api_traveller(draw: st.DrawFn, crew: bool) -> Traveller:
    address = draw(
        st.one_of(
            st.none(),
            st.builds(
                Address,
                street=_api_text(),
                city=_api_text(),
                region=_api_text(4),
                postal_code=st.text(_api_alnum, max_size=6),
                country=_api_opt_code3,
            ).filter(lambda a: any((a.street, a.city, a.region, a.postal_code, a.country))),
        )
    )
    documents = draw(
        st.lists(
            st.builds(
                Document,
                doc_type=st.sampled_from(["", "P", "I", "V", "IP", "AC"]),
                number=st.text(_api_alnum, max_size=10),
                issuing_country=_api_opt_code3,
                expiry=_api_opt_date,
                date_of_issue=_api_opt_date,
            ),
            max_size=2,
        )
    )
    return Traveller(
        ref=draw(st.one_of(st.just(""), st.text(_api_alnum, min_size=1, max_size=10))),
        surname=draw(_api_text()),
        given_names=draw(_api_text()),
        traveller_type=TravellerType.CREW if crew else TravellerType.ADULT,
        documents=documents,
        addresses=[address] if address is not None else [],
        gender=draw(st.sampled_from(["", "M", "F", "U", "X"])),
        date_of_birth=draw(_api_opt_date),
        nationality=draw(_api_opt_code3),
        residence_country=draw(_api_opt_code3),
        birth_place=draw(_api_text()),
    )


@st.composite
def api_bookings(draw: st.DrawFn, *, max_persons: int = 6) -> list[Booking]:
    """The bookings `read_paxlst` makes of one PAXLST message: one per person, one flight.

    Conventions a test relies on: `bookings[0].itinerary` holds every leg the message names
    (pass it as `itinerary=`), `bookings[0].reported_flight` is the flight, and the list is a
    crew list when every traveller is CREW. Other persons travel a contiguous part of it.
    Names hold service characters and non-ASCII letters; optional fields may be missing.
    """
    legs = draw(_api_legs())
    reported = draw(st.integers(0, len(legs) - 1))
    flight = legs[reported]
    crew = draw(st.booleans())
    party = draw(_api_text(20))
    bookings: list[Booking] = []
    for k in range(draw(st.integers(1, max_persons))):
        start, end = 0, len(legs)
        if k:
            start = draw(st.integers(0, len(legs) - 1))
            end = draw(st.integers(start + 1, len(legs)))
        traveller = draw(_api_traveller(crew or draw(st.integers(0, 9)) == 0))
        ref = traveller.ref
        leg_index = reported - start if start <= reported < end else None
        contacts = draw(
            st.lists(
                st.builds(
                    Contact,
                    kind=st.sampled_from(["phone", "fax", "email", "other"]),
                    value=_api_text(16).filter(bool),
                    traveller_ref=st.just(ref),
                ),
                max_size=2,
            )
        )
        seats = draw(
            st.lists(
                st.builds(
                    Seat,
                    seat=st.text(_api_alnum, min_size=1, max_size=3),
                    traveller_ref=st.just(ref),
                    leg_index=st.just(leg_index),
                ),
                max_size=1,
            )
        )
        bookings.append(
            Booking(
                source=Source.API,
                carrier=flight.carrier,
                locator=draw(st.one_of(st.just(""), st.text(_api_alnum, min_size=1, max_size=8))),
                reported_flight=_api_copy_leg(flight),
                travellers=[traveller],
                itinerary=[_api_copy_leg(leg) for leg in legs[start:end]],
                contacts=contacts,
                seats=seats,
                reporting_party=party,
            )
        )
    return bookings


def _api_copy_leg(leg: Leg) -> Leg:
    return Leg(leg.carrier, leg.flight_number, leg.origin, leg.destination, leg.departure, leg.arrival)


# --- PNRGOV bookings: used by tests/unit/formats/test_pnrgov.py --------------------------------

from pnrguard.domain.model import (  # noqa: E402
    Agency,
    Bag,
    CheckIn,
    FrequentFlyer,
    HistoryEntry,
    Payment,
    Remark,
    ServiceRequest,
    Ticket,
)

# Service characters of the default advice, "/" (the DOCS field separator), "*" and "-",
# blanks, and letters of many scripts (UNOC when they fit Latin-1, UNOY otherwise).
_PNR_SPECIALS = " +:'?/*-."
_pnr_upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_pnr_alnum = _pnr_upper + "0123456789"
_pnr_letters = st.one_of(
    st.sampled_from("ÀÉÎÕÜßçñøØ"),  # Latin-1
    st.characters(categories=["Lu", "Ll"]),  # anything, e.g. ŁĞ Ж 山
)


def _pnr_text(max_size: int = 12, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(
        st.one_of(st.sampled_from(_pnr_upper), _pnr_letters, st.sampled_from(_PNR_SPECIALS)),
        min_size=min_size,
        max_size=max_size,
    )


def _pnr_not_contact(text: str) -> bool:
    """Free text starting CTC (or `XX CTC`) is read as a contact, not as a remark."""
    return not text.startswith("CTC") and text[3:6] != "CTC"


_pnr_code = st.text(_pnr_upper, min_size=2, max_size=2)
_pnr_code3 = st.text(_pnr_upper, min_size=3, max_size=3)
_pnr_opt3 = st.one_of(st.just(""), _pnr_code3)
_pnr_digits = st.text("0123456789", min_size=1, max_size=14)
_pnr_moment = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2069, 12, 31))
_pnr_opt_moment = st.one_of(st.none(), _pnr_moment)
_pnr_today = dt.date.today()
# Two-digit years in DOCS: a birth or issue date is at most 99 years old, an expiry is 20YY.
_pnr_past = st.one_of(st.none(), st.dates(dt.date(_pnr_today.year - 99, 1, 1), _pnr_today))
_pnr_expiry = st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))


@st.composite
def pnr_flights(draw: st.DrawFn) -> Leg:
    """The flight a PNRGOV push is for (message-level TVL)."""
    return Leg(
        carrier=draw(_pnr_code),
        flight_number=draw(st.text("0123456789", min_size=1, max_size=4)),
        origin=draw(_pnr_code3),
        destination=draw(_pnr_code3),
        departure=draw(_pnr_opt_moment),
        arrival=draw(_pnr_opt_moment),
        booking_class=draw(st.sampled_from(["", "Y", "J"])),
        operating_carrier=draw(st.one_of(st.just(""), _pnr_code)),
    )


def _pnr_leg() -> st.SearchStrategy[Leg]:
    return st.builds(
        Leg,
        carrier=_pnr_code,
        flight_number=st.text("0123456789", min_size=1, max_size=4),
        origin=_pnr_code3,
        destination=_pnr_code3,
        departure=_pnr_opt_moment,
        arrival=_pnr_opt_moment,
        booking_class=st.sampled_from(["", "Y", "B", "M"]),
        status=st.sampled_from(["", "HK", "TK", "UN"]),
        party_size=st.one_of(st.none(), st.integers(0, 9)),
        operating_carrier=st.one_of(st.just(""), _pnr_code),
        operating_flight_number=st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=4)),
        equipment=st.sampled_from(["", "320", "77W"]),
    )


def _pnr_document(infant: bool) -> st.SearchStrategy[Document]:
    genders = ["", "MI", "FI", "M"] if infant else ["", "M", "F", "U", "X"]
    docs = st.builds(
        Document,
        doc_type=st.sampled_from(["", "P", "I", "PT"]),
        number=st.text(_pnr_alnum, max_size=10),
        issuing_country=_pnr_opt3,
        expiry=_pnr_expiry,
        nationality=_pnr_opt3,
        surname=_pnr_text(),
        given_names=_pnr_text(),
        gender=st.sampled_from(genders),
        date_of_birth=_pnr_past,
        date_of_issue=_pnr_past,
    )
    visa = st.builds(
        Document,
        doc_type=st.just("V"),
        number=st.text(_pnr_alnum, max_size=10),
        issuing_country=_pnr_opt3,
        date_of_issue=_pnr_past.filter(lambda d: d is not None),
    )
    return st.one_of(docs, visa)


def _pnr_address(kinds: list[str]) -> st.SearchStrategy[Address]:
    return st.builds(
        Address,
        kind=st.sampled_from(kinds),
        street=_pnr_text(20),
        city=_pnr_text(),
        region=_pnr_text(4),
        postal_code=st.text(_pnr_alnum, max_size=6),
        country=_pnr_opt3,
        phone=st.one_of(st.just(""), _pnr_digits),
    )


@st.composite
def _pnr_travellers(draw: st.DrawFn) -> list[Traveller]:
    """1 to 4 people; an infant follows the adult it travels with (PNRGOV's convention)."""
    out: list[Traveller] = []
    for _ in range(draw(st.integers(1, 4))):
        ref = str(len(out) + 1)
        t_type = draw(st.sampled_from([TravellerType.ADULT, TravellerType.CHILD, TravellerType.OTHER]))
        out.append(_pnr_person(draw, ref, t_type, ""))
        if t_type is TravellerType.ADULT and draw(st.integers(0, 3)) == 0:
            out.append(_pnr_person(draw, str(len(out) + 1), TravellerType.INFANT, ref))
    return out


def _pnr_person(draw: st.DrawFn, ref: str, t_type: TravellerType, adult: str) -> Traveller:
    infant = t_type is TravellerType.INFANT
    return Traveller(
        ref=ref,
        surname=draw(_pnr_text()),
        given_names=draw(_pnr_text()),
        traveller_type=t_type,
        accompanied_by_ref=adult,
        documents=draw(st.lists(_pnr_document(infant), max_size=2)),
        addresses=draw(st.lists(_pnr_address(["R", "D", "700"]), max_size=2)),
        frequent_flyers=draw(
            st.lists(
                st.builds(
                    FrequentFlyer,
                    airline=_pnr_code,
                    number=st.text(_pnr_alnum, min_size=1, max_size=12),
                    tier=st.sampled_from(["", "GOLD", "ELITE"]),
                ),
                max_size=1,
            )
        ),
        gender=draw(st.sampled_from(["", "M", "F"])),
        date_of_birth=draw(_pnr_past),
        nationality=draw(_pnr_opt3),
        residence_country=draw(_pnr_opt3),
        birth_place=draw(st.one_of(st.just(""), _pnr_text())),
    )


@st.composite
def bookings(draw: st.DrawFn) -> Booking:
    """A PNR booking as a carrier could push it: travellers with infants, documents (DOCS
    and visas), legs with code-shares, tickets, seats, bags, check-ins, payments, history;
    texts with service characters and non-ASCII letters, optional fields left empty.
    Compare a PNRGOV round trip with `pnrgov_normalise` of it."""
    travellers = draw(_pnr_travellers())
    legs = draw(st.lists(_pnr_leg(), min_size=0, max_size=3))
    refs = [t.ref for t in travellers] + ["", "99"]  # "": the whole PNR; "99": unknown
    ref = st.sampled_from(refs)
    leg_index = st.one_of(st.none(), st.integers(0, max(len(legs) - 1, 0))) if legs else st.none()
    return Booking(
        source=Source.PNR,
        carrier=draw(_pnr_code),
        locator=draw(st.text(_pnr_alnum, min_size=5, max_size=6)),
        created=draw(_pnr_opt_moment.map(lambda m: m.replace(microsecond=0) if m else None)),
        ticketed=draw(st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2069, 12, 31)))),
        travellers=travellers,
        itinerary=legs,
        addresses=draw(st.lists(_pnr_address(["700", "702"]), max_size=2)),
        contacts=draw(
            st.lists(
                st.builds(
                    Contact,
                    kind=st.sampled_from(["phone", "email", "fax", "other"]),
                    value=_pnr_text(20),
                    traveller_ref=ref,
                ),
                max_size=3,
            )
        ),
        payments=draw(
            st.lists(
                st.builds(
                    Payment,
                    form=st.sampled_from(["CC", "CA", "MS"]),
                    card_vendor=st.sampled_from(["", "VI", "AX"]),
                    card_number=st.text("X0123456789", max_size=16),
                    card_expiry=st.sampled_from(["", "0227"]),
                    holder=_pnr_text(),
                    amount=st.sampled_from(["", "100.00", "1999.99"]),
                    currency=st.sampled_from(["", "EUR"]),
                    billing_address=st.one_of(st.none(), _pnr_address(["", "702"])),
                ),
                max_size=2,
            )
        ),
        agency=draw(
            st.one_of(
                st.none(),
                st.builds(
                    Agency,
                    airline=_pnr_code,
                    location=_pnr_opt3,
                    iata_number=st.text("0123456789", max_size=8),
                    agent_id=st.text(_pnr_alnum, max_size=6),
                    country=st.one_of(st.just(""), _pnr_code),
                ),
            )
        ),
        check_ins=draw(
            st.lists(
                st.builds(
                    CheckIn,
                    traveller_ref=ref,
                    leg_index=leg_index,
                    status=st.sampled_from(["", "checked_in", "boarded"]),
                    at=_pnr_opt_moment,
                ),
                max_size=3,
            )
        ),
        split_from=draw(st.lists(st.text(_pnr_alnum, min_size=1, max_size=6), max_size=2)),
        remarks=draw(
            st.lists(
                st.builds(
                    Remark,
                    kind=st.sampled_from(["OSI", "RMK"]),
                    text=_pnr_text(30, min_size=1).filter(_pnr_not_contact),
                    traveller_ref=ref,
                ),
                max_size=3,
            )
        ),
        tickets=draw(
            st.lists(
                st.builds(
                    Ticket,
                    number=st.one_of(st.just(""), _pnr_digits),
                    traveller_ref=ref,
                    issue_date=st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2069, 12, 31))),
                    document_type=st.sampled_from(["", "T", "E"]),
                    one_way=st.sampled_from([None, True, False]),
                    fare_amount=st.sampled_from(["", "94.34", "AWARD"]),
                    fare_currency=st.sampled_from(["", "GBP"]),
                    total_amount=st.sampled_from(["", "100.00"]),
                    fare_calculation=_pnr_text(30),
                ),
                max_size=3,
            )
        ),
        seats=draw(
            st.lists(
                st.builds(
                    Seat,
                    seat=st.text(_pnr_alnum, min_size=1, max_size=3),
                    traveller_ref=ref,
                    leg_index=leg_index,
                    cabin=st.sampled_from(["", "Y", "J"]),
                ),
                max_size=4,
            )
        ),
        bags=draw(
            st.lists(
                st.builds(
                    Bag,
                    traveller_ref=ref,
                    leg_index=leg_index,
                    count=st.one_of(st.none(), st.integers(0, 20)),
                    weight=st.sampled_from(["", "23", "46.5"]),
                    unit=st.sampled_from(["", "700", "701"]),
                    tag_numbers=st.lists(st.text(_pnr_alnum, min_size=1, max_size=10), max_size=3),
                    pool=st.sampled_from(["", "head", "member"]),
                ),
                max_size=3,
            )
        ),
        service_requests=draw(
            st.lists(
                st.builds(
                    ServiceRequest,
                    code=st.text(_pnr_upper, min_size=4, max_size=4).filter(
                        lambda c: c not in ("DOCS", "DOCA", "DOCO", "SEAT")
                    ),
                    status=st.sampled_from(["", "HK", "NN"]),
                    carrier=st.one_of(st.just(""), _pnr_code),
                    text=_pnr_text(30),
                    traveller_ref=ref,
                    leg_index=leg_index,
                ),
                max_size=4,
            )
        ),
        party_size=draw(st.one_of(st.none(), st.integers(1, 9))),
        history=draw(st.lists(st.builds(HistoryEntry, text=_pnr_text(40)), max_size=3)),
        reporting_party=draw(st.one_of(st.just(""), _pnr_code)),
    )
