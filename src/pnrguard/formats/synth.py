"""Deterministic synthetic carrier traffic: flights, bookings, and the pushes that carry them.

Why: a PIU cannot test or demonstrate with real PNR data, and hand-written fixtures miss what
real traffic does. This generator produces what carriers push under Art. 8 of Directive
2016/681: for every flight a PNRGOV push 24 to 48 hours before departure and a second one at
flight closure (the same bookings as new versions: seats, check-ins, bags and API data
added, some bookings cancelled, some go-shows), plus a PAXLST (API) message at closure.
Bookings carry every Annex I element: names from many cultures romanised as carriers send
them (so apostrophes exercise the EDIFACT release character), groups, infants, split PNRs,
multi-leg itineraries, code-shares, tickets, seats, bag pools, frequent flyers, contacts
(with "+" in phone numbers, another release case), masked payment cards, agencies, DOCS
data, check-in status and history; and, at `sensitive_rate`, the sensitive SSRs and remarks
(religious meals, health) the PIU must delete on arrival (REQUIREMENTS.md section 2).

Determinism is the contract: the output depends only on the arguments. All randomness comes
from `random.Random` instances seeded from `seed` (never the global generator), every date
is derived from `base_date` (never the clock), and each flight has its own generator seeded
from the master one, so flights can be generated lazily and still come out identical.
All names, numbers, e-mail domains (example.com/.net/.org) and card numbers are invented.
"""

# Seeded, non-cryptographic randomness is the point: synthetic data must be reproducible.
# ruff: noqa: S311

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import enum
import math
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

import airportsdata

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
    Source,
    Ticket,
    Traveller,
    TravellerType,
)
from pnrguard.formats.edifact import DEFAULT_DELIMITERS, Delimiters
from pnrguard.formats.paxlst import write_paxlst
from pnrguard.formats.pnrgov import CHECKED_IN, write_pnrgov
from pnrguard.formats.synth_names import (
    COUNTRY_CULTURES,
    CULTURES,
    PersonName,
    masculine_surname,
    random_person,
    romanise,
)

__all__ = [
    "AIRPORTS",
    "CARRIERS",
    "SENSITIVE_REMARKS",
    "SENSITIVE_SSR_CODES",
    "Carrier",
    "Push",
    "PushKind",
    "Traffic",
    "generate",
]

# --- reference data ------------------------------------------------------------------------

#: Busy airports, by IATA code; about half in the EU so every flight can touch a member state.
AIRPORTS: tuple[str, ...] = (
    # EU
    "FRA", "MUC", "BER", "DUS", "HAM", "CDG", "ORY", "NCE", "LYS", "AMS", "BRU", "LUX",
    "DUB", "MAD", "BCN", "PMI", "AGP", "LIS", "OPO", "FCO", "MXP", "VCE", "ATH", "HER",
    "VIE", "WAW", "KRK", "PRG", "BUD", "CPH", "ARN", "HEL", "OTP", "SOF", "LCA", "MLA",
    # elsewhere
    "LHR", "LGW", "MAN", "ZRH", "GVA", "OSL", "IST", "SAW", "DXB", "DOH", "AUH", "JED",
    "RUH", "CAI", "CMN", "TLV", "AMM", "DEL", "BOM", "BLR", "PEK", "PVG", "CAN", "HKG",
    "SIN", "BKK", "NRT", "HND", "ICN", "SGN", "HAN", "LOS", "ABV", "NBO", "ADD", "JNB",
    "JFK", "EWR", "ORD", "ATL", "LAX", "MIA", "IAD", "YYZ", "YUL", "MEX", "GRU", "EZE",
    "BOG", "SYD",
)  # fmt: skip

