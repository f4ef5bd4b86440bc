"""The messages PIUs exchange (Directive 2016/681 Art. 9, 10, 11): pydantic models.

Four kinds travel, each as one JSON document (an *envelope*), POSTed to the receiver's peer
API and signed (RFC 9421, see `signatures`):

- ``request``: a duly reasoned request for data about a person or a booking (Art. 9(2)),
  naming the purpose, the case reference, the legal basis and the reasoning;
- ``europol_request``: the same from Europol (Art. 10); accepted only from a peer
  registered as Europol;
- ``answer``: the receiving PIU's decision on a request, sent only after a person approved
  it: data (masked unless an unmasking approval covered it), no data, or a refusal;
- ``transfer``: a spontaneous transfer of results (Art. 9(1)): a confirmed hit's booking.

Every envelope carries the sender's message id, the case reference, the purpose and
Europol-style handling codes (H0 crime fighting only, H1 not in court without permission,
H2 no onward transfer without permission, H3 other restrictions, spelled out) and, when it
carries data, the evaluation codes (source reliability A/B/C/X, information accuracy 1-4).
The receiving node keeps them with the data; H2 is enforced in code (`service.exchange`).

Validation here is structural and refuses anything outside the contract (unknown fields
included), so a peer's message is either fully understood or refused.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Purpose
from pnrguard.errors import N_, InputError

__all__ = [
    "ENVELOPE_FORMAT",
    "AnswerOutcome",
    "Envelope",
    "Evaluation",
    "HandlingCode",
    "InformationAccuracy",
    "MessageKind",
    "Record",
    "SourceReliability",
    "Subject",
    "parse_envelope",
]

ENVELOPE_FORMAT: Literal["pnrguard-exchange/1"] = "pnrguard-exchange/1"
MIN_REASONING = 20

MessageId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
#: Case references are opaque ids (they go into both audit logs).
CaseRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")]
NodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


class MessageKind(StrEnum):
    REQUEST = "request"
    EUROPOL_REQUEST = "europol_request"
    ANSWER = "answer"
    TRANSFER = "transfer"


REQUEST_KINDS = frozenset({MessageKind.REQUEST, MessageKind.EUROPOL_REQUEST})


class HandlingCode(StrEnum):
    """Europol-style handling codes: conditions the receiver must respect."""

    H0 = "H0"  # use for crime fighting only
    H1 = "H1"  # not to be used in court without the sender's permission
    H2 = "H2"  # no onward transfer without the sender's permission (enforced in code)
    H3 = "H3"  # other restrictions, spelled out in `handling_conditions`


class SourceReliability(StrEnum):
    A = "A"  # no doubt about the source
    B = "B"  # source mostly reliable
    C = "C"  # source mostly not reliable
    X = "X"  # reliability cannot be assessed


class InformationAccuracy(StrEnum):
    KNOWN_TRUE = "1"  # known to be true without reservation
    KNOWN_TO_SOURCE = "2"  # known personally to the source
    CORROBORATED = "3"  # not known personally, corroborated
    UNCORROBORATED = "4"  # cannot be judged


class AnswerOutcome(StrEnum):
    DATA = "data"
    NO_DATA = "no_data"
    REFUSED = "refused"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Evaluation(_Model):
    source: SourceReliability
    accuracy: InformationAccuracy

    @property
    def code(self) -> str:
        return f"{self.source.value}{self.accuracy.value}"


class Subject(_Model):
    """Whom or what a request is about: a person, or a booking. Personal data: it is stored
    encrypted at both ends and never logged."""

    kind: Literal["person", "booking"]
    surname: Annotated[str, StringConstraints(max_length=100)] | None = None
    given_names: Annotated[str, StringConstraints(max_length=100)] | None = None
    date_of_birth: dt.date | None = None
    document_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    nationality: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")] | None = None
    carrier: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,3}$")] | None = None
    locator: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5,8}$")] | None = None
    flight_date: dt.date | None = None

    @model_validator(mode="after")
    def _enough(self) -> Subject:
        if self.kind == "person" and not (self.surname or self.document_number):
            raise ValueError("a person is named by a surname or a document number")
        if self.kind == "booking" and not (self.carrier and self.locator):
            raise ValueError("a booking is named by its carrier and record locator")
        return self


class Record(_Model):
    """One booking in an answer or transfer. `masked`: the identity fields were withheld
    (the booking was depersonalised and no unmasking approval covered it)."""

    ref: MessageId  # the sender's opaque booking id: lets both sides refer to it later
    masked: bool
    booking: dict[str, Any]


class Envelope(_Model):
    format: Literal["pnrguard-exchange/1"] = ENVELOPE_FORMAT
    message_id: MessageId
    kind: MessageKind
    sender: NodeName
    recipient: NodeName
    sent_at: dt.datetime
    case_ref: CaseRef
    purpose: Purpose
    legal_basis: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    handling: Annotated[list[HandlingCode], Field(min_length=1, max_length=4)]
    handling_conditions: Text | None = None
    evaluation: Evaluation | None = None
    reasoning: Text | None = None
    subject: Subject | None = None
    in_reply_to: MessageId | None = None
    outcome: AnswerOutcome | None = None
    #: A further answer to a request already answered: explicit, or the receiver refuses it.
    supplement: bool | None = None
    onward_transfer_condition: Text | None = None
    records: Annotated[list[Record], Field(max_length=500)] = []

    @model_validator(mode="after")
    def _contract(self) -> Envelope:
        if self.purpose not in INVESTIGATIVE_PURPOSES:
            raise ValueError("purpose must be terrorism or an Annex II offence")
        if len(set(self.handling)) != len(self.handling):
            raise ValueError("a handling code is repeated")
        if (HandlingCode.H3 in self.handling) != bool(self.handling_conditions):
            raise ValueError("H3 needs handling_conditions, and only H3 has them")
        if self.kind in REQUEST_KINDS:
            if self.subject is None or self.records or self.outcome or self.in_reply_to:
                raise ValueError("a request names a subject and carries no records or outcome")
            if not self.reasoning or len(self.reasoning) < MIN_REASONING:
                raise ValueError(f"a request is duly reasoned (at least {MIN_REASONING} characters)")
        elif self.kind is MessageKind.ANSWER:
            if self.in_reply_to is None or self.outcome is None or self.subject is not None:
                raise ValueError("an answer names the request it answers and its outcome")
            if (self.outcome is AnswerOutcome.DATA) != bool(self.records):
                raise ValueError("an answer carries records exactly when its outcome is data")
        else:  # transfer
            if not self.records or self.subject is not None or self.outcome or self.in_reply_to:
                raise ValueError("a transfer carries records and nothing of a request or answer")
        if self.records and self.evaluation is None:
            raise ValueError("data is sent with its evaluation codes")
        return self

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode("utf-8")


def parse_envelope(body: bytes) -> Envelope:
    """Parse and validate a received envelope; `InputError` names fields, never values."""
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) or "envelope" for e in exc.errors()})
        raise InputError(N_("envelope refused: invalid %(items)s"), items=", ".join(where[:5])) from None
