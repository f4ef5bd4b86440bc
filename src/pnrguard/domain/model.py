"""The booking model: what a PIU may hold about a reservation (Annex I of Directive 2016/681).

The model holds only Annex I elements, by construction: a reader maps what it recognises into
these classes and counts the rest, so nothing outside Annex I can reach storage. Each field
names its Annex I element in `domain/annex.py` (`FIELD_ELEMENTS`).

Personal fields and content fields are told apart by `domain/annex.py` too, because masking
(6 months) and encryption (identity key vs content key) depend on that split.

Times are as the carrier sends them: local to the airport for flights, no time zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

# Each class writes its `__init__` out rather than letting `@dataclass` generate it: mypyc
# (`make compile`) turns a written `__init__` into a native constructor, while the generated
# one stays interpreted and was 15% of the compiled reader (docs/performance.md). Same
# signature and defaults as the generated one (tests/unit/test_model_init.py checks it); a
# new field goes into both.


class Source(enum.StrEnum):
    """Which message type a booking came from."""

    PNR = "PNR"  # PNRGOV push
    API = "API"  # PAXLST (advance passenger information), one traveller per booking


class TravellerType(enum.StrEnum):
    ADULT = "A"
    CHILD = "C"
    INFANT = "IN"
    CREW = "CREW"
    OTHER = "OTHER"


@dataclass(slots=True)
class Document:
    """A travel document (SSR DOCS in a PNR, DOC in PAXLST): Annex I element 18."""

    doc_type: str = ""  # P passport, I identity card, ...
    number: str = ""
    issuing_country: str = ""
    expiry: dt.date | None = None
    nationality: str = ""
    surname: str = ""
    given_names: str = ""
    gender: str = ""  # M, F, U, X as sent
    date_of_birth: dt.date | None = None
    date_of_issue: dt.date | None = None
    place_of_issue: str = ""  # SSR DOCO: where a visa or document was issued (a place)
    valid_for: str = ""  # SSR DOCO: the country a visa is valid for (not its issuer)

    def __init__(
        self,
        doc_type: str = "",
        number: str = "",
        issuing_country: str = "",
        expiry: dt.date | None = None,
        nationality: str = "",
        surname: str = "",
        given_names: str = "",
        gender: str = "",
        date_of_birth: dt.date | None = None,
        date_of_issue: dt.date | None = None,
        place_of_issue: str = "",
        valid_for: str = "",
    ) -> None:
        self.doc_type = doc_type
        self.number = number
        self.issuing_country = issuing_country
        self.expiry = expiry
        self.nationality = nationality
        self.surname = surname
        self.given_names = given_names
        self.gender = gender
        self.date_of_birth = date_of_birth
        self.date_of_issue = date_of_issue
        self.place_of_issue = place_of_issue
        self.valid_for = valid_for


@dataclass(slots=True)
class Address:
    """A postal address (ADD, SSR DOCA): element 5 or, for billing, element 6."""

    kind: str = ""  # 700 home, 702 billing ...; DOCA R residence / D destination
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""

    def __init__(
        self,
        kind: str = "",
        street: str = "",
        city: str = "",
        region: str = "",
        postal_code: str = "",
        country: str = "",
        phone: str = "",
    ) -> None:
        self.kind = kind
        self.street = street
        self.city = city
        self.region = region
        self.postal_code = postal_code
        self.country = country
        self.phone = phone


@dataclass(slots=True)
class Contact:
    """A telephone number or e-mail (element 5)."""

    kind: str = ""  # phone, email, fax, other
    value: str = ""
    traveller_ref: str = ""
    use: str = ""  # of a phone: home, mobile, business, agency, ... (CTC letter); "" unknown

    def __init__(
        self,
        kind: str = "",
        value: str = "",
        traveller_ref: str = "",
        use: str = "",
    ) -> None:
        self.kind = kind
        self.value = value
        self.traveller_ref = traveller_ref
        self.use = use


@dataclass(slots=True)
class Payment:
    """A form of payment (FOP): element 6."""

    form: str = ""  # CC credit card, CA cash, MS miscellaneous ...
    card_vendor: str = ""
    card_number: str = ""  # as sent, usually masked by the carrier
    card_expiry: str = ""
    holder: str = ""
    amount: str = ""
    currency: str = ""
    billing_address: Address | None = None

    def __init__(
        self,
        form: str = "",
        card_vendor: str = "",
        card_number: str = "",
        card_expiry: str = "",
        holder: str = "",
        amount: str = "",
        currency: str = "",
        billing_address: Address | None = None,
    ) -> None:
        self.form = form
        self.card_vendor = card_vendor
        self.card_number = card_number
        self.card_expiry = card_expiry
        self.holder = holder
        self.amount = amount
        self.currency = currency
        self.billing_address = billing_address


@dataclass(slots=True)
class FrequentFlyer:
    """Element 8."""

    airline: str = ""
    number: str = ""
    tier: str = ""

    def __init__(
        self,
        airline: str = "",
        number: str = "",
        tier: str = "",
    ) -> None:
        self.airline = airline
        self.number = number
        self.tier = tier


@dataclass(slots=True)
class Leg:
    """One flight of the itinerary (element 7), with code-share data (element 15)."""

    carrier: str = ""
    flight_number: str = ""
    origin: str = ""
    destination: str = ""
    departure: dt.datetime | None = None
    arrival: dt.datetime | None = None
    booking_class: str = ""
    status: str = ""  # HK, TK, ...
    party_size: int | None = None
    operating_carrier: str = ""  # code-share: who flies it
    operating_flight_number: str = ""
    equipment: str = ""

    def __init__(
        self,
        carrier: str = "",
        flight_number: str = "",
        origin: str = "",
        destination: str = "",
        departure: dt.datetime | None = None,
        arrival: dt.datetime | None = None,
        booking_class: str = "",
        status: str = "",
        party_size: int | None = None,
        operating_carrier: str = "",
        operating_flight_number: str = "",
        equipment: str = "",
    ) -> None:
        self.carrier = carrier
        self.flight_number = flight_number
        self.origin = origin
        self.destination = destination
        self.departure = departure
        self.arrival = arrival
        self.booking_class = booking_class
        self.status = status
        self.party_size = party_size
        self.operating_carrier = operating_carrier
        self.operating_flight_number = operating_flight_number
        self.equipment = equipment


@dataclass(slots=True)
class Seat:
    """Element 14."""

    seat: str = ""
    traveller_ref: str = ""
    leg_index: int | None = None
    cabin: str = ""

    def __init__(
        self,
        seat: str = "",
        traveller_ref: str = "",
        leg_index: int | None = None,
        cabin: str = "",
    ) -> None:
        self.seat = seat
        self.traveller_ref = traveller_ref
        self.leg_index = leg_index
        self.cabin = cabin


@dataclass(slots=True)
class Bag:
    """Element 16. Pool markers: head of pool / member of pool, as carriers send them."""

    traveller_ref: str = ""
    leg_index: int | None = None
    count: int | None = None
    weight: str = ""
    unit: str = ""
    tag_numbers: list[str] = field(default_factory=list)
    pool: str = ""  # "head", "member" or ""

    def __init__(
        self,
        traveller_ref: str = "",
        leg_index: int | None = None,
        count: int | None = None,
        weight: str = "",
        unit: str = "",
        tag_numbers: list[str] | None = None,
        pool: str = "",
    ) -> None:
        self.traveller_ref = traveller_ref
        self.leg_index = leg_index
        self.count = count
        self.weight = weight
        self.unit = unit
        self.tag_numbers = [] if tag_numbers is None else tag_numbers
        self.pool = pool


@dataclass(slots=True)
class Ticket:
    """Element 13."""

    number: str = ""
    traveller_ref: str = ""
    issue_date: dt.date | None = None
    document_type: str = ""  # T ticket, E EMD ...
    one_way: bool | None = None
    fare_amount: str = ""
    fare_currency: str = ""
    total_amount: str = ""
    fare_calculation: str = ""

    def __init__(
        self,
        number: str = "",
        traveller_ref: str = "",
        issue_date: dt.date | None = None,
        document_type: str = "",
        one_way: bool | None = None,
        fare_amount: str = "",
        fare_currency: str = "",
        total_amount: str = "",
        fare_calculation: str = "",
    ) -> None:
        self.number = number
        self.traveller_ref = traveller_ref
        self.issue_date = issue_date
        self.document_type = document_type
        self.one_way = one_way
        self.fare_amount = fare_amount
        self.fare_currency = fare_currency
        self.total_amount = total_amount
        self.fare_calculation = fare_calculation


@dataclass(slots=True)
class CheckIn:
    """Element 10: a traveller's status on a leg (checked in, boarded, no-show, go-show)."""

    traveller_ref: str = ""
    leg_index: int | None = None
    status: str = ""
    at: dt.datetime | None = None

    def __init__(
        self,
        traveller_ref: str = "",
        leg_index: int | None = None,
        status: str = "",
        at: dt.datetime | None = None,
    ) -> None:
        self.traveller_ref = traveller_ref
        self.leg_index = leg_index
        self.status = status
        self.at = at