EU_COUNTRIES: frozenset[str] = frozenset(
    ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
     "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Carrier:
    """An airline as the generator needs it: code, ticketing prefix, home, alliance."""

    code: str
    ticket_prefix: str
    country: str  # ISO 3166-1 alpha-2
    alliance: str = ""  # star, oneworld, skyteam or ""


CARRIERS: tuple[Carrier, ...] = tuple(
    Carrier(code, prefix, country, alliance)
    for code, prefix, country, alliance in (
        ("LH", "220", "DE", "star"), ("AF", "057", "FR", "skyteam"), ("KL", "074", "NL", "skyteam"),
        ("BA", "125", "GB", "oneworld"), ("IB", "075", "ES", "oneworld"), ("AZ", "055", "IT", "skyteam"),
        ("LX", "724", "CH", "star"), ("OS", "257", "AT", "star"), ("SN", "082", "BE", "star"),
        ("SK", "117", "DK", "star"), ("AY", "105", "FI", "oneworld"), ("TP", "047", "PT", "star"),
        ("EI", "053", "IE", ""), ("LO", "080", "PL", "star"), ("A3", "390", "GR", "star"),
        ("RO", "281", "RO", "skyteam"), ("TK", "235", "TR", "star"), ("EK", "176", "AE", ""),
        ("QR", "157", "QA", "oneworld"), ("EY", "607", "AE", ""), ("SV", "065", "SA", "skyteam"),
        ("MS", "077", "EG", "star"), ("AT", "147", "MA", "oneworld"), ("RJ", "512", "JO", "oneworld"),
        ("LY", "114", "IL", ""), ("AI", "098", "IN", "star"), ("CA", "999", "CN", "star"),
        ("MU", "781", "CN", "skyteam"), ("CX", "160", "HK", "oneworld"), ("SQ", "618", "SG", "star"),
        ("TG", "217", "TH", "star"), ("JL", "131", "JP", "oneworld"), ("NH", "205", "JP", "star"),
        ("KE", "180", "KR", "skyteam"), ("OZ", "988", "KR", "star"), ("VN", "738", "VN", "skyteam"),
        ("ET", "071", "ET", "star"), ("KQ", "706", "KE", "skyteam"), ("SA", "083", "ZA", "star"),
        ("AA", "001", "US", "oneworld"), ("DL", "006", "US", "skyteam"), ("UA", "016", "US", "star"),
        ("AC", "014", "CA", "star"), ("AM", "139", "MX", "skyteam"), ("LA", "045", "BR", ""),
        ("AV", "134", "CO", "star"), ("QF", "081", "AU", "oneworld"), ("W6", "", "HU", ""),
    )
)  # fmt: skip

#: Sensitive special service requests (religious meals, health and assistance) that the PIU
#: must delete on arrival (Art. 13(4)); the generator plants them so deletion is tested.
SENSITIVE_SSR_CODES: tuple[str, ...] = ("MOML", "KSML", "HNML", "WCHR", "MEDA", "BLND", "DEAF")
_SENSITIVE_SSR_TEXT = {
    "MOML": "MUSLIM MEAL", "KSML": "KOSHER MEAL", "HNML": "HINDU MEAL",
    "WCHR": "WHEELCHAIR TO AIRCRAFT DOOR", "MEDA": "MEDICAL CASE OXYGEN REQUIRED",
    "BLND": "BLIND PASSENGER WITH GUIDE", "DEAF": "DEAF PASSENGER",
}  # fmt: skip
SENSITIVE_REMARKS: tuple[str, ...] = (
    "PAX REQUIRES WHEELCHAIR AT GATE",
    "HALAL MEAL REQUESTED",
    "KOSHER MEAL PLEASE CONFIRM",
    "PAX IS DIABETIC CARRIES INSULIN",
    "PAX PREGNANT 30 WEEKS MEDIF ON FILE",
    "PAX TRAVELS WITH GUIDE DOG",
)
_PLAIN_REMARKS: tuple[str, ...] = (
    "FARE GUARANTEED AT TIME OF TICKETING",
    "PAX REQUESTS AISLE SEAT",
    "RECONFIRMED BY PHONE",
    "CORPORATE BOOKING POLICY 7",
    "TKT TL 48 HRS BEFORE DEPARTURE",
    "PAX CONTACTED RE SCHEDULE CHANGE",
    "NAME CORRECTION DONE PER PASSPORT",
)
_PLAIN_SSRS: tuple[tuple[str, str], ...] = (
    ("PETC", "PET IN CABIN CAT 6KG"),
    ("SPEQ", "GOLF EQUIPMENT"),
    ("BIKE", "BICYCLE BOXED"),
    ("XBAG", "EXTRA BAG PREPAID"),
    ("OTHS", "ADV TKT NUMBER BY 48HRS OR WILL CANCEL"),
)
_GROUP_NAMES: tuple[str, ...] = (
    "ALPINE SKI CLUB", "ST MARY'S CHOIR", "GREEN VALLEY FC", "TECHCONF DELEGATION",
    "SUNRISE TOURS", "UNIVERSITY EXCHANGE", "O'NEILL WEDDING PARTY", "HERITAGE TOURS", "ROTARY CLUB",
)  # fmt: skip
_STREETS: tuple[str, ...] = (
    "MAIN STREET", "STATION ROAD", "HAUPTSTRASSE", "RUE DE LA PAIX", "CALLE MAYOR",
    "VIA ROMA", "KERKSTRAAT", "ULICA DLUGA", "HIGH STREET", "PARK AVENUE",
)  # fmt: skip
_PIU_VERSIONS: tuple[str, ...] = ("13.1",)

_LOCATOR_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "01IO")
_SEAT_LETTERS_NARROW = "ABCDEF"
_SEAT_LETTERS_WIDE = "ABCDEFGHJK"
_BOOKING_CLASSES = "YBMHKLQVTSNGW"
_PREMIUM_CLASSES = "JCDZ"
_SHORT_HAUL = ("320", "321", "319", "32N", "738", "E90", "73H", "223")
_LONG_HAUL = ("789", "359", "77W", "333", "388", "788", "351")


@cache
def _airports() -> dict[str, dict[str, object]]:
    data = airportsdata.load("IATA")
    return {code: dict(data[code]) for code in AIRPORTS}


def _country(code: str) -> str:
    return str(_airports()[code]["country"])


def _distance_km(a: str, b: str) -> float:
    pa, pb = _airports()[a], _airports()[b]
    lat1, lon1 = math.radians(float(str(pa["lat"]))), math.radians(float(str(pa["lon"])))
    lat2, lon2 = math.radians(float(str(pb["lat"]))), math.radians(float(str(pb["lon"])))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _arrival(origin: str, destination: str, departure: dt.datetime) -> dt.datetime:
    """Local arrival time: block time from great-circle distance, converted between zones."""
    minutes = int(_distance_km(origin, destination) / 820 * 60 + 35)
    minutes -= minutes % 5
    dep_utc = departure.replace(tzinfo=ZoneInfo(str(_airports()[origin]["tz"])))
    arr = dep_utc + dt.timedelta(minutes=minutes)
    return arr.astimezone(ZoneInfo(str(_airports()[destination]["tz"]))).replace(tzinfo=None)


