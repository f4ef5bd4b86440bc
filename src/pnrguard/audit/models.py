"""What an audit entry is: who did which operation, when, for which purpose, on which records.

An entry records accountability facts (REQUIREMENTS §7: collection, consultation,
alteration, combination, disclosure, erasure; purpose, time, who, to whom) and never
personal content. The log is given to the supervisory authority on request and kept for
years, so it must not become a second copy of the PNR data: record ids are opaque
references into the store, counts are numbers under non-personal category keys
(``{"sensitive.health": 2}``). `_check_opaque` is a simple guard against a caller passing a
name or a free-text remark by mistake; it is not a classifier, and callers stay responsible
for passing ids rather than content.

The canonical byte encoding of an entry is what is hashed into the Merkle tree. It is
canonical JSON (sorted keys, no spaces, UTF-8, integers only) with a version field ``v``
so the encoding can evolve without reinterpreting old leaves. `AuditEntry.from_canonical`
refuses any input that does not re-encode to the same bytes, so one entry has exactly one
encoding and a changed byte can never decode to an unchanged entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pnrguard.errors import N_, AuditError

#: Version of the canonical encoding, hashed into every leaf.
ENCODING_VERSION = 1

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

#: Opaque ids (record ids, actor ids, references): 1-64 characters from a small alphabet
#: without spaces or "@", so names, remarks and e-mail addresses are refused.
_OPAQUE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=#-]{0,63}")
#: Role codes: lower-case snake_case, short.
_ROLE = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: Count keys: dotted lower-case category paths such as "sensitive.health".
_COUNT_KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
_COUNT_KEY_MAX = 64
_MAX_RECORD_IDS = 10_000


class Operation(StrEnum):
    """The kinds of processing the law asks a PIU to log.

    The first six are the list of Directive 2016/681 Art. 13 and Directive 2016/680
    Art. 25. The last four are distinct events a DPO or a court asks about separately, so
    they get their own code rather than hiding inside a generic one:

    - ``masking``: depersonalisation at 6 months (2016/681 Art. 12(2)), an alteration by
      schedule;
    - ``unmasking``: re-identification after judicial approval (Art. 12(3));
    - ``key_destruction``: crypto-shredding of a booking's data keys, the erasure itself;
    - ``refusal``: an access that was refused (missing purpose, role or approval), logged
      for security of processing (Art. 13).
    """

    COLLECTION = "collection"
    CONSULTATION = "consultation"
    ALTERATION = "alteration"
    COMBINATION = "combination"
    DISCLOSURE = "disclosure"
    ERASURE = "erasure"
    MASKING = "masking"
    UNMASKING = "unmasking"
    KEY_DESTRUCTION = "key_destruction"
    REFUSAL = "refusal"


class Purpose(StrEnum):
    """Why the processing happened: terrorism, one of the 26 serious-crime offences of
    Annex II of Directive 2016/681 (in the Annex's order), or one of the node's own
    non-investigative purposes. Codes are stable: they are hashed into the log."""

    TERRORIST_OFFENCES = "terrorist_offences"
    # Annex II, items 1-26.
    PARTICIPATION_IN_CRIMINAL_ORGANISATION = "participation_in_criminal_organisation"
    TRAFFICKING_IN_HUMAN_BEINGS = "trafficking_in_human_beings"
    SEXUAL_EXPLOITATION_OF_CHILDREN = "sexual_exploitation_of_children"
    ILLICIT_TRAFFICKING_IN_DRUGS = "illicit_trafficking_in_drugs"
    ILLICIT_TRAFFICKING_IN_WEAPONS = "illicit_trafficking_in_weapons"
    CORRUPTION = "corruption"
    FRAUD = "fraud"
    MONEY_LAUNDERING_AND_COUNTERFEITING_CURRENCY = "money_laundering_and_counterfeiting_currency"
    CYBERCRIME = "cybercrime"
    ENVIRONMENTAL_CRIME = "environmental_crime"
    FACILITATION_OF_UNAUTHORISED_ENTRY = "facilitation_of_unauthorised_entry"
    MURDER_GRIEVOUS_BODILY_INJURY = "murder_grievous_bodily_injury"
    ILLICIT_TRADE_IN_HUMAN_ORGANS = "illicit_trade_in_human_organs"
    KIDNAPPING_AND_HOSTAGE_TAKING = "kidnapping_and_hostage_taking"
    ORGANISED_OR_ARMED_ROBBERY = "organised_or_armed_robbery"
    ILLICIT_TRAFFICKING_IN_CULTURAL_GOODS = "illicit_trafficking_in_cultural_goods"
    COUNTERFEITING_AND_PIRACY_OF_PRODUCTS = "counterfeiting_and_piracy_of_products"
    FORGERY_OF_ADMINISTRATIVE_DOCUMENTS = "forgery_of_administrative_documents"
    ILLICIT_TRAFFICKING_IN_HORMONAL_SUBSTANCES = "illicit_trafficking_in_hormonal_substances"
    ILLICIT_TRAFFICKING_IN_NUCLEAR_MATERIALS = "illicit_trafficking_in_nuclear_materials"
    RAPE = "rape"
    CRIMES_WITHIN_ICC_JURISDICTION = "crimes_within_icc_jurisdiction"
    UNLAWFUL_SEIZURE_OF_AIRCRAFT_OR_SHIPS = "unlawful_seizure_of_aircraft_or_ships"
    SABOTAGE = "sabotage"
    TRAFFICKING_IN_STOLEN_VEHICLES = "trafficking_in_stolen_vehicles"
    INDUSTRIAL_ESPIONAGE = "industrial_espionage"
    # The node's own, non-investigative purposes.
    INGEST = "ingest"
    RETENTION = "retention"
    DPO_SUPERVISION = "dpo_supervision"
    DATA_SUBJECT_REQUEST = "data_subject_request"
    SYSTEM_SECURITY = "system_security"


#: Purposes of Annex II of Directive 2016/681 (serious crime), in the Annex's order.
ANNEX_II_PURPOSES: tuple[Purpose, ...] = tuple(
    p
    for p in Purpose
    if p
    not in {
        Purpose.TERRORIST_OFFENCES,
        Purpose.INGEST,
        Purpose.RETENTION,
        Purpose.DPO_SUPERVISION,
        Purpose.DATA_SUBJECT_REQUEST,
        Purpose.SYSTEM_SECURITY,
    }
)
#: Purposes for which the Directive allows investigative processing (Art. 1(2)).
INVESTIGATIVE_PURPOSES: frozenset[Purpose] = frozenset(
    (Purpose.TERRORIST_OFFENCES, *ANNEX_II_PURPOSES)
)


def _check_opaque(value: object, what: str) -> str:
    if not isinstance(value, str) or not _OPAQUE_ID.fullmatch(value):
        raise AuditError(
            N_("%(what)s must be an opaque id (1-64 of A-Z a-z 0-9 . _ : / + = # -, no spaces)"), what=what
        )
    return value


def format_time(at: datetime) -> str:
    """The canonical text of a time: UTC with microseconds, e.g. 2024-05-01T12:00:00.000000Z."""
    return at.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Inverse of `format_time`; refuses anything else so the encoding stays canonical."""
    try:
        at = datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise AuditError(N_("time is not in canonical form")) from exc
    if format_time(at) != text:
        raise AuditError(N_("time is not in canonical form"))
    return at


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One accountability fact. Construction validates every field, so an `AuditEntry` that
    exists is one the log may store.

    `seq` is the 0-based position in the log (and the Merkle leaf index); `at` is
    timezone-aware and normalised to UTC with microsecond precision (what databases keep).
    """

    seq: int
    at: datetime
    actor: str
    role: str
    operation: Operation
    purpose: Purpose
    record_ids: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    reference: str | None = None

    def __post_init__(self) -> None:
        if type(self.seq) is not int or self.seq < 0:
            raise AuditError(N_("seq must be a non-negative integer"))
        if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
            raise AuditError(N_("at must be a timezone-aware datetime"))
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        _check_opaque(self.actor, "actor")
        if not isinstance(self.role, str) or not _ROLE.fullmatch(self.role):
            raise AuditError(N_("role must be a short snake_case code"))
        try:
            object.__setattr__(self, "operation", Operation(self.operation))
            object.__setattr__(self, "purpose", Purpose(self.purpose))
        except ValueError as exc:
            raise AuditError(N_("unknown operation or purpose code")) from exc
        if isinstance(self.record_ids, str):
            raise AuditError(N_("record_ids must be a sequence of ids, not one string"))
        ids = tuple(self.record_ids)
        if len(ids) > _MAX_RECORD_IDS:
            raise AuditError(N_(
                "at most %(MAX_RECORD_IDS)s record ids per entry"
            ), MAX_RECORD_IDS=_MAX_RECORD_IDS)
        for i, rid in enumerate(ids):
            _check_opaque(rid, f"record_ids[{i}]")
        object.__setattr__(self, "record_ids", ids)
        counts: dict[str, int] = {}
        for key, value in dict(self.counts).items():
            if (
                not isinstance(key, str)
                or len(key) > _COUNT_KEY_MAX
                or not _COUNT_KEY.fullmatch(key)
            ):
                raise AuditError(N_("counts keys must be dotted snake_case category codes"))
            if type(value) is not int or value < 0:
                raise AuditError(N_("counts[%(key)s] must be a non-negative integer"), key=key)
            counts[key] = value
        object.__setattr__(self, "counts", MappingProxyType(dict(sorted(counts.items()))))
        if self.reference is not None:
            _check_opaque(self.reference, "reference")

    def to_json_obj(self) -> dict[str, Any]:
        """The entry as plain JSON values (also the export format of `pnrguard audit export`)."""
        return {
            "v": ENCODING_VERSION,
            "seq": self.seq,
            "at": format_time(self.at),
            "actor": self.actor,
            "role": self.role,
            "operation": self.operation.value,
            "purpose": self.purpose.value,
            "record_ids": list(self.record_ids),
            "counts": dict(self.counts),
            "reference": self.reference,
        }

    def canonical_bytes(self) -> bytes:
        """The bytes hashed into the log: canonical JSON (sorted keys, no spaces, UTF-8)."""
        return json.dumps(
            self.to_json_obj(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any]) -> AuditEntry:
        """Rebuild an entry from `to_json_obj` output; refuses unknown or missing fields."""
        expected = {
            "v", "seq", "at", "actor", "role", "operation", "purpose", "record_ids", "counts",
            "reference",
        }  # fmt: skip
        if not isinstance(obj, Mapping) or set(obj) != expected:
            raise AuditError(N_("entry has missing or unknown fields"))
        if obj["v"] != ENCODING_VERSION or type(obj["v"]) is not int:
            raise AuditError(N_("unsupported entry encoding version"))
        if not isinstance(obj["at"], str) or not isinstance(obj["record_ids"], list):
            raise AuditError(N_("entry fields have the wrong types"))
        if not isinstance(obj["counts"], dict):
            raise AuditError(N_("entry fields have the wrong types"))
        return cls(
            seq=obj["seq"],
            at=parse_time(obj["at"]),
            actor=obj["actor"],
            role=obj["role"],
            operation=obj["operation"],
            purpose=obj["purpose"],
            record_ids=tuple(obj["record_ids"]),
            counts=obj["counts"],
            reference=obj["reference"],
        )

    @classmethod
    def from_canonical(cls, data: bytes) -> AuditEntry:
        """Decode canonical bytes; refuses input that is not exactly canonical."""
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise AuditError(N_("entry bytes are not UTF-8 JSON")) from exc
        entry = cls.from_json_obj(obj)
        if entry.canonical_bytes() != data:
            raise AuditError(N_("entry bytes are not in canonical form"))
        return entry

