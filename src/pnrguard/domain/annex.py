"""Annex I of Directive 2016/681: the only PNR elements a PIU may hold.

`FIELD_ELEMENTS` maps every field of the booking model to its Annex I element, and a test
checks that every model field is mapped, so the model cannot silently grow beyond Annex I.
`MASKED_AT_6_MONTHS` lists what Art. 12(3) requires to be masked (depersonalised).
"""

from __future__ import annotations

import enum


class Element(enum.IntEnum):
    """Annex I element numbers, as the Directive numbers them."""

    LOCATOR = 1
    DATES_OF_RESERVATION = 2
    DATES_OF_TRAVEL = 3
    NAMES = 4
    ADDRESS_AND_CONTACT = 5
    PAYMENT = 6
    ITINERARY = 7
    FREQUENT_FLYER = 8
    AGENCY = 9
    TRAVEL_STATUS = 10
    SPLIT_DIVIDED = 11
    GENERAL_REMARKS = 12
    TICKETING = 13
    SEATS = 14
    CODE_SHARE = 15
    BAGGAGE = 16
    OTHER_TRAVELLERS = 17
    API_DATA = 18
    HISTORY = 19


#: (class name, field name) -> Annex I element. Nested classes are listed by their own name.
FIELD_ELEMENTS: dict[tuple[str, str], Element] = {
    ("Booking", "source"): Element.LOCATOR,
    ("Booking", "carrier"): Element.LOCATOR,
    ("Booking", "locator"): Element.LOCATOR,
    ("Booking", "created"): Element.DATES_OF_RESERVATION,
    ("Booking", "ticketed"): Element.DATES_OF_RESERVATION,
    ("Booking", "reported_flight"): Element.ITINERARY,
    ("Booking", "travellers"): Element.NAMES,
    ("Booking", "itinerary"): Element.ITINERARY,
    ("Booking", "addresses"): Element.ADDRESS_AND_CONTACT,
    ("Booking", "contacts"): Element.ADDRESS_AND_CONTACT,
    ("Booking", "payments"): Element.PAYMENT,
    ("Booking", "agency"): Element.AGENCY,
    ("Booking", "check_ins"): Element.TRAVEL_STATUS,
    ("Booking", "split_from"): Element.SPLIT_DIVIDED,
    ("Booking", "remarks"): Element.GENERAL_REMARKS,
    ("Booking", "tickets"): Element.TICKETING,
    ("Booking", "seats"): Element.SEATS,
    ("Booking", "bags"): Element.BAGGAGE,
    ("Booking", "service_requests"): Element.GENERAL_REMARKS,
    ("Booking", "party_size"): Element.OTHER_TRAVELLERS,
    ("Booking", "history"): Element.HISTORY,
    ("Booking", "reporting_party"): Element.AGENCY,
    ("Traveller", "ref"): Element.OTHER_TRAVELLERS,
    ("Traveller", "surname"): Element.NAMES,
    ("Traveller", "given_names"): Element.NAMES,
    ("Traveller", "traveller_type"): Element.OTHER_TRAVELLERS,
    ("Traveller", "accompanied_by_ref"): Element.OTHER_TRAVELLERS,
    ("Traveller", "documents"): Element.API_DATA,
    ("Traveller", "addresses"): Element.ADDRESS_AND_CONTACT,
    ("Traveller", "frequent_flyers"): Element.FREQUENT_FLYER,
    ("Traveller", "gender"): Element.API_DATA,
    ("Traveller", "date_of_birth"): Element.API_DATA,
    ("Traveller", "nationality"): Element.API_DATA,
    ("Traveller", "residence_country"): Element.API_DATA,
    ("Traveller", "birth_place"): Element.API_DATA,
    ("Traveller", "embarkation"): Element.API_DATA,
    ("Traveller", "debarkation"): Element.API_DATA,
    ("Leg", "operating_carrier"): Element.CODE_SHARE,
    ("Leg", "operating_flight_number"): Element.CODE_SHARE,
    ("Leg", "status"): Element.TRAVEL_STATUS,  # HK, TK ...: confirmation status
    ("Leg", "party_size"): Element.OTHER_TRAVELLERS,  # RPI: number in party
}