@dataclass(slots=True)
class ServiceRequest:
    """An SSR as sent (element 12 when it carries remarks, 14 for seats, 18 for DOCS).

    Sensitive codes (meals, health) never get here: the protection layer deletes them.
    """

    code: str = ""
    status: str = ""
    carrier: str = ""
    text: str = ""
    traveller_ref: str = ""
    leg_index: int | None = None

    def __init__(
        self,
        code: str = "",
        status: str = "",
        carrier: str = "",
        text: str = "",
        traveller_ref: str = "",
        leg_index: int | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.carrier = carrier
        self.text = text
        self.traveller_ref = traveller_ref
        self.leg_index = leg_index


@dataclass(slots=True)
class Remark:
    """General remarks and other service information (element 12): OSI, free text."""

    kind: str = ""  # OSI, RMK, GEN ...
    text: str = ""
    traveller_ref: str = ""

    def __init__(
        self,
        kind: str = "",
        text: str = "",
        traveller_ref: str = "",
    ) -> None:
        self.kind = kind
        self.text = text
        self.traveller_ref = traveller_ref


@dataclass(slots=True)
class Agency:
    """Element 9: who made the booking."""

    airline: str = ""
    location: str = ""
    iata_number: str = ""
    agent_id: str = ""
    country: str = ""

    def __init__(
        self,
        airline: str = "",
        location: str = "",
        iata_number: str = "",
        agent_id: str = "",
        country: str = "",
    ) -> None:
        self.airline = airline
        self.location = location
        self.iata_number = iata_number
        self.agent_id = agent_id
        self.country = country


@dataclass(slots=True)
class HistoryEntry:
    """Element 19: a historical change as the carrier reports it (LTS or history groups)."""

    text: str = ""

    def __init__(
        self,
        text: str = "",
    ) -> None:
        self.text = text


@dataclass(slots=True)
class Traveller:
    """A person on the booking (element 4), with element 8, 17 and 18 data."""

    ref: str = ""  # traveller reference within the booking
    surname: str = ""
    given_names: str = ""
    traveller_type: TravellerType = TravellerType.ADULT
    accompanied_by_ref: str = ""  # an infant travels on an adult's seat
    documents: list[Document] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    frequent_flyers: list[FrequentFlyer] = field(default_factory=list)
    gender: str = ""
    date_of_birth: dt.date | None = None
    nationality: str = ""
    residence_country: str = ""
    birth_place: str = ""
    # API ports the person declared (PAXLST LOC+178/179), kept when they lie outside the
    # itinerary sent (through-passengers); "" when the itinerary already shows them.
    embarkation: str = ""
    debarkation: str = ""

    def __init__(
        self,
        ref: str = "",
        surname: str = "",
        given_names: str = "",
        traveller_type: TravellerType = TravellerType.ADULT,
        accompanied_by_ref: str = "",
        documents: list[Document] | None = None,
        addresses: list[Address] | None = None,
        frequent_flyers: list[FrequentFlyer] | None = None,
        gender: str = "",
        date_of_birth: dt.date | None = None,
        nationality: str = "",
        residence_country: str = "",
        birth_place: str = "",
        embarkation: str = "",
        debarkation: str = "",
    ) -> None:
        self.ref = ref
        self.surname = surname
        self.given_names = given_names
        self.traveller_type = traveller_type
        self.accompanied_by_ref = accompanied_by_ref
        self.documents = [] if documents is None else documents
        self.addresses = [] if addresses is None else addresses
        self.frequent_flyers = [] if frequent_flyers is None else frequent_flyers
        self.gender = gender
        self.date_of_birth = date_of_birth
        self.nationality = nationality
        self.residence_country = residence_country
        self.birth_place = birth_place
        self.embarkation = embarkation
        self.debarkation = debarkation


@dataclass(slots=True)
class Booking:
    """One version of a booking as one push delivered it.

    A PNR booking is identified by (carrier, locator, created); each push is a new version.
    A PAXLST record is one traveller on one flight; it has a locator when the carrier sent
    RFF+AVF, and is keyed by the flight and the traveller otherwise.
    """

    source: Source = Source.PNR
    carrier: str = ""
    locator: str = ""  # element 1
    created: dt.datetime | None = None  # element 2 (reservation)
    ticketed: dt.date | None = None  # element 2 (ticket issue)
    reported_flight: Leg | None = None  # the flight the push is for (TVL / TDT at message level)
    travellers: list[Traveller] = field(default_factory=list)
    itinerary: list[Leg] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    agency: Agency | None = None
    check_ins: list[CheckIn] = field(default_factory=list)
    split_from: list[str] = field(default_factory=list)  # element 11: locators
    remarks: list[Remark] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)
    bags: list[Bag] = field(default_factory=list)
    service_requests: list[ServiceRequest] = field(default_factory=list)
    party_size: int | None = None  # element 17
    history: list[HistoryEntry] = field(default_factory=list)
    reporting_party: str = ""  # PAXLST NAD+MS / PNRGOV sender

    def __init__(
        self,
        source: Source = Source.PNR,
        carrier: str = "",
        locator: str = "",
        created: dt.datetime | None = None,
        ticketed: dt.date | None = None,
        reported_flight: Leg | None = None,
        travellers: list[Traveller] | None = None,
        itinerary: list[Leg] | None = None,
        addresses: list[Address] | None = None,
        contacts: list[Contact] | None = None,
        payments: list[Payment] | None = None,
        agency: Agency | None = None,
        check_ins: list[CheckIn] | None = None,
        split_from: list[str] | None = None,
        remarks: list[Remark] | None = None,
        tickets: list[Ticket] | None = None,
        seats: list[Seat] | None = None,
        bags: list[Bag] | None = None,
        service_requests: list[ServiceRequest] | None = None,
        party_size: int | None = None,
        history: list[HistoryEntry] | None = None,
        reporting_party: str = "",
    ) -> None:
        self.source = source
        self.carrier = carrier
        self.locator = locator
        self.created = created
        self.ticketed = ticketed
        self.reported_flight = reported_flight
        self.travellers = [] if travellers is None else travellers
        self.itinerary = [] if itinerary is None else itinerary
        self.addresses = [] if addresses is None else addresses
        self.contacts = [] if contacts is None else contacts
        self.payments = [] if payments is None else payments
        self.agency = agency
        self.check_ins = [] if check_ins is None else check_ins
        self.split_from = [] if split_from is None else split_from
        self.remarks = [] if remarks is None else remarks
        self.tickets = [] if tickets is None else tickets
        self.seats = [] if seats is None else seats
        self.bags = [] if bags is None else bags
        self.service_requests = [] if service_requests is None else service_requests
        self.party_size = party_size
        self.history = [] if history is None else history
        self.reporting_party = reporting_party

    def traveller(self, ref: str) -> Traveller | None:
        for t in self.travellers:
            if t.ref == ref:
                return t
        return None

    def travel_dates(self) -> list[dt.date]:
        """Element 3, derived so it cannot disagree with the itinerary."""
        return sorted({leg.departure.date() for leg in self.itinerary if leg.departure})


