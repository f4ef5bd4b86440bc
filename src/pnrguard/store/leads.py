"""Financing leads, their records and their disclosures to the financial intelligence unit.

What is stored and why (docs/links.md, "Financing leads"; docs/data-protection.md):

- `financing_lead`: one payment pattern found by `service.leads` (links/leads.py), for an
  analyst to review. Derived from keyed digests only: the card is its blind-index token,
  the route two airport codes, the dates flight dates. A fingerprint (SHA-256 over the
  kind, the digest or route and the booking ids) keeps a rerun from filing it twice.
  The review is a code (never free text), so nothing here has to be sealed at masking.
- `financing_lead_record`: which (booking, traveller ref) a lead names, with the opaque
  person id the link graph uses. Ids only.
- `lead_disclosure`: a confirmed lead proposed for, and released to, a competent authority
  (the FIU) under four eyes (`service.four_eyes.may_leave`), with the SHA-256 of the package
  at release. Ids, codes and times only: the package is rebuilt, never stored.

Life cycle: the booking's (`forget_leads`, called by `lifecycle.mask_bookings` and
`lifecycle.delete_bookings`). At deletion every lead naming the booking goes with its
records and disclosures (the pattern was computed from the deleted data); at masking an
open lead naming it goes (it can no longer be reviewed without an unmasking) and a decided
one loses its card digest (the digest could confirm a guessed card, as a hit's person
digest could). Schema via `migrations/versions/0024_links_leads.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.store.db import chunks, conflict_insert, in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "LEAD_KINDS",
    "LEAD_STATUSES",
    "REVIEW_CODES",
    "DisclosureRecord",
    "LeadRecord",
    "financing_lead",
    "financing_lead_record",
    "forget_leads",
    "lead_disclosure",
]

LEAD_KINDS = ("card_many_unrelated", "card_of_confirmed", "cash_on_route")
LEAD_STATUSES = ("open", "confirmed", "dismissed")
DISCLOSURE_STATUSES = ("pending", "released", "rejected")
#: Why a reviewer decided as they did: codes, so that no free text about a person is kept.
REVIEW_CODES = {
    "confirmed": ("pattern_unexplained", "linked_to_case", "other_reason_on_file"),
    "dismissed": ("related_travellers", "travel_agency_or_employer", "known_legitimate", "insufficient"),
}

financing_lead = Table(
    "financing_lead",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("card_token", LargeBinary(16), nullable=True),  # blind-index digest of the card
    Column("origin", String(5), nullable=True),
    Column("destination", String(5), nullable=True),
    Column("first_day", Date, nullable=True),
    Column("last_day", Date, nullable=True),
    Column("persons", Integer, nullable=False),
    Column("bookings", Integer, nullable=False),
    Column("hit_id", String(ID_LENGTH), ForeignKey("hit.id"), nullable=True),  # card_of_confirmed
    Column("rule_id", String(40), nullable=True),  # cash_on_route: the criterion naming the route
    Column("purpose", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("found_at", UTCDateTime(), nullable=False),
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", UTCDateTime(), nullable=True),
    Column("review_code", String(32), nullable=True),
    CheckConstraint(in_values("kind", LEAD_KINDS), name="kind"),
    CheckConstraint(in_values("status", LEAD_STATUSES), name="status"),
    Index("ix_financing_lead_status_found_at", "status", "found_at"),
)

financing_lead_record = Table(
    "financing_lead_record",
    metadata,
    Column("lead_id", String(ID_LENGTH), ForeignKey("financing_lead.id"), primary_key=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Column("traveller_ref", String(32), primary_key=True),
    Column("person", String(32), nullable=False),  # the link graph's opaque person id
    Index("ix_financing_lead_record_booking_id", "booking_id"),
)

lead_disclosure = Table(
    "lead_disclosure",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("lead_id", String(ID_LENGTH), ForeignKey("financing_lead.id"), nullable=False),
    Column("authority_id", String(ID_LENGTH), ForeignKey("competent_authority.id"), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("released_at", UTCDateTime(), nullable=True),
    Column("package_sha256", LargeBinary(32), nullable=True),
    CheckConstraint(in_values("status", DISCLOSURE_STATUSES), name="status"),
    Index("ix_lead_disclosure_lead_id", "lead_id"),
)


@dataclass(frozen=True, slots=True)
class LeadRecord:
    id: str
    kind: str
    fingerprint: str
    card_token: bytes | None
    origin: str | None
    destination: str | None
    first_day: dt.date | None
    last_day: dt.date | None
    persons: int
    bookings: int
    hit_id: str | None
    rule_id: str | None
    purpose: str
    status: str
    found_at: dt.datetime
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    review_code: str | None = None

    @classmethod
    def from_row(cls, r: Row[Any]) -> LeadRecord:
        m: dict[str, Any] = {k: r._mapping[k] for k in _LEAD_COLS}
        if m["card_token"] is not None:
            m["card_token"] = bytes(m["card_token"])
        return cls(**m)


_LEAD_COLS = [c.name for c in financing_lead.columns]


@dataclass(frozen=True, slots=True)
class DisclosureRecord:
    id: str
    lead_id: str
    authority_id: str
    purpose: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    package_sha256: bytes | None = None

    @classmethod
    def from_row(cls, r: Row[Any]) -> DisclosureRecord:
        m = dict(r._mapping)
        if m["package_sha256"] is not None:
            m["package_sha256"] = bytes(m["package_sha256"])
        return cls(**m)


# --- leads ---------------------------------------------------------------------------------


def known_fingerprints(conn: Connection, fingerprints: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for chunk in chunks(sorted(set(fingerprints))):
        q = select(financing_lead.c.fingerprint).where(financing_lead.c.fingerprint.in_(chunk))
        out.update(conn.execute(q).scalars())
    return out


def insert_lead(conn: Connection, rec: LeadRecord, records: Sequence[tuple[str, str, str]]) -> bool:
    """A lead and its (booking id, traveller ref, person) records; False, and nothing written,
    when a lead with its fingerprint exists: two worker processes detecting the same pattern
    at once both pass `known_fingerprints`, and the second must not fail its whole run."""
    columns = {k: getattr(rec, k) for k in _LEAD_COLS}
    values = conflict_insert(conn.dialect.name, financing_lead).values(columns)
    stmt = values.on_conflict_do_nothing(index_elements=["fingerprint"]).returning(financing_lead.c.id)
    if conn.execute(stmt).first() is None:  # (rowcount is -1 for an INSERT through psycopg)
        return False
    rows = [{"lead_id": rec.id, "booking_id": b, "traveller_ref": r, "person": p} for b, r, p in records]
    if rows:
        conn.execute(insert(financing_lead_record), rows)
    return True


def get_lead(conn: Connection, lead_id: str) -> LeadRecord | None:
    r = conn.execute(select(financing_lead).where(financing_lead.c.id == lead_id)).first()
    return None if r is None else LeadRecord.from_row(r)


def list_leads(
    conn: Connection, *, status: str | None, offset: int = 0, limit: int = 50
) -> tuple[list[LeadRecord], int]:
    q = select(financing_lead)
    n = select(func.count()).select_from(financing_lead)
    if status is not None:
        q = q.where(financing_lead.c.status == status)
        n = n.where(financing_lead.c.status == status)
    rows = conn.execute(q.order_by(financing_lead.c.found_at.desc(), financing_lead.c.id.desc())
                        .offset(offset).limit(limit))  # fmt: skip
    return [LeadRecord.from_row(r) for r in rows], int(conn.execute(n).scalar_one())


def records_of(conn: Connection, lead_id: str) -> list[tuple[str, str, str]]:
    """(booking id, traveller ref, person) of a lead, in booking order."""
    q = select(financing_lead_record).where(financing_lead_record.c.lead_id == lead_id)
    rows = conn.execute(q.order_by(financing_lead_record.c.booking_id, financing_lead_record.c.traveller_ref))
    return [(r.booking_id, r.traveller_ref, r.person) for r in rows]


def set_review(conn: Connection, lead_id: str, *, status: str, by: str, at: dt.datetime, code: str) -> bool:
    """Decide an open lead; False if it is no longer open."""
    res = conn.execute(
        update(financing_lead)
        .where(financing_lead.c.id == lead_id, financing_lead.c.status == "open")
        .values(status=status, reviewed_by=by, reviewed_at=at, review_code=code)
    )
    return bool(res.rowcount)


# --- disclosures ---------------------------------------------------------------------------


def insert_disclosure(conn: Connection, rec: DisclosureRecord) -> None:
    conn.execute(
        insert(lead_disclosure).values(**{c.name: getattr(rec, c.name) for c in lead_disclosure.columns})
    )


def get_disclosure(conn: Connection, disclosure_id: str) -> DisclosureRecord | None:
    r = conn.execute(select(lead_disclosure).where(lead_disclosure.c.id == disclosure_id)).first()
    return None if r is None else DisclosureRecord.from_row(r)


def disclosures_of(conn: Connection, lead_id: str) -> list[DisclosureRecord]:
    q = (
        select(lead_disclosure)
        .where(lead_disclosure.c.lead_id == lead_id)
        .order_by(lead_disclosure.c.proposed_at)
    )
    return [DisclosureRecord.from_row(r) for r in conn.execute(q)]


def decide_disclosure(
    conn: Connection,
    disclosure_id: str,
    *,
    status: str,
    by: str,
    at: dt.datetime,
    sha256: bytes | None = None,
) -> bool:
    """Release or reject a pending disclosure; False if it is no longer pending."""
    values: dict[str, Any] = {"status": status, "decided_by": by, "decided_at": at}
    if status == "released":
        values |= {"released_at": at, "package_sha256": sha256}
    res = conn.execute(
        update(lead_disclosure)
        .where(lead_disclosure.c.id == disclosure_id, lead_disclosure.c.status == "pending")
        .values(**values)
    )
    return bool(res.rowcount)


# --- life cycle ----------------------------------------------------------------------------


def _leads_naming(conn: Connection, booking_ids: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for chunk in chunks(list(booking_ids)):
        q = select(financing_lead_record.c.lead_id).where(financing_lead_record.c.booking_id.in_(chunk))
        out.update(conn.execute(q).scalars())
    return out


def forget_leads(conn: Connection, booking_ids: Sequence[str], *, deleted: bool) -> int:
    """The lifecycle hook. Deletion: every lead naming one of the bookings goes, with its
    records and disclosures. Masking: open leads naming them go; decided ones keep their
    ids and codes but lose the card digest. Returns the leads removed."""
    leads = sorted(_leads_naming(conn, booking_ids))
    if not leads:
        return 0
    if deleted:
        drop = leads
    else:
        drop = []
        for chunk in chunks(leads):
            drop += list(conn.execute(select(financing_lead.c.id).where(
                financing_lead.c.id.in_(chunk), financing_lead.c.status == "open")).scalars())  # fmt: skip
            conn.execute(update(financing_lead).where(financing_lead.c.id.in_(chunk)).values(card_token=None))
    for chunk in chunks(sorted(drop)):
        conn.execute(delete(lead_disclosure).where(lead_disclosure.c.lead_id.in_(chunk)))
        conn.execute(delete(financing_lead_record).where(financing_lead_record.c.lead_id.in_(chunk)))
        conn.execute(delete(financing_lead).where(financing_lead.c.id.in_(chunk)))
    return len(drop)