# --- public types --------------------------------------------------------------------------


class PushKind(enum.StrEnum):
    """When a carrier pushes (Art. 8(3)): 24-48 h before departure, and at flight closure."""

    INITIAL = "initial"
    CLOSURE = "closure"


@dataclass(slots=True)
class Push:
    """One push of one flight: the bookings (as generated) and the messages that carry them.

    `bookings` are the model objects the PNRGOV text was written from, so a reader test can
    compare what it reads with what was sent. `paxlst` is None for initial pushes: API data
    is sent when check-in closes.
    """

    flight: Leg
    kind: PushKind
    bookings: list[Booking]
    prepared: dt.datetime
    sender: str
    recipient: str
    control_ref: str
    pnrgov: str
    pnrgov_filename: str
    paxlst: str | None = None
    paxlst_filename: str | None = None
    paxlst_bookings: list[Booking] = field(default_factory=list)

    @property
    def travellers(self) -> int:
        return sum(len(b.travellers) for b in self.bookings)


@dataclass(frozen=True, slots=True)
class _FlightPlan:
    leg: Leg
    carrier: Carrier
    recipient: str
    passengers: int
    seed: int
    index: int
    delimiters: Delimiters
    version: str


class Traffic:
    """The pushes of `flights` flights, generated lazily and identically on every iteration.

    Iterating yields, for each flight in schedule order, its initial push then its closure
    push. `flights` lists the reported flights up front (cheap); bookings and messages are
    built when a flight is reached, so a 10 MB batch never sits in memory twice.
    """

    def __init__(
        self,
        seed: int,
        plans: Sequence[_FlightPlan],
        base_date: dt.date,
        sensitive_rate: float,
    ) -> None:
        self.seed = seed
        self.base_date = base_date
        self.sensitive_rate = sensitive_rate
        self._plans = tuple(plans)

    @property
    def flights(self) -> list[Leg]:
        return [copy.copy(p.leg) for p in self._plans]

    def __len__(self) -> int:
        return 2 * len(self._plans)

    def __iter__(self) -> Iterator[Push]:
        for plan in self._plans:
            yield from _FlightGenerator(plan, self.sensitive_rate).pushes()


# --- the generator -------------------------------------------------------------------------


def generate(
    seed: int,
    *,
    flights: int,
    passengers_per_flight: tuple[int, int] | int = (80, 300),
    base_date: dt.date,
    sensitive_rate: float = 0.05,
    piu_country: str | None = None,
) -> Traffic:
    """Synthetic traffic of `flights` flights departing on `base_date` or the two days after.

    Every flight touches the EU (or `piu_country`, ISO alpha-2, when given); the recipient
    of each push is that country's PIU ("PIU" + country code). `sensitive_rate` is the
    share of bookings carrying at least one sensitive SSR or remark.
    """
    if flights < 0:
        raise ValueError("flights must be >= 0")
    if not 0.0 <= sensitive_rate <= 1.0:
        raise ValueError("sensitive_rate must be between 0 and 1")
    low, high = (
        (passengers_per_flight, passengers_per_flight)
        if isinstance(passengers_per_flight, int)
        else passengers_per_flight
    )
    if low < 1 or high < low:
        raise ValueError("passengers_per_flight must be >= 1 and low <= high")
    home = [
        a for a in AIRPORTS if (_country(a) == piu_country if piu_country else _country(a) in EU_COUNTRIES)
    ]
    if not home:
        raise ValueError(f"no airport of {piu_country!r} in the synthetic airport list")
    rng = random.Random(seed)
    plans: list[_FlightPlan] = []
    used_numbers: set[tuple[str, str]] = set()
    for index in range(flights):
        a = rng.choice(home)
        b = rng.choice([x for x in AIRPORTS if x != a and _country(x) != _country(a)])
        origin, destination = (a, b) if rng.random() < 0.5 else (b, a)
        carrier = _pick_carrier(rng, origin, destination)
        number = _flight_number(rng, carrier, origin, destination, used_numbers)
        day = base_date + dt.timedelta(days=rng.randint(0, 2))
        departure = dt.datetime.combine(day, dt.time(rng.randint(6, 22), rng.choice(range(0, 60, 5))))
        long_haul = _distance_km(origin, destination) > 3500
        leg = Leg(
            carrier=carrier.code,
            flight_number=number,
            origin=origin,
            destination=destination,
            departure=departure,
            arrival=_arrival(origin, destination, departure),
            equipment=rng.choice(_LONG_HAUL if long_haul else _SHORT_HAUL),
        )
        recipient_country = piu_country if piu_country else _country(a)
        # Most carriers use the default service characters; a few send unusual ones, which
        # REQUIREMENTS.md section 9 says real traffic does (and which releases must survive).
        delims = DEFAULT_DELIMITERS if rng.random() < 0.85 else Delimiters(":", "+", ".", "?", " ", "*")
        plans.append(
            _FlightPlan(
                leg=leg,
                carrier=carrier,
                recipient=f"PIU{recipient_country}",
                passengers=rng.randint(low, high),
                seed=rng.getrandbits(64),
                index=index,
                delimiters=delims,
                version=rng.choice(_PIU_VERSIONS),
            )
        )
    plans.sort(key=lambda p: (p.leg.departure or dt.datetime.min, p.index))
    return Traffic(seed, plans, base_date, sensitive_rate)