# --- plain-data conversion: JSON lines output and encrypted storage -----------------------


def to_dict(obj: Any) -> Any:
    """Convert a model object into JSON-ready data (dates as ISO strings, enums as values)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dt.date):  # datetime is a date too
        return obj.isoformat()
    return obj


def reporting_leg(b: Booking) -> Leg | None:
    """The flight a booking is reported on: the message's reported flight, else the first
    leg of its itinerary (None: neither)."""
    return b.reported_flight or (b.itinerary[0] if b.itinerary else None)


_DATE_FIELDS = {
    "expiry", "date_of_birth", "date_of_issue", "ticketed", "issue_date",
}
_DATETIME_FIELDS = {"created", "departure", "arrival", "at"}
_SCALAR_TYPES: dict[str, type] = {
    **dict.fromkeys(_DATE_FIELDS, dt.date),
    **dict.fromkeys(_DATETIME_FIELDS, dt.datetime),
    "party_size": int, "leg_index": int, "count": int, "one_way": bool,
}


def scalar_type(name: str) -> type | None:
    """The type a field of this name holds wherever it appears in the model, when it is a
    date, a time, a number or a flag (None: text, an enum or a nested object).

    Rectification parses a typed value by it even for an empty field; the annotations cannot
    tell, because the compiled model (`make compile`) reports `date | None` as `type`.
    `tests/unit/test_model_init.py` holds this table equal to the annotations."""
    return _SCALAR_TYPES.get(name)


def _from(cls: type[Any], data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kwargs[f.name] = _convert(f.name, value)
    return cls(**kwargs)


_NESTED: dict[str, type[Any]] = {
    "documents": Document,
    "addresses": Address,
    "billing_address": Address,
    "frequent_flyers": FrequentFlyer,
    "travellers": Traveller,
    "itinerary": Leg,
    "reported_flight": Leg,
    "contacts": Contact,
    "payments": Payment,
    "agency": Agency,
    "check_ins": CheckIn,
    "remarks": Remark,
    "tickets": Ticket,
    "seats": Seat,
    "bags": Bag,
    "service_requests": ServiceRequest,
    "history": HistoryEntry,
}


def _convert(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _NESTED:
        cls = _NESTED[name]
        if isinstance(value, list):
            return [_from(cls, v) for v in value]
        return _from(cls, value)
    if name in _DATE_FIELDS:
        return dt.date.fromisoformat(value)
    if name in _DATETIME_FIELDS:
        return dt.datetime.fromisoformat(value)
    if name == "source":
        return Source(value)
    if name == "traveller_type":
        return TravellerType(value)
    return value


def booking_from_dict(data: dict[str, Any]) -> Booking:
    """Inverse of `to_dict` for a booking; `booking_from_dict(to_dict(b)) == b`."""
    result: Booking = _from(Booking, data)
    return result
