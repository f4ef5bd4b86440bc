"""The criteria view: the only data pre-determined criteria can see.

Built field by field from a whitelist, so nothing that is sensitive (Art. 13(4)), masked at
6 months (Art. 12(3): names, contacts, payment details, frequent-flyer data, remarks, API
data) or discriminatory (nationality, sex, age: C-817/19 requires criteria that are
non-discriminatory) exists in it. A rule that names such a field fails when it is
validated, because the field is not there: protection by construction, not by review.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import airportsdata

from pnrguard.domain.model import Booking, Leg, Traveller

UTC = dt.UTC

#: The view's shape, documented for rule authors (docs/criteria.md) and used to validate
#: rules: every key a rule may use, with a sample value of the right type.
VIEW_FIELDS: dict[str, dict[str, str]] = {
    "booking": {
        "source": "'PNR' or 'API'",
        "carrier": "two-letter airline code",
        "created": "timestamp of the reservation (UTC), or null",
        "days_booked_before_departure": "int, -1 when unknown",
        "days_ticketed_before_departure": "int, -1 when unknown",
        "traveller_count": "int",
        "party_size": "int (element 17), equals traveller_count when not sent",
        "payment_forms": "list of form-of-payment codes (CA cash, CC card, ...)",
        "one_way": "bool: every ticket is one-way, or the itinerary does not return",
        "agency_country": "country of the travel agency, '' when unknown",
        "agency_id": "IATA number of the agency, '' when unknown",
        "split": "bool: split or divided from another PNR",
        "bag_count": "int, all bags on the booking",
        "leg_count": "int",
        "route": "list of airports in travel order",
        "countries": "list of ISO country codes visited, in travel order",
    },
    "itinerary": {
        "carrier": "marketing carrier",
        "flight": "flight number",
        "origin": "IATA airport",
        "destination": "IATA airport",
        "origin_country": "ISO 3166-1 alpha-2",
        "destination_country": "ISO 3166-1 alpha-2",
        "departure": "timestamp (UTC) or null",
        "booking_class": "fare class letter",
        "status": "segment status code",
        "codeshare": "bool",
    },
    "traveller": {
        "type": "'A' adult, 'C' child, 'IN' infant, 'CREW'",
        "with_infant": "bool",
        "bag_count": "int",
        "checked_in": "bool",
        "has_document": "bool: API data was sent (never its content)",
        "has_frequent_flyer": "bool (never the number)",
    },
}


@lru_cache(maxsize=1)
def _airports() -> dict[str, Any]:
    return dict(airportsdata.load("IATA"))


def airport_country(code: str) -> str:
    info = _airports().get(code)
    return str(info["country"]) if info else ""


def to_utc(local: dt.datetime | None, airport: str) -> dt.datetime | None:
    """Carrier times are local to the airport; criteria compare instants, so convert."""
    if local is None:
        return None
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    info = _airports().get(airport)
    if info and info.get("tz"):
        from zoneinfo import ZoneInfo

        try:
            return local.replace(tzinfo=ZoneInfo(info["tz"])).astimezone(UTC)
        except (KeyError, ValueError):
            pass
    return local.replace(tzinfo=UTC)


def _leg_view(leg: Leg) -> dict[str, Any]:
    return {
        "carrier": leg.carrier,
        "flight": leg.flight_number,
        "origin": leg.origin,
        "destination": leg.destination,
        "origin_country": airport_country(leg.origin),
        "destination_country": airport_country(leg.destination),
        "departure": to_utc(leg.departure, leg.origin),
        "booking_class": leg.booking_class,
        "status": leg.status,
        "codeshare": bool(leg.operating_carrier and leg.operating_carrier != leg.carrier),
    }


def _days_between(earlier: dt.datetime | dt.date | None, later: dt.datetime | None) -> int:
    if earlier is None or later is None:
        return -1
    start = earlier.date() if isinstance(earlier, dt.datetime) else earlier
    return (later.date() - start).days


def booking_view(booking: Booking) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The booking-level part of the view and its itinerary."""
    legs = [_leg_view(leg) for leg in booking.itinerary]
    if not legs and booking.reported_flight is not None:
        legs = [_leg_view(booking.reported_flight)]
    first = booking.itinerary[0] if booking.itinerary else booking.reported_flight
    first_departure = first.departure if first else None
    route: list[str] = []
    for leg in legs:
        for ap in (leg["origin"], leg["destination"]):
            if ap and (not route or route[-1] != ap):
                route.append(ap)
    countries: list[str] = []
    for ap in route:
        c = airport_country(ap)
        if c and (not countries or countries[-1] != c):
            countries.append(c)
    ticket_flags = [t.one_way for t in booking.tickets if t.one_way is not None]
    one_way = all(ticket_flags) if ticket_flags else bool(route) and route[0] != route[-1]
    created = booking.created
    view = {
        "source": booking.source.value,
        "carrier": booking.carrier,
        "created": created.replace(tzinfo=UTC) if created and created.tzinfo is None else created,
        "days_booked_before_departure": _days_between(created, first_departure),
        "days_ticketed_before_departure": _days_between(booking.ticketed, first_departure),
        "traveller_count": len(booking.travellers),
        "party_size": booking.party_size if booking.party_size is not None else len(booking.travellers),
        "payment_forms": sorted({p.form for p in booking.payments if p.form}),
        "one_way": one_way,
        "agency_country": booking.agency.country if booking.agency else "",
        "agency_id": booking.agency.iata_number if booking.agency else "",
        "split": bool(booking.split_from),
        "bag_count": sum(b.count or 0 for b in booking.bags),
        "leg_count": len(legs),
        "route": route,
        "countries": countries,
    }
    return view, legs