def _pick_carrier(rng: random.Random, origin: str, destination: str) -> Carrier:
    countries = {_country(origin), _country(destination)}
    home = [c for c in CARRIERS if c.country in countries]
    if home and rng.random() < 0.85:
        return rng.choice(home)
    return rng.choice(CARRIERS)


def _flight_number(
    rng: random.Random, carrier: Carrier, origin: str, destination: str, used: set[tuple[str, str]]
) -> str:
    long_haul = _distance_km(origin, destination) > 3500
    for _ in range(1000):
        number = str(rng.randint(1, 999) if long_haul else rng.randint(100, 9999))
        if (carrier.code, number) not in used:
            used.add((carrier.code, number))
            return number
    raise RuntimeError("flight numbers exhausted")  # pragma: no cover - 9,900 numbers a carrier


def _partners(carrier: Carrier) -> list[Carrier]:
    if not carrier.alliance:
        return []
    return [c for c in CARRIERS if c.alliance == carrier.alliance and c.code != carrier.code]


@dataclass(slots=True)
class _Draft:
    """A booking being built, with what the closure push needs to know about it."""

    booking: Booking
    leg_index: int  # index of the reported flight in the itinerary
    cancelled_before_closure: bool = False
    go_show: bool = False  # created after the initial push
    no_show_refs: set[str] = field(default_factory=set)


