"""What people read instead of codes: purposes as the law writes them, statuses, roles,
booking field names, short ids.

Each label is an English msgid marked with `N_` (extracted into the catalogues) and
translated when shown (`gettext`), so the workspace never prints `traveller_ref` or
`illicit_trafficking_in_drugs` to a person.
"""

from __future__ import annotations

from typing import Any

from pnrguard.audit.models import Purpose
from pnrguard.service.accounts import Role
from pnrguard.web.i18n import N_, gettext

__all__ = [
    "FIELD_LABELS",
    "PURPOSE_LABELS",
    "ROLE_LABELS",
    "STATUS_LABELS",
    "field_label",
    "purpose_label",
    "role_label",
    "short_id",
    "status_label",
]

#: Directive (EU) 2016/681, Art. 3(8) and Annex II, in the Directive's words (the French
#: catalogue carries the French text of the Directive).
PURPOSE_LABELS: dict[str, str] = {
    Purpose.TERRORIST_OFFENCES: N_("Terrorist offences"),
    Purpose.PARTICIPATION_IN_CRIMINAL_ORGANISATION: N_("Participation in a criminal organisation"),
    Purpose.TRAFFICKING_IN_HUMAN_BEINGS: N_("Trafficking in human beings"),
    Purpose.SEXUAL_EXPLOITATION_OF_CHILDREN: N_("Sexual exploitation of children and child pornography"),
    Purpose.ILLICIT_TRAFFICKING_IN_DRUGS: N_(
        "Illicit trafficking in narcotic drugs and psychotropic substances"
    ),
    Purpose.ILLICIT_TRAFFICKING_IN_WEAPONS: N_("Illicit trafficking in weapons, munitions and explosives"),
    Purpose.CORRUPTION: N_("Corruption"),
    Purpose.FRAUD: N_("Fraud, including that against the financial interests of the Union"),
    Purpose.MONEY_LAUNDERING_AND_COUNTERFEITING_CURRENCY: N_(
        "Laundering of the proceeds of crime and counterfeiting of currency, including the euro"
    ),
    Purpose.CYBERCRIME: N_("Computer-related crime/cybercrime"),
    Purpose.ENVIRONMENTAL_CRIME: N_(
        "Environmental crime, including illicit trafficking in endangered animal species and in "
        "endangered plant species and varieties"
    ),
    Purpose.FACILITATION_OF_UNAUTHORISED_ENTRY: N_("Facilitation of unauthorised entry and residence"),
    Purpose.MURDER_GRIEVOUS_BODILY_INJURY: N_("Murder, grievous bodily injury"),
    Purpose.ILLICIT_TRADE_IN_HUMAN_ORGANS: N_("Illicit trade in human organs and tissue"),
    Purpose.KIDNAPPING_AND_HOSTAGE_TAKING: N_("Kidnapping, illegal restraint and hostage-taking"),
    Purpose.ORGANISED_OR_ARMED_ROBBERY: N_("Organised and armed robbery"),
    Purpose.ILLICIT_TRAFFICKING_IN_CULTURAL_GOODS: N_(
        "Illicit trafficking in cultural goods, including antiques and works of art"
    ),
    Purpose.COUNTERFEITING_AND_PIRACY_OF_PRODUCTS: N_("Counterfeiting and piracy of products"),
    Purpose.FORGERY_OF_ADMINISTRATIVE_DOCUMENTS: N_(
        "Forgery of administrative documents and trafficking therein"
    ),
    Purpose.ILLICIT_TRAFFICKING_IN_HORMONAL_SUBSTANCES: N_(
        "Illicit trafficking in hormonal substances and other growth promoters"
    ),
    Purpose.ILLICIT_TRAFFICKING_IN_NUCLEAR_MATERIALS: N_(
        "Illicit trafficking in nuclear or radioactive materials"
    ),
    Purpose.RAPE: N_("Rape"),
    Purpose.CRIMES_WITHIN_ICC_JURISDICTION: N_(
        "Crimes within the jurisdiction of the International Criminal Court"
    ),
    Purpose.UNLAWFUL_SEIZURE_OF_AIRCRAFT_OR_SHIPS: N_("Unlawful seizure of aircraft or ships"),
    Purpose.SABOTAGE: N_("Sabotage"),
    Purpose.TRAFFICKING_IN_STOLEN_VEHICLES: N_("Trafficking in stolen vehicles"),
    Purpose.INDUSTRIAL_ESPIONAGE: N_("Industrial espionage"),
    Purpose.INGEST: N_("Receipt of passenger data"),
    Purpose.RETENTION: N_("Retention and deletion"),
    Purpose.DPO_SUPERVISION: N_("Supervision by the Data Protection Officer"),
    Purpose.DATA_SUBJECT_REQUEST: N_("A data subject's request"),
    Purpose.SYSTEM_SECURITY: N_("Security of the system"),
}

