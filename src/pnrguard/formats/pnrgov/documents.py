"""SSR DOCS/DOCA/DOCO free text: slash fields, documents, and the traveller facts (gender,
birth date, nationality, residence) that PNRGOV carries only in them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from pnrguard.domain.model import Address, Document, Traveller
from pnrguard.formats.pnrgov.values import _date7

_DOCS_ONLY_FIELDS: Final = ("nationality", "surname", "given_names", "gender", "date_of_birth", "expiry")

_ASSOCIATION: Final = re.compile(r"\s*-\s*[0-9]{1,3}\.[0-9]{1,3}\s*$")


def _slash_fields(text: str) -> list[str]:
    """The fields of DOCS/DOCA/DOCO free text: `/P/GBR/123/...` (leading slash optional).

    Blanks around the slashes are dropped (`/P / GBR / 123`), and so is the passenger
    association a reservation system appends (`...//JAY-1.1`): it is not part of the name.
    """
    stripped = text.strip(" ")
    if stripped.startswith("/"):
        stripped = stripped[1:]
    if "-" in stripped and "." in stripped:  # both in the suffix: hyphenated names skip the scan
        stripped = _ASSOCIATION.sub("", stripped)
    fields = stripped.split("/")
    # Only a blank next to a slash (or in front) makes a field need stripping; blanks
    # inside a field (given names) do not (measured: most DOCS hold a blank).
    if " " in stripped and (stripped[:1] == " " or " /" in stripped or "/ " in stripped):
        fields = [f.strip(" ") for f in fields]
    return fields


def _field(fields: list[str], i: int) -> str:
    return fields[i] if i < len(fields) else ""


def _traveller_gender(doc_gender: str) -> str:
    """Traveller gender from a DOCS gender: MI/FI (infant) become M/F."""
    if len(doc_gender) == 2 and doc_gender[1] == "I":
        return doc_gender[0]
    return doc_gender


def _is_infant_gender(doc_gender: str) -> bool:
    return len(doc_gender) == 2 and doc_gender[1] == "I"


def _docs_document(fields: list[str], today: dt.date) -> tuple[Document, bool]:
    """A Document from SSR DOCS fields; the flag says whether a date was unreadable."""
    # Padded and unpacked at once rather than ten `_field` calls (measured).
    doc_type, country, number, nationality, dob_text, gender, exp_text, surname, given, middle = (
        *fields,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    )[:10]
    dob = _date7(dob_text, True, today) if dob_text else None
    expiry = _date7(exp_text, False, today) if exp_text else None
    doc = Document(
        doc_type=doc_type,
        issuing_country=country,
        number=number,
        nationality=nationality,
        date_of_birth=dob,
        gender=gender,
        expiry=expiry,
        surname=surname,
        given_names=f"{given} {middle}" if middle else given,
    )
    bad = (bool(dob_text.strip()) and dob is None) or (bool(exp_text.strip()) and expiry is None)
    return doc, bad


def _derive_traveller(t: Traveller) -> None:
    """Traveller API facts from their documents: PNRGOV has no other place for them."""
    # One pass over the documents, not three generators (measured): first value of each.
    gender, birth, nationality = "", None, ""
    for d in t.documents:
        if not gender and d.gender:
            gender = _traveller_gender(d.gender)
        if birth is None and d.date_of_birth:
            birth = d.date_of_birth
        if not nationality and d.nationality:
            nationality = d.nationality
    t.gender, t.date_of_birth, t.nationality = gender, birth, nationality
    t.residence_country = next((a.country for a in t.addresses if a.kind == "R" and a.country), "")


def _doca_able(addr: Address) -> bool:
    return addr.kind in ("R", "D") and not addr.phone


def _doco_able(doc: Document) -> bool:
    """A visa-like document (written as SSR DOCO): DOCO-only data and no DOCS-only field."""
    return (doc.date_of_issue is not None or bool(doc.place_of_issue or doc.valid_for)) and not any(
        getattr(doc, f) for f in _DOCS_ONLY_FIELDS
    )


def _no_slash(value: str) -> str:
    return value.replace("/", " ") if "/" in value else value