def _each(cls: str, element: Element, names: str) -> dict[tuple[str, str], Element]:
    """Map the listed fields of one nested class to one element. The names are written out
    (not read from the model) so that a field added to the model without a decision here
    fails the completeness test instead of being mapped silently."""
    return {(cls, name): element for name in names.split()}


# Nested classes: each field takes the element of the class as a whole. A class reused in
# another element (an Address used as a billing address) takes that element through the
# containing field (`Payment.billing_address` -> element 6).
FIELD_ELEMENTS |= _each(
    "Leg",
    Element.ITINERARY,
    "carrier flight_number origin destination departure arrival booking_class equipment",
)
FIELD_ELEMENTS |= _each(
    "Document",
    Element.API_DATA,
    "doc_type number issuing_country expiry nationality surname given_names gender"
    " date_of_birth date_of_issue place_of_issue valid_for",
)
FIELD_ELEMENTS |= _each(
    "Address", Element.ADDRESS_AND_CONTACT, "kind street city region postal_code country phone"
)
FIELD_ELEMENTS |= _each("Contact", Element.ADDRESS_AND_CONTACT, "kind value traveller_ref use")
FIELD_ELEMENTS |= _each(
    "Payment",
    Element.PAYMENT,
    "form card_vendor card_number card_expiry holder amount currency billing_address",
)
FIELD_ELEMENTS |= _each("FrequentFlyer", Element.FREQUENT_FLYER, "airline number tier")
FIELD_ELEMENTS |= _each("Seat", Element.SEATS, "seat traveller_ref leg_index cabin")
FIELD_ELEMENTS |= _each("Bag", Element.BAGGAGE, "traveller_ref leg_index count weight unit tag_numbers pool")
FIELD_ELEMENTS |= _each(
    "Ticket",
    Element.TICKETING,
    "number traveller_ref issue_date document_type one_way fare_amount fare_currency"
    " total_amount fare_calculation",
)
FIELD_ELEMENTS |= _each("CheckIn", Element.TRAVEL_STATUS, "traveller_ref leg_index status at")
# SSRs carry element 12 (remarks), 14 (seats) or 18 (DOCS) depending on the code; the class
# is filed under 12, where the sensitive-data filter scans it.
FIELD_ELEMENTS |= _each(
    "ServiceRequest",
    Element.GENERAL_REMARKS,
    "code status carrier text traveller_ref leg_index",
)
FIELD_ELEMENTS |= _each("Remark", Element.GENERAL_REMARKS, "kind text traveller_ref")
FIELD_ELEMENTS |= _each("Agency", Element.AGENCY, "airline location iata_number agent_id country")
FIELD_ELEMENTS |= _each("HistoryEntry", Element.HISTORY, "text")

#: Fields the readers may fill but the PIU never stores (Annex I as C-817/19 reads it):
#: heading 18 lists the API data it covers (document type, number, country of issuance,
#: expiry, nationality, surname, given names, gender, date of birth); place of birth and the
#: document's date and place of issue are not in that list (C-817/19, para. 133-140), so
#: `protection.minimise.minimise` blanks them before the first write.
NOT_STORED: frozenset[tuple[str, str]] = frozenset(
    {("Traveller", "birth_place"), ("Document", "date_of_issue"), ("Document", "place_of_issue")}
)

#: Booking-level fields masked after 6 months (Art. 12(3)): they identify the person.
#: Everything else (itinerary, dates, tickets without holder names, seats, bags, agency,
#: status, code-share) stays usable for analysis, keyed to traveller references only.
MASKED_AT_6_MONTHS: frozenset[str] = frozenset(
    {
        "travellers",  # names, number of fellow travellers' names, API data, FF data
        "addresses",
        "contacts",
        "payments",
        "remarks",  # general remarks may identify the person
        "service_requests",  # SSR free text (DOCS/DOCA/CTC) identifies the person
        "history",  # history repeats the elements above
    }
)