class _FlightGenerator:
    """Builds one flight's bookings and its two pushes from the flight's own seed."""

    def __init__(self, plan: _FlightPlan, sensitive_rate: float) -> None:
        self.plan = plan
        self.leg = plan.leg
        self.rng = random.Random(plan.seed)
        self.sensitive_rate = sensitive_rate
        self.locators: set[str] = set()
        departure = plan.leg.departure
        assert departure is not None
        self.departure = departure
        self.initial_at = departure - dt.timedelta(minutes=self.rng.randint(24 * 60, 48 * 60 - 5))
        self.initial_at = self.initial_at.replace(second=0, microsecond=0)
        self.closure_at = departure - dt.timedelta(minutes=self.rng.randint(0, 15))
        self.currency = self._currency(plan.leg.origin)
        self.codeshares = self._codeshares()
        self.cultures = self._culture_pool()
        self.seats_taken: set[str] = set()
        self.bag_serial = self.rng.randint(100000, 800000)

    # -- flight-level choices --

    def _currency(self, airport: str) -> str:
        country = _country(airport)
        if country in EU_COUNTRIES:
            return "EUR"
        return {"GB": "GBP", "CH": "CHF", "US": "USD", "JP": "JPY", "CA": "CAD", "AE": "AED"}.get(
            country, "USD"
        )

    def _codeshares(self) -> list[tuple[Carrier, str]]:
        partners = _partners(self.plan.carrier)
        self.rng.shuffle(partners)
        count = self.rng.choice((0, 0, 1, 2, 3))
        return [(p, str(self.rng.randint(1000, 9899))) for p in partners[:count]]

    def _culture_pool(self) -> list[str]:
        """Cultures weighted by the two countries the flight touches, plus a world mix."""
        pool: list[str] = []
        for airport in (self.leg.origin, self.leg.destination):
            for key in COUNTRY_CULTURES.get(_country(airport), ()):
                pool.extend([key] * 4)
        pool.extend(sorted(CULTURES))
        return pool

    # -- small generators --

    def _locator(self) -> str:
        while True:
            loc = "".join(self.rng.choice(_LOCATOR_ALPHABET) for _ in range(6))
            if loc not in self.locators:
                self.locators.add(loc)
                return loc

    def _seat(self) -> str:
        wide = self.leg.equipment in _LONG_HAUL
        rows = 60 if wide else 32
        letters = _SEAT_LETTERS_WIDE if wide else _SEAT_LETTERS_NARROW
        for _ in range(200):
            seat = f"{self.rng.randint(1, rows)}{self.rng.choice(letters)}"
            if seat not in self.seats_taken:
                self.seats_taken.add(seat)
                return seat
        return f"{rows + 1}{self.rng.choice(letters)}"  # an overflow row, still plausible text

    def _document_number(self, nationality: str) -> str:
        r = self.rng
        if nationality == "DEU":
            return "C" + "".join(r.choice("CFGHJKLMNPRTVWXYZ0123456789") for _ in range(8))
        if nationality in ("GBR", "USA", "IRL"):
            return "".join(r.choice(string.digits) for _ in range(9))
        if nationality == "FRA":
            letters = r.choice(string.ascii_uppercase) + r.choice(string.ascii_uppercase)
            return f"{r.randint(10, 99)}{letters}{r.randint(10000, 99999)}"
        return "".join(r.choice(string.ascii_uppercase) for _ in range(2)) + str(r.randint(1000000, 9999999))

    def _dob(self, kind: TravellerType, *, parent: bool = False) -> dt.date:
        today = self.departure.date()
        if kind is TravellerType.INFANT:
            days = self.rng.randint(30, 700)
        elif kind is TravellerType.CHILD:
            days = self.rng.randint(2 * 366, 11 * 365)
        elif parent:
            days = self.rng.randint(26 * 366, 55 * 365)
        else:
            days = self.rng.randint(18 * 366, 82 * 365)
        return today - dt.timedelta(days=days)

    def _traveller(
        self, ref: str, person: PersonName, kind: TravellerType, *, parent: bool = False
    ) -> Traveller:
        dob = self._dob(kind, parent=parent)
        doc = Document(
            doc_type="P" if self.rng.random() < 0.85 else "I",
            number=self._document_number(person.nationality),
            issuing_country=person.nationality,
            expiry=self.departure.date() + dt.timedelta(days=self.rng.randint(60, 10 * 365)),
            nationality=person.nationality,
            surname=person.surname,
            given_names=person.given_names,
            gender=person.gender,
            date_of_birth=dob,
        )
        traveller = Traveller(
            ref=ref,
            surname=person.surname,
            given_names=person.given_names,
            traveller_type=kind,
            gender=person.gender,
            date_of_birth=dob,
            nationality=person.nationality,
        )
        traveller.documents.append(doc)
        if kind is TravellerType.ADULT and self.rng.random() < 0.25:
            airline = self.rng.choice([self.plan.carrier, *_partners(self.plan.carrier)])
            traveller.frequent_flyers.append(
                FrequentFlyer(
                    airline=airline.code,
                    number=str(self.rng.randint(10**11, 10**12 - 1)),
                    tier=self.rng.choice(("", "", "SEN", "HON", "FTL", "GLD", "SLV")),
                )
            )
        return traveller

    # -- a booking --

    def _people(self) -> tuple[list[tuple[PersonName, TravellerType]], str]:
        """Who travels together: single, couple, family (shared surname) or a group."""
        r = self.rng
        culture = r.choice(self.cultures)
        roll = r.random()
        if roll < 0.55:
            return [(random_person(r, culture), TravellerType.ADULT)], ""
        if roll < 0.80:
            head = random_person(r, culture)
            family = masculine_surname(head)
            size = r.choice((2, 2, 2, 3, 3, 4, 5))
            people = [(head, TravellerType.ADULT)]
            if size >= 2:
                spouse_gender = "F" if head.gender == "M" else "M"
                people.append((random_person(r, culture, spouse_gender, surname=family), TravellerType.ADULT))
            given = {head.given_names}
            for _ in range(size - 2):
                child = random_person(r, culture, surname=family)
                if child.given_names in given:  # parents rarely give a child their own name
                    child = random_person(r, culture, surname=family)
                given.add(child.given_names)
                people.append((child, TravellerType.CHILD))
            # a family usually travels on one nationality
            people = [(dataclasses.replace(p, nationality=head.nationality), k) for p, k in people]
            return people, ""
        if roll < 0.95:
            return [
                (random_person(r, r.choice(self.cultures)), TravellerType.ADULT)
                for _ in range(r.randint(2, 4))
            ], ""
        # a group booking: up to 9 names, with a group name
        size = r.randint(6, 9)
        return [(random_person(r, culture), TravellerType.ADULT) for _ in range(size)], r.choice(_GROUP_NAMES)

    def _itinerary(self) -> tuple[list[Leg], int, bool]:
        """The booking's legs, the index of the reported flight, and whether it is one-way."""
        r = self.rng
        flight = self.leg
        marketed = copy.copy(flight)
        if self.codeshares and r.random() < 0.25:
            partner, number = r.choice(self.codeshares)
            marketed.carrier, marketed.flight_number = partner.code, number
            marketed.operating_carrier, marketed.operating_flight_number = (
                flight.carrier,
                flight.flight_number,
            )
        legs = [marketed]
        index = 0
        if r.random() < 0.25:  # a connection before or after, on the same carrier
            hub = flight.origin if r.random() < 0.5 else flight.destination
            other = r.choice([a for a in AIRPORTS if a not in (flight.origin, flight.destination)])
            if hub == flight.origin:
                dep = self.departure - dt.timedelta(hours=r.randint(2, 5)) - self._block(other, hub)
                dep = dep.replace(minute=dep.minute - dep.minute % 5, second=0)
                legs.insert(0, self._leg(other, hub, dep))
                index = 1
            else:
                arr = flight.arrival or self.departure
                dep = arr + dt.timedelta(hours=r.randint(1, 4))
                dep = dep.replace(minute=dep.minute - dep.minute % 5, second=0)
                legs.append(self._leg(hub, other, dep))
        one_way = r.random() < 0.45
        if not one_way:
            back = dt.timedelta(days=r.randint(2, 21))
            for leg in reversed(list(legs)):
                assert leg.departure is not None
                dep = leg.departure + back
                legs.append(self._leg(leg.destination, leg.origin, dep))
        booking_class = r.choice(_PREMIUM_CLASSES if r.random() < 0.12 else _BOOKING_CLASSES)
        for leg in legs:
            leg.booking_class = booking_class
            leg.status = "HK"
        return legs, index, one_way

    def _block(self, a: str, b: str) -> dt.timedelta:
        return dt.timedelta(minutes=int(_distance_km(a, b) / 820 * 60 + 35))

    def _leg(self, origin: str, destination: str, departure: dt.datetime) -> Leg:
        carrier = self.plan.carrier.code
        long_haul = _distance_km(origin, destination) > 3500
        return Leg(
            carrier=carrier,
            flight_number=str(self.rng.randint(100, 9999)),
            origin=origin,
            destination=destination,
            departure=departure,
            arrival=_arrival(origin, destination, departure),
            equipment=self.rng.choice(_LONG_HAUL if long_haul else _SHORT_HAUL),
        )

    def _booking(self, created: dt.datetime) -> _Draft:
        r = self.rng
        people, group_name = self._people()
        travellers: list[Traveller] = []
        has_children = any(kind is TravellerType.CHILD for _, kind in people)
        for i, (person, kind) in enumerate(people, start=1):
            travellers.append(self._traveller(str(i), person, kind, parent=has_children))
        # an infant on an adult's lap, when there is room on the PNR (9 names at most)
        adults = [t for t in travellers if t.traveller_type is TravellerType.ADULT]
        if adults and len(travellers) < 9 and r.random() < 0.05:
            parent = r.choice(adults)
            culture = next(p.culture for p, _ in people if p.surname == parent.surname)
            base = next(p for p, _ in people if p.surname == parent.surname)
            baby = random_person(r, culture, surname=masculine_surname(base))
            baby = dataclasses.replace(baby, nationality=parent.nationality)
            infant = self._traveller(str(len(travellers) + 1), baby, TravellerType.INFANT)
            infant.accompanied_by_ref = parent.ref
            travellers.append(infant)
        seated = [t for t in travellers if t.traveller_type is not TravellerType.INFANT]
        legs, leg_index, one_way = self._itinerary()
        for leg in legs:
            leg.party_size = len(seated)
        ticketed = (created + dt.timedelta(hours=r.randint(0, 72))).date()
        ticketed = min(ticketed, self.initial_at.date())
        booking = Booking(
            source=Source.PNR,
            carrier=self.plan.carrier.code,
            locator=self._locator(),
            created=created,
            ticketed=ticketed if r.random() < 0.95 else None,
            reported_flight=copy.copy(self.leg),
            travellers=travellers,
            itinerary=legs,
            party_size=len(travellers),
            reporting_party=self.plan.carrier.code,
        )
        if group_name:
            booking.remarks.append(Remark(kind="RMK", text=f"GROUP {group_name}"))
        self._contacts(booking)
        self._tickets(booking, one_way)
        self._payment(booking)
        self._agency(booking)
        self._requests(booking, leg_index)
        if r.random() < 0.3:  # some seats chosen at booking time
            for t in seated:
                booking.seats.append(Seat(seat=self._seat(), traveller_ref=t.ref, leg_index=leg_index))
        booking.history.append(
            HistoryEntry(
                f"CREATED {created:%d%b%y %H%M}".upper()
                + f" {booking.agency.location if booking.agency else ''}".rstrip()
            )
        )
        if booking.ticketed:
            booking.history.append(HistoryEntry(f"TKT ISSUED {booking.ticketed:%d%b%y}".upper()))
        # travellers without API data yet: the carrier collects it at check-in
        for t in travellers:
            if r.random() < 0.35:
                t.documents.clear()
        return _Draft(booking, leg_index)

    def _contacts(self, booking: Booking) -> None:
        r = self.rng
        lead = booking.travellers[0]
        country_code = r.choice(
            ("+49", "+33", "+31", "+353", "+34", "+39", "+30", "+48", "+1", "+44", "+971", "+86")
        )
        booking.contacts.append(
            Contact(
                kind="phone",
                value=f"{country_code} {r.randint(100, 999)} {r.randint(1000000, 9999999)}",
                traveller_ref=lead.ref,
            )
        )
        if r.random() < 0.8:
            local = f"{lead.given_names.split(' ')[0]}.{lead.surname}".replace(" ", "").replace("'", "")
            domain = r.choice(("EXAMPLE.COM", "EXAMPLE.NET", "EXAMPLE.ORG"))
            booking.contacts.append(Contact(kind="email", value=f"{local}@{domain}", traveller_ref=lead.ref))
        if r.random() < 0.3:
            origin_city = str(_airports()[self.leg.origin]["city"])
            booking.addresses.append(
                Address(
                    kind="700",
                    street=f"{r.randint(1, 250)} {r.choice(_STREETS)}",
                    city=_ascii_upper(origin_city),
                    postal_code=str(r.randint(10000, 99999)),
                    country=_country(self.leg.origin),
                )
            )

    def _fare(self) -> int:
        assert self.leg.departure is not None
        km = _distance_km(self.leg.origin, self.leg.destination)
        return int(km * self.rng.uniform(0.06, 0.25)) + 49

    def _tickets(self, booking: Booking, one_way: bool) -> None:
        if booking.ticketed is None:
            return
        prefix = self.plan.carrier.ticket_prefix
        if not prefix:  # a low-cost carrier: no IATA tickets, only the booking
            return
        for t in booking.travellers:
            base = self._fare() // (10 if t.traveller_type is TravellerType.INFANT else 1)
            total = base + self.rng.randint(20, 180)
            legs = booking.itinerary
            calc = " ".join(f"{leg.origin} {leg.carrier}" for leg in legs) + f" {legs[-1].destination}"
            booking.tickets.append(
                Ticket(
                    number=prefix + str(self.rng.randint(10**9, 10**10 - 1)),
                    traveller_ref=t.ref,
                    issue_date=booking.ticketed,
                    document_type="T",
                    one_way=one_way,
                    fare_amount=f"{base}.00",
                    fare_currency=self.currency,
                    total_amount=f"{total}.00",
                    fare_calculation=f"{calc} {base}.00END",
                )
            )

    def _payment(self, booking: Booking) -> None:
        r = self.rng
        total = sum(int(float(t.total_amount)) for t in booking.tickets if t.total_amount)
        lead = booking.travellers[0]
        roll = r.random()
        if roll < 0.75:
            payment = Payment(
                form="CC",
                card_vendor=r.choice(("VI", "CA", "AX", "DC", "TP")),
                card_number="X" * 12 + f"{r.randint(0, 9999):04d}",
                card_expiry=f"{r.randint(1, 12):02d}{(self.departure.year + r.randint(0, 5)) % 100:02d}",
                holder=f"{lead.surname}/{lead.given_names}",
                amount=f"{total}.00" if total else "",
                currency=self.currency,
            )
            if r.random() < 0.4:
                payment.billing_address = Address(
                    kind="702",
                    street=f"{r.randint(1, 250)} {r.choice(_STREETS)}",
                    city=_ascii_upper(str(_airports()[self.leg.origin]["city"])),
                    postal_code=str(r.randint(10000, 99999)),
                    country=_country(self.leg.origin),
                )
        elif roll < 0.85:
            payment = Payment(form="CA", amount=f"{total}.00" if total else "", currency=self.currency)
        else:
            payment = Payment(form="MS", amount=f"{total}.00" if total else "", currency=self.currency)
        booking.payments.append(payment)

    def _agency(self, booking: Booking) -> None:
        r = self.rng
        city = self.leg.origin
        if r.random() < 0.5:
            booking.agency = Agency(
                location=city,
                iata_number=str(r.randint(10_000_000, 99_999_999)),
                agent_id=f"{r.randint(1000, 9999)}{r.choice(string.ascii_uppercase)}{r.choice('ABC')}",
                country=_country(city),
            )
        else:
            booking.agency = Agency(
                airline=self.plan.carrier.code, location=city, agent_id="WEB", country=_country(city)
            )

    def _requests(self, booking: Booking, leg_index: int) -> None:
        r = self.rng
        carrier = self.plan.carrier.code
        if r.random() < 0.15:
            code, text = r.choice(_PLAIN_SSRS)
            ref = r.choice(booking.travellers).ref
            booking.service_requests.append(
                ServiceRequest(
                    code=code, status="HK", carrier=carrier, text=text, traveller_ref=ref, leg_index=leg_index
                )
            )
        if r.random() < 0.25:
            booking.remarks.append(Remark(kind=r.choice(("RMK", "OSI")), text=r.choice(_PLAIN_REMARKS)))
        if r.random() < self.sensitive_rate:
            # at least one sensitive item; half the time both an SSR and a free-text remark
            t = r.choice(booking.travellers)
            if r.random() < 0.7:
                code = r.choice(SENSITIVE_SSR_CODES)
                booking.service_requests.append(
                    ServiceRequest(
                        code=code,
                        status="HK",
                        carrier=carrier,
                        text=_SENSITIVE_SSR_TEXT[code],
                        traveller_ref=t.ref,
                        leg_index=leg_index,
                    )
                )
                if r.random() < 0.5:
                    booking.remarks.append(
                        Remark(kind="RMK", text=r.choice(SENSITIVE_REMARKS), traveller_ref=t.ref)
                    )
            else:
                booking.remarks.append(
                    Remark(kind="RMK", text=r.choice(SENSITIVE_REMARKS), traveller_ref=t.ref)
                )

    # -- closure --

    def _close(self, draft: _Draft) -> Booking:
        """The closure version of a booking: check-in, seats, bags, API data, history."""
        r = self.rng
        booking = copy.deepcopy(draft.booking)
        idx = draft.leg_index
        seated = [t for t in booking.travellers if t.traveller_type is not TravellerType.INFANT]
        no_show = r.random() < 0.03
        have_seat = {s.traveller_ref for s in booking.seats if s.leg_index == idx}
        for t in booking.travellers:
            if not t.documents:  # API data is collected at check-in
                t.documents.append(
                    Document(
                        doc_type="P",
                        number=self._document_number(t.nationality),
                        issuing_country=t.nationality,
                        expiry=self.departure.date() + dt.timedelta(days=r.randint(60, 3650)),
                        nationality=t.nationality,
                        surname=t.surname,
                        given_names=t.given_names,
                        gender=t.gender,
                        date_of_birth=t.date_of_birth,
                    )
                )
            if no_show:  # PNRGOV carries check-in times only: a no-show has none at closure
                draft.no_show_refs.add(t.ref)
                continue
            at = self.departure - dt.timedelta(minutes=r.randint(45, 24 * 60))
            booking.check_ins.append(CheckIn(traveller_ref=t.ref, leg_index=idx, status=CHECKED_IN, at=at))
            if t in seated and t.ref not in have_seat:
                booking.seats.append(Seat(seat=self._seat(), traveller_ref=t.ref, leg_index=idx))
        if not no_show:
            self._bags(booking, idx)
            booking.history.append(
                HistoryEntry(f"CHECKED IN {self.leg.carrier}{self.leg.flight_number} {self.leg.origin}")
            )
        else:
            booking.history.append(HistoryEntry(f"NO SHOW {self.leg.carrier}{self.leg.flight_number}"))
        if booking.ticketed is None and r.random() < 0.5:  # ticketed between pushes
            booking.ticketed = self.initial_at.date()
            self._tickets(booking, len(booking.itinerary) == 1)
        return booking

    def _bags(self, booking: Booking, idx: int) -> None:
        r = self.rng
        checking = [
            t for t in booking.travellers if t.traveller_type is not TravellerType.INFANT and r.random() < 0.6
        ]
        if not checking:
            return
        prefix = self.plan.carrier.ticket_prefix or "999"

        def tags(n: int) -> list[str]:
            out = []
            for _ in range(n):
                self.bag_serial += 1
                out.append(f"0{prefix}{self.bag_serial:06d}")
            return out

        if len(checking) >= 2 and r.random() < 0.5:  # pooled: the head carries the pool
            counts = [r.randint(1, 2) for _ in checking]
            head, *members = checking
            weight = sum(r.randint(8, 23) for _ in range(sum(counts)))
            booking.bags.append(
                Bag(
                    traveller_ref=head.ref,
                    leg_index=idx,
                    count=sum(counts),
                    weight=str(weight),
                    unit="K",
                    tag_numbers=tags(sum(counts)),
                    pool="head",
                )
            )
            for m in members:
                booking.bags.append(Bag(traveller_ref=m.ref, leg_index=idx, pool="member"))
            return
        for t in checking:
            n = r.randint(1, 2)
            weight = sum(r.randint(8, 23) for _ in range(n))
            booking.bags.append(
                Bag(
                    traveller_ref=t.ref,
                    leg_index=idx,
                    count=n,
                    weight=str(weight),
                    unit="K",
                    tag_numbers=tags(n),
                )
            )

    # -- the pushes --

    def _drafts(self) -> list[_Draft]:
        r = self.rng
        drafts: list[_Draft] = []
        travellers = 0
        while travellers < self.plan.passengers:
            # most bookings are made weeks ahead; a few after the initial push (go-shows
            # and last-minute bookings) appear only in the closure push
            if r.random() < 0.05:
                minutes = r.randint(30, int((self.initial_at - self.departure).total_seconds() / -60) - 5)
                created = self.departure - dt.timedelta(minutes=minutes)
                go_show = True
            else:
                created = self.initial_at - dt.timedelta(minutes=r.randint(60, 120 * 24 * 60))
                go_show = False
            created = created.replace(second=0, microsecond=0)
            draft = self._booking(created)
            draft.go_show = go_show
            draft.cancelled_before_closure = not go_show and r.random() < 0.03
            travellers += len(draft.booking.travellers)
            drafts.append(draft)
        # split PNRs: a traveller split off into a booking of their own keeps the parent's
        # locator (element 11); here a few bookings point at another booking of the flight
        for draft in drafts:
            if len(drafts) > 1 and r.random() < 0.02:
                parent = r.choice([d for d in drafts if d is not draft])
                draft.booking.split_from.append(parent.booking.locator)
                draft.booking.history.append(HistoryEntry(f"SPLIT FROM {parent.booking.locator}"))
        drafts.sort(key=lambda d: (d.booking.created or dt.datetime.min, d.booking.locator))
        return drafts

    def pushes(self) -> Iterator[Push]:
        plan = self.plan
        drafts = self._drafts()
        initial = [d.booking for d in drafts if not d.go_show]
        closure = [self._close(d) for d in drafts if not d.cancelled_before_closure]
        stem = (
            f"{self.departure:%Y%m%d}-{plan.leg.carrier}{plan.leg.flight_number:0>4}"
            f"-{plan.leg.origin}{plan.leg.destination}"
        )
        for kind, bookings, prepared in (
            (PushKind.INITIAL, initial, self.initial_at),
            (PushKind.CLOSURE, closure, self.closure_at),
        ):
            control_ref = (
                f"{plan.seed % 10**8:08d}{plan.index % 100:02d}{0 if kind is PushKind.INITIAL else 1}"
            )
            flight = copy.copy(plan.leg)
            text = write_pnrgov(
                bookings,
                flight=flight,
                version=plan.version,
                sender=plan.carrier.code,
                recipient=plan.recipient,
                control_ref=control_ref,
                prepared=prepared,
                delimiters=plan.delimiters,
                message_ref="1",
            )
            push = Push(
                flight=flight,
                kind=kind,
                bookings=bookings,
                prepared=prepared,
                sender=plan.carrier.code,
                recipient=plan.recipient,
                control_ref=control_ref,
                pnrgov=text,
                pnrgov_filename=f"{stem}-{kind.value}.pnrgov.edi",
            )
            if kind is PushKind.CLOSURE:
                api = _api_bookings(bookings)
                push.paxlst_bookings = api
                push.paxlst = write_paxlst(
                    api,
                    flight=flight,
                    crew=False,
                    sender=plan.carrier.code,
                    recipient=plan.recipient,
                    control_ref=control_ref[:-1] + "2",
                    prepared=prepared,
                    delimiters=plan.delimiters,
                    message_ref="1",
                )
                push.paxlst_filename = f"{stem}-{kind.value}.paxlst.edi"
            yield push


def _api_bookings(bookings: Sequence[Booking]) -> list[Booking]:
    """The bookings as API data: only travellers who checked in (no no-shows)."""
    out: list[Booking] = []
    for booking in bookings:
        present_refs = {c.traveller_ref for c in booking.check_ins}
        present = [t for t in booking.travellers if t.ref in present_refs]
        if present:
            api = copy.copy(booking)
            api.travellers = present
            out.append(api)
    return out


def _ascii_upper(text: str) -> str:
    return romanise(text)