def traveller_view(booking: Booking, traveller: Traveller) -> dict[str, Any]:
    ref = traveller.ref
    return {
        "type": traveller.traveller_type.value,
        "with_infant": any(t.accompanied_by_ref == ref for t in booking.travellers if ref),
        "bag_count": sum(b.count or 0 for b in booking.bags if b.traveller_ref == ref),
        "checked_in": any(c.traveller_ref == ref and c.status for c in booking.check_ins),
        "has_document": bool(traveller.documents),
        "has_frequent_flyer": bool(traveller.frequent_flyers),
    }


def criteria_views(booking: Booking) -> list[tuple[str, dict[str, Any]]]:
    """One evaluation context per traveller: (traveller ref, {booking, itinerary, traveller})."""
    bview, legs = booking_view(booking)
    return [
        (t.ref, {"booking": bview, "itinerary": legs, "traveller": traveller_view(booking, t)})
        for t in booking.travellers
    ]


def sample_view() -> dict[str, Any]:
    """A complete view with every field set, for validating rules before they are saved."""
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    leg = {
        "carrier": "XX",
        "flight": "1",
        "origin": "AAA",
        "destination": "BBB",
        "origin_country": "AA",
        "destination_country": "BB",
        "departure": now,
        "booking_class": "Y",
        "status": "HK",
        "codeshare": False,
    }
    booking = {
        "source": "PNR",
        "carrier": "XX",
        "created": now,
        "days_booked_before_departure": 1,
        "days_ticketed_before_departure": 1,
        "traveller_count": 1,
        "party_size": 1,
        "payment_forms": ["CA"],
        "one_way": True,
        "agency_country": "AA",
        "agency_id": "1",
        "split": False,
        "bag_count": 1,
        "leg_count": 1,
        "route": ["AAA", "BBB"],
        "countries": ["AA", "BB"],
    }
    traveller = {
        "type": "A",
        "with_infant": False,
        "bag_count": 1,
        "checked_in": True,
        "has_document": True,
        "has_frequent_flyer": False,
    }
    assert set(booking) == set(VIEW_FIELDS["booking"])
    assert set(leg) == set(VIEW_FIELDS["itinerary"])
    assert set(traveller) == set(VIEW_FIELDS["traveller"])
    return {"booking": booking, "itinerary": [leg], "traveller": traveller}
