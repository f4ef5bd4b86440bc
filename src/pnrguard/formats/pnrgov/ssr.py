"""SSR segments: documents (DOCS/DOCA/DOCO, placed when the SRC group ends), contacts
(CTCx), seat requests (SEAT and the smoking requests naming the seat in free text), and
every other service request as sent."""

from __future__ import annotations

import re
from typing import Final

from pnrguard.domain.model import Address, Contact, Document, Seat, ServiceRequest, Traveller
from pnrguard.formats.edifact import Segment
from pnrguard.formats.pnrgov.contacts import _CTC_SSR, _contact
from pnrguard.formats.pnrgov.documents import _docs_document, _field, _is_infant_gender, _slash_fields
from pnrguard.formats.pnrgov.state import _LEG, _TRAVELLER, BookingReader, Pending
from pnrguard.formats.pnrgov.values import _date7

# Seat requests (AIRIMP): SEAT, and the smoking/non-smoking requests that name the seat in
# their free text (`NSST ... 12AN`); RQST is a generic seat request.
_SEAT_CODES: Final = frozenset(
    {"SEAT", "NSST", "NSSA", "NSSW", "NSSB", "SMST", "SMSA", "SMSW", "SMSB", "RQST"}
)
_SEAT_IN_TEXT: Final = re.compile(r"(?<![0-9A-Z])0*([1-9][0-9]{0,2})([A-HJ-L])(?:[NSWAB]?)(?![0-9A-Z])")


def ssr(rd: BookingReader, seg: Segment) -> bool:
    els = seg.elements
    head = els[0] if els else []
    code = head[0] if head else ""
    if code != code.strip().upper():
        # `docs`, ` DOCS`: read as the code it is, so DOCS is placed and the
        # sensitive-data filter (which matches codes) sees `WCHR`, not `wchr`.
        rd.ctx.deviate("ssr_code_irregular", seg)
        code = code.strip().upper()
    text = ":".join(head[8:]) if len(head) > 8 else ""
    ref = els[1][2] if len(els) > 1 and len(els[1]) > 2 else ""
    status = head[1] if len(head) > 1 else ""
    carrier = head[3] if len(head) > 3 else ""
    place_ssr(rd, code, status, carrier, text, ref, els[1:], seg.index)
    return False


def place_ssr(
    rd: BookingReader,
    code: str,
    status: str,
    carrier: str,
    text: str,
    ref: str,
    rest: list[list[str]] | None,
    index: int,
) -> None:
    """One SSR, its parts read (by `ssr`, or from the raw text by `fast.ssr`): `rest` (the
    elements after the first) is needed only for the seat codes."""
    state = rd.state
    context = rd.traveller if state == _TRAVELLER else None
    leg_index = rd.leg_index if state == _LEG else None
    if code in ("DOCS", "DOCA", "DOCO"):
        pending_ssr(rd, code, text, ref, context, index)
        return
    if code in _CTC_SSR:  # SSR CTCE/CTCM...: a contact, as the same text in an OSI is
        contact = _contact(f"{code} {text}")
        if contact is not None:
            kind, value, use = contact
            owner = ref or (context.ref if context else "")
            rd.b.contacts.append(Contact(kind=kind, value=value, traveller_ref=owner, use=use))
            return
    if code in _SEAT_CODES:
        seats = [e for e in rest if e and e[0]] if rest is not None else []
        if seats:
            for e in seats:
                seat_ref = e[2] if len(e) > 2 and e[2] else (ref or (context.ref if context else ""))
                rd.b.seats.append(Seat(seat=e[0], traveller_ref=seat_ref, leg_index=leg_index))
            return
        found = _SEAT_IN_TEXT.findall(text.upper())
        if found:  # NSST/RQST...: the seat in the free text (`12AN`: 12A, non-smoking)
            seat_ref = ref or (context.ref if context else "")
            for row, letter in found:
                rd.b.seats.append(
                    Seat(seat=f"{int(row)}{letter}", traveller_ref=seat_ref, leg_index=leg_index)
                )
            return
    if not ref and context is not None:
        ref = context.ref
    rd.b.service_requests.append(
        ServiceRequest(
            code=code,
            status=status,
            carrier=carrier,
            text=text,
            traveller_ref=ref,
            leg_index=leg_index,
        )
    )


def pending_ssr(
    rd: BookingReader, code: str, text: str, ref: str, context: Traveller | None, index: int
) -> None:
    fields = _slash_fields(text)
    if code == "DOCS":
        doc, bad = _docs_document(fields, rd.ctx.today)
        if bad:
            rd.ctx.deviate_at("docs_date_unreadable", index, "SSR")
        rd.pending.append(
            Pending("DOCS", doc, ref, context, _is_infant_gender(doc.gender), doc.surname, index)
        )
    elif code == "DOCA":
        addr = Address(
            kind=_field(fields, 0),
            country=_field(fields, 1),
            street=_field(fields, 2),
            city=_field(fields, 3),
            region=_field(fields, 4),
            postal_code=_field(fields, 5),
        )
        infant = _field(fields, 6) == "I"
        rd.pending.append(Pending("DOCA", addr, ref, context, infant, "", index))
    else:
        issue_text = _field(fields, 4)
        issued = _date7(issue_text, True, rd.ctx.today) if issue_text else None
        if issue_text.strip() and issued is None:
            rd.ctx.deviate_at("doco_date_unreadable", index, "SSR")
        # /birth place/type/number/place of issue/date of issue/country valid for/infant:
        # the country a visa is valid for is not the country that issued it.
        doc_type, number = _field(fields, 1), _field(fields, 2)
        place, valid_for = _field(fields, 3), _field(fields, 5)
        doco: Document | None = None
        if doc_type or number or place or valid_for or issued is not None:
            doco = Document(
                doc_type=doc_type, number=number, date_of_issue=issued,
                place_of_issue=place, valid_for=valid_for,
            )  # fmt: skip
        infant = _field(fields, 6) == "I"
        rd.pending.append(Pending("DOCO", doco, ref, context, infant, "", index, _field(fields, 0)))