ROLE_LABELS: dict[str, str] = {
    Role.ANALYST: N_("Analyst"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.DPO: N_("Data Protection Officer"),
    Role.JUDICIAL: N_("Judicial authority"),
    Role.JUDICIAL_SENIOR: N_("Senior judicial authority"),
    Role.ADMIN: N_("Administrator"),
    Role.CARRIER: N_("Carrier (machine)"),
    Role.PEER: N_("Peer PIU (machine)"),
}

#: Statuses of hits, transmissions, requests, unmasking requests, bookings and changes.
STATUS_LABELS: dict[str, str] = {
    "all": N_("all"),
    "open": N_("open"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
    "withdrawn": N_("withdrawn"),
    "pending": N_("pending"),
    "released": N_("released"),
    "rejected": N_("rejected"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    "answered": N_("answered"),
    "closed": N_("closed"),
    "active": N_("active"),
    "masked": N_("masked"),
    "dormant": N_("dormant"),
    "deleted": N_("deleted"),
    "running": N_("running"),
    "disabled": N_("disabled"),
    "expired": N_("expired"),
    "due": N_("due"),
    "received": N_("received"),
    "done": N_("done"),
    "create": N_("new account"),
    "role": N_("role change"),
    "reset": N_("password reset"),
    "national": N_("national authority"),
    "piu": N_("PIU of another member state"),
    "europol": N_("Europol"),
    "third_country": N_("third country"),
    "access": N_("access"),
    "rectification": N_("rectification"),
    "erasure": N_("erasure"),
    "restriction": N_("restriction"),
    "letter": N_("letter"),
    "email": N_("email"),
    "form": N_("form"),
    "authority": N_("authority"),
    "erased": N_("erased"),
    "partial": N_("partly erased"),
    "linked": N_("kept: linked to a case"),
    "restricted": N_("restricted"),
    "lifted": N_("restriction lifted"),
    "unchanged": N_("unchanged"),
    "applied": N_("applied"),
    "reported": N_("reported"),
    "masked_level": N_("masked"),
}

#: Field names of the booking's sections (domain.model) as people say them.
FIELD_LABELS: dict[str, str] = {
    "traveller_ref": N_("traveller"),
    "leg_index": N_("flight no. in itinerary"),
    "kind": N_("kind"),
    "street": N_("street"),
    "city": N_("city"),
    "region": N_("region"),
    "postal_code": N_("postal code"),
    "country": N_("country"),
    "phone": N_("telephone"),
    "value": N_("value"),
    "use": N_("use"),
    "form": N_("form of payment"),
    "card_vendor": N_("card"),
    "card_number": N_("card number"),
    "card_expiry": N_("card expiry"),
    "holder": N_("holder"),
    "amount": N_("amount"),
    "currency": N_("currency"),
    "billing_address": N_("billing address"),
    "text": N_("text"),
    "code": N_("code"),
    "status": N_("status"),
    "carrier": N_("carrier"),
    "number": N_("number"),
    "issue_date": N_("issued"),
    "document_type": N_("document type"),
    "one_way": N_("one way"),
    "fare_amount": N_("fare"),
    "fare_currency": N_("fare currency"),
    "total_amount": N_("total"),
    "fare_calculation": N_("fare calculation"),
    "seat": N_("seat"),
    "cabin": N_("cabin"),
    "count": N_("pieces"),
    "weight": N_("weight"),
    "unit": N_("unit"),
    "tag_numbers": N_("tag numbers"),
    "pool": N_("pooled with"),
    "at": N_("at"),
    "hit": N_("hit"),
    "request": N_("request"),
}


def purpose_label(value: Purpose | str | None) -> str:
    if not value:
        return ""
    label = PURPOSE_LABELS.get(str(value))
    return gettext(label) if label else str(value).replace("_", " ").capitalize()


def role_label(value: Role | str | None) -> str:
    if not value:
        return ""
    label = ROLE_LABELS.get(str(value))
    return gettext(label) if label else str(value)


def status_label(value: Any) -> str:
    text = str(getattr(value, "value", value) or "")
    label = STATUS_LABELS.get(text)
    return gettext(label) if label else text.replace("_", " ")


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return gettext(label) if label else name.replace("_", " ")


def short_id(value: str | None) -> str:
    """The last 8 characters of an opaque id: enough to tell records apart on a page."""
    return (value or "")[-8:]
