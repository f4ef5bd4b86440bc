"""Workspace storage: competent authorities, their requests, and transmissions.

What is stored and why (docs/workspace.md):

- `competent_authority`: the authorities a PIU may transmit to (Art. 7: each member state
  lists them) and that may send it requests: national authorities, peer PIUs, Europol.
- `authority_request`: a duly reasoned request (Art. 6(2)(b)): who asked, the case
  reference, the purpose (terrorism or an Annex II offence) and the reason, and the PIU's
  decision on it. A request is the only way to open a record outside a hit.
- `request_result`: the bookings a request's searches found. A record can be opened under
  a request only if one of its searches found it, so the purpose binds the records opened
  and not only the search.
- `link_addition`: what link analysis added to a case (issue 16): the bookings of a person a
  hit's or request's neighbourhood showed, and the graph they were added from (its start
  record and depth), so a disclosure package can carry that graph. Ids only.
- `transmission`: a disclosure to a named competent authority, with the legal purpose, the
  proposer and (with four eyes) the approving supervisor. The disclosure package itself is
  *not* stored: it holds personal data and is rebuilt from the encrypted booking version it
  names whenever it is downloaded; its SHA-256 at release is kept so anyone can check that
  a package is the one that was released.

Functions here run on the caller's `Connection` and never commit. Schema only via Alembic
(`migrations/versions/0005_workspace.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "AUTHORITY_KINDS",
    "REQUEST_STATUSES",
    "TRANSMISSION_STATUSES",
    "AuthorityRecord",
    "LinkAddition",
    "RequestRecord",
    "TransmissionRecord",
    "authority_request",
    "competent_authority",
    "link_addition",
    "request_result",
    "transmission",
]

AUTHORITY_KINDS = ("national", "piu", "europol", "third_country")
REQUEST_STATUSES = ("open", "answered", "refused")
#: ``withdrawn``: the proposer took a pending transmission back (0021_triage); nothing left.
TRANSMISSION_STATUSES = ("pending", "released", "rejected", "withdrawn")



competent_authority = Table(
    "competent_authority",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(in_values("kind", AUTHORITY_KINDS), name="kind"),
)

authority_request = Table(
    "authority_request",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("authority_id", String(ID_LENGTH), ForeignKey("competent_authority.id"), nullable=False),
    Column("case_reference", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decision_reason", Text, nullable=True),
    CheckConstraint(in_values("status", REQUEST_STATUSES), name="status"),
    Index("ix_authority_request_status_registered_at", "status", "registered_at"),
)

request_result = Table(
    "request_result",
    metadata,
    Column("request_id", String(ID_LENGTH), ForeignKey("authority_request.id"), primary_key=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Column("found_at", UTCDateTime(), nullable=False),
)

link_addition = Table(
    "link_addition",
    metadata,
    Column("basis", String(80), primary_key=True),  # "hit:<id>" or "request:<id>"
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Column("start_booking_id", String(ID_LENGTH), ForeignKey("booking.id"), nullable=False),
    Column("start_ref", String(32), nullable=False),
    Column("depth", Integer, nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    CheckConstraint("depth IN (1, 2)", name="depth"),
)

transmission = Table(
    "transmission",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("hit_id", String(ID_LENGTH), ForeignKey("hit.id"), nullable=True),
    Column("request_id", String(ID_LENGTH), ForeignKey("authority_request.id"), nullable=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), nullable=False),
    Column("booking_version", Integer, nullable=False),
    Column("authority_id", String(ID_LENGTH), ForeignKey("competent_authority.id"), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("justification", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("released_at", UTCDateTime(), nullable=True),
    Column("package_sha256", LargeBinary(32), nullable=True),
    CheckConstraint(in_values("status", TRANSMISSION_STATUSES), name="status"),
    CheckConstraint("hit_id IS NOT NULL OR request_id IS NOT NULL", name="origin"),
    CheckConstraint(
        "(status = 'released' AND released_at IS NOT NULL AND package_sha256 IS NOT NULL)"
        " OR (status <> 'released' AND released_at IS NULL AND package_sha256 IS NULL)",
        name="release",
    ),
    Index("ix_transmission_status_proposed_at", "status", "proposed_at"),
    Index("ix_transmission_hit_id", "hit_id"),
)


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorityRecord:
    id: str
    code: str
    name: str
    kind: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, r: Row[Any]) -> AuthorityRecord:
        return cls(r.id, r.code, r.name, r.kind, r.created_at)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    id: str
    authority_id: str
    case_reference: str
    purpose: str
    reason: str
    status: str
    registered_by: str
    registered_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None

    @classmethod
    def from_row(cls, r: Row[Any]) -> RequestRecord:
        return cls(
            r.id,
            r.authority_id,
            r.case_reference,
            r.purpose,
            r.reason,
            r.status,
            r.registered_by,
            r.registered_at,
            r.decided_by,
            r.decided_at,
            r.decision_reason,
        )


@dataclass(frozen=True, slots=True)
class TransmissionRecord:
    id: str
    hit_id: str | None
    request_id: str | None
    booking_id: str
    booking_version: int
    authority_id: str
    purpose: str
    justification: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    released_at: dt.datetime | None
    package_sha256: bytes | None

    @classmethod
    def from_row(cls, r: Row[Any]) -> TransmissionRecord:
        return cls(
            r.id,
            r.hit_id,
            r.request_id,
            r.booking_id,
            r.booking_version,
            r.authority_id,
            r.purpose,
            r.justification,
            r.status,
            r.proposed_by,
            r.proposed_at,
            r.decided_by,
            r.decided_at,
            r.decision_reason,
            r.released_at,
            bytes(r.package_sha256) if r.package_sha256 is not None else None,
        )


# --- competent authorities -----------------------------------------------------------------


def insert_authority(conn: Connection, rec: AuthorityRecord) -> None:
    conn.execute(
        insert(competent_authority).values(
            id=rec.id, code=rec.code, name=rec.name, kind=rec.kind, created_at=rec.created_at
        )
    )


def list_authorities(conn: Connection) -> list[AuthorityRecord]:
    rows = conn.execute(select(competent_authority).order_by(competent_authority.c.code))
    return [AuthorityRecord.from_row(r) for r in rows]


def get_authority(conn: Connection, authority_id: str) -> AuthorityRecord | None:
    r = conn.execute(select(competent_authority).where(competent_authority.c.id == authority_id)).first()
    return None if r is None else AuthorityRecord.from_row(r)


def authority_by_code(conn: Connection, code: str) -> AuthorityRecord | None:
    r = conn.execute(select(competent_authority).where(competent_authority.c.code == code)).first()
    return None if r is None else AuthorityRecord.from_row(r)


# --- requests ------------------------------------------------------------------------------


def insert_request(conn: Connection, rec: RequestRecord) -> None:
    conn.execute(
        insert(authority_request).values(
            id=rec.id,
            authority_id=rec.authority_id,
            case_reference=rec.case_reference,
            purpose=rec.purpose,
            reason=rec.reason,
            status=rec.status,
            registered_by=rec.registered_by,
            registered_at=rec.registered_at,
            decided_by=rec.decided_by,
            decided_at=rec.decided_at,
            decision_reason=rec.decision_reason,
        )
    )


def get_request(conn: Connection, request_id: str) -> RequestRecord | None:
    r = conn.execute(select(authority_request).where(authority_request.c.id == request_id)).first()
    return None if r is None else RequestRecord.from_row(r)


def list_requests(
    conn: Connection, *, status: str | None, offset: int, limit: int
) -> tuple[list[RequestRecord], int]:
    """A page of requests, newest first, and the total count."""
    q = select(authority_request)
    n = select(func.count()).select_from(authority_request)
    if status is not None:
        q = q.where(authority_request.c.status == status)
        n = n.where(authority_request.c.status == status)
    rows = conn.execute(
        q.order_by(authority_request.c.registered_at.desc(), authority_request.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [RequestRecord.from_row(r) for r in rows], int(conn.execute(n).scalar_one())


def decide_request(
    conn: Connection, request_id: str, *, status: str, by: str, at: dt.datetime, reason: str
) -> bool:
    done = conn.execute(
        update(authority_request)
        .where(authority_request.c.id == request_id, authority_request.c.status == "open")
        .values(status=status, decided_by=by, decided_at=at, decision_reason=reason)
    )
    return bool(done.rowcount)


def add_results(conn: Connection, request_id: str, booking_ids: list[str], *, at: dt.datetime) -> None:
    """Remember what a search found (ids already remembered are skipped)."""
    if not booking_ids:
        return
    known = set(
        conn.execute(
            select(request_result.c.booking_id).where(request_result.c.request_id == request_id)
        ).scalars()
    )
    rows = [
        {"request_id": request_id, "booking_id": b, "found_at": at}
        for b in dict.fromkeys(booking_ids)
        if b not in known
    ]
    if rows:
        conn.execute(insert(request_result), rows)


def add_links(
    conn: Connection,
    basis: str,
    booking_ids: Sequence[str],
    *,
    start: tuple[str, str],
    depth: int,
    by: str,
    at: dt.datetime,
) -> None:
    """Remember that link analysis added these bookings to a hit's or request's case, and
    from which graph (start booking and traveller ref, depth); ids already there are kept."""
    q = select(link_addition.c.booking_id).where(link_addition.c.basis == basis)
    known = set(conn.execute(q).scalars())
    rows = [
        {"basis": basis, "booking_id": b, "start_booking_id": start[0], "start_ref": start[1], "depth": depth,
         "added_by": by, "added_at": at}
        for b in dict.fromkeys(booking_ids) if b not in known
    ]  # fmt: skip
    if rows:
        conn.execute(insert(link_addition), rows)


@dataclass(frozen=True, slots=True)
class LinkAddition:
    basis: str
    booking_id: str
    start_booking_id: str
    start_ref: str
    depth: int
    added_by: str
    added_at: dt.datetime


def links_added(conn: Connection, basis: str, *, until: dt.datetime | None = None) -> list[LinkAddition]:
    """What link analysis added to this case (up to `until`: a released package is rebuilt
    with what it had at its release), oldest first."""
    q = select(link_addition).where(link_addition.c.basis == basis)
    if until is not None:
        q = q.where(link_addition.c.added_at <= until)
    rows = conn.execute(q.order_by(link_addition.c.added_at, link_addition.c.booking_id))
    return [LinkAddition(r.basis, r.booking_id, r.start_booking_id, r.start_ref, int(r.depth), r.added_by,
                         r.added_at) for r in rows]  # fmt: skip


def was_found(conn: Connection, request_id: str, booking_id: str) -> bool:
    r = conn.execute(
        select(request_result.c.booking_id).where(
            request_result.c.request_id == request_id, request_result.c.booking_id == booking_id
        )
    ).first()
    return r is not None


def results_of(conn: Connection, request_id: str) -> list[str]:
    rows = conn.execute(
        select(request_result.c.booking_id)
        .where(request_result.c.request_id == request_id)
        .order_by(request_result.c.found_at, request_result.c.booking_id)
    )
    return list(rows.scalars())


# --- transmissions -------------------------------------------------------------------------


def insert_transmission(conn: Connection, rec: TransmissionRecord) -> None:
    conn.execute(
        insert(transmission).values(
            id=rec.id,
            hit_id=rec.hit_id,
            request_id=rec.request_id,
            booking_id=rec.booking_id,
            booking_version=rec.booking_version,
            authority_id=rec.authority_id,
            purpose=rec.purpose,
            justification=rec.justification,
            status=rec.status,
            proposed_by=rec.proposed_by,
            proposed_at=rec.proposed_at,
            decided_by=rec.decided_by,
            decided_at=rec.decided_at,
            decision_reason=rec.decision_reason,
            released_at=rec.released_at,
            package_sha256=rec.package_sha256,
        )
    )


def get_transmission(
    conn: Connection, transmission_id: str, *, for_update: bool = False
) -> TransmissionRecord | None:
    q = select(transmission).where(transmission.c.id == transmission_id)
    if for_update:
        q = q.with_for_update()
    r = conn.execute(q).first()
    return None if r is None else TransmissionRecord.from_row(r)


def standing_transmission(
    conn: Connection,
    *,
    authority_id: str,
    hit_id: str | None = None,
    request_id: str | None = None,
    booking_id: str | None = None,
) -> TransmissionRecord | None:
    """A pending or released transmission of the same thing to the same authority: a
    proposal that would repeat it is refused (issue 15)."""
    q = select(transmission).where(
        transmission.c.authority_id == authority_id, transmission.c.status.in_(("pending", "released"))
    )
    if hit_id is not None:
        q = q.where(transmission.c.hit_id == hit_id)
    else:
        q = q.where(transmission.c.request_id == request_id, transmission.c.booking_id == booking_id)
    r = conn.execute(q.order_by(transmission.c.proposed_at).limit(1)).first()
    return None if r is None else TransmissionRecord.from_row(r)


def transmissions_of_hit(conn: Connection, hit_id: str) -> list[TransmissionRecord]:
    rows = conn.execute(
        select(transmission).where(transmission.c.hit_id == hit_id).order_by(transmission.c.proposed_at)
    )
    return [TransmissionRecord.from_row(r) for r in rows]


def transmissions_of_request(conn: Connection, request_id: str) -> list[TransmissionRecord]:
    rows = conn.execute(
        select(transmission)
        .where(transmission.c.request_id == request_id)
        .order_by(transmission.c.proposed_at)
    )
    return [TransmissionRecord.from_row(r) for r in rows]


def list_transmissions(
    conn: Connection, *, status: str | None, offset: int, limit: int
) -> tuple[list[TransmissionRecord], int]:
    q = select(transmission)
    n = select(func.count()).select_from(transmission)
    if status is not None:
        q = q.where(transmission.c.status == status)
        n = n.where(transmission.c.status == status)
    rows = conn.execute(
        q.order_by(transmission.c.proposed_at.desc(), transmission.c.id.desc()).offset(offset).limit(limit)
    )
    return [TransmissionRecord.from_row(r) for r in rows], int(conn.execute(n).scalar_one())


def decide_transmission(
    conn: Connection,
    transmission_id: str,
    *,
    status: str,
    by: str,
    at: dt.datetime,
    reason: str,
    package_sha256: bytes | None = None,
) -> bool:
    """Approve (release) or reject a pending transmission; False if it is no longer pending."""
    values: dict[str, Any] = {"status": status, "decided_by": by, "decided_at": at, "decision_reason": reason}
    if status == "released":
        values |= {"released_at": at, "package_sha256": package_sha256}
    done = conn.execute(
        update(transmission)
        .where(transmission.c.id == transmission_id, transmission.c.status == "pending")
        .values(**values)
    )
    return bool(done.rowcount)
