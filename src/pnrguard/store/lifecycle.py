"""Life-cycle storage: sealed identity keys, retention holds and runs, unmasking requests and
approvals, DPO notifications and rectification requests; and the batched SQL of retention.

What is stored and why (docs/data-protection.md, "Retention, masking and unmasking"):

- `sealed_key`: the identity key of a masked booking. Masking *moves* the wrapped identity
  key out of `booking_key` (where every normal read path looks) into this table, re-wrapped
  under a different wrap context (`sealed_context`, and optionally a separate key store held
  by another custodian), so that no code path but the approval-checked one in
  `service/unmasking.py` can unwrap it: a sealed blob copied back into `booking_key` does not
  unwrap under the normal context. `tier` is ``masked`` or ``dormant`` (EU-US: a higher
  approval level); each tier has its own context, so a dormant key cannot be opened by the
  masked-tier path. Deleting the booking deletes this row too (crypto-shredding).
- `retention_hold`: an objective link recorded by a case (a booking named in an open case),
  one of the links `StoreRetentionLinks` reports to the C-817/19 rule.
- `unmasking_request` (+ `unmasking_request_booking`, the records named) and
  `unmasking_approval`: Art. 12(3): a duly reasoned request, approved beforehand by a
  judicial authority, scoped to records, requester, purpose and a time window.
- `dpo_notification`: how "the DPO is informed": rows the DPO view lists until acknowledged.
- `rectification_request`: a traveller's request to correct data; it holds the field path
  and the outcome, never the old or the new value (the correction is a new, encrypted
  booking version, so deleting the booking leaves no copy of it here).
- `retention_run`: one row per `pnrguard retention run` (worker, profile, counts).

Functions work on the caller's `Connection` and never commit. Schema only via Alembic
(`migrations/versions/0006_lifecycle.py`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.domain.model import Booking, booking_from_dict
from pnrguard.errors import N_, CryptoError, NotFoundError
from pnrguard.protection.crypto import KeyKind, decrypt_field, encrypt_field, key_context, receipt_period
from pnrguard.protection.keystore import KeyStore, Secret, WrappedKey
from pnrguard.protection.retention import RetentionLinks
from pnrguard.store.db import chunks, in_values, metadata
from pnrguard.store.leads import forget_leads
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.peer_results import forget_found
from pnrguard.store.repository import (
    _IDENTITY_FIELDS,
    BookingRepository,
    _aad,
    _compact_json,
    _fields_of,
    new_id,
)
from pnrguard.store.screening import hit
from pnrguard.store.tables import ID_LENGTH, UTCDateTime, booking, booking_key, booking_version
from pnrguard.store.traveller import forget_bookings
from pnrguard.store.workspace import authority_request, request_result, transmission

__all__ = [
    "SEAL_TIERS",
    "BookingRow",
    "StoreRetentionLinks",
    "claim_bookings",
    "delete_bookings",
    "dpo_notification",
    "make_dormant",
    "mask_bookings",
    "read_sealed",
    "rectification_request",
    "retention_hold",
    "retention_run",
    "sealed_context",
    "sealed_key",
    "unmasking_approval",
    "unmasking_request",
    "unmasking_request_booking",
    "write_rectified_version",
]

SEAL_TIERS = ("masked", "dormant")
REQUEST_STATUSES = ("pending", "approved", "rejected")
REQUEST_LEVELS = ("masked", "dormant")
DECISIONS = ("approved", "rejected")
RECTIFICATION_STATUSES = ("open", "applied", "rejected")
RUN_STATUSES = ("running", "done", "failed")
_SEAL_PREFIX = b"pnrguard/sealed-identity-key/v1\x00"


def _id(name: str, *args: Any, **kwargs: Any) -> Column[str]:
    return Column(name, String(ID_LENGTH), *args, **kwargs)


# --- tables ------------------------------------------------------------------------------

sealed_key = Table(
    "sealed_key",
    metadata,
    _id("booking_id", ForeignKey("booking.id"), primary_key=True),
    Column("tier", String(8), nullable=False),
    Column("key_version", Integer, nullable=False),  # the data-key version in every field's AAD
    Column("kek_version", Integer, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("sealed_at", UTCDateTime(), nullable=False),
    CheckConstraint(in_values("tier", SEAL_TIERS), name="tier"),
)

retention_hold = Table(
    "retention_hold",
    metadata,
    _id("id", primary_key=True),
    _id("booking_id", ForeignKey("booking.id"), nullable=False),
    Column("case_reference", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("released_by", String(64), nullable=True),
    Column("released_at", UTCDateTime(), nullable=True),
    Index("ix_retention_hold_booking_id", "booking_id"),
)

unmasking_request = Table(
    "unmasking_request",
    metadata,
    _id("id", primary_key=True),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("requester", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("case_reference", String(64), nullable=False),
    # The requester's reasoning, for the judge and the DPO. Free text: never copied into the
    # audit log, which names the request by id.
    Column("reason", Text, nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=False),
    Column("level", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    CheckConstraint(in_values("level", REQUEST_LEVELS), name="level"),
    CheckConstraint(in_values("status", REQUEST_STATUSES), name="status"),
    CheckConstraint("valid_until > valid_from", name="window"),
    Index("ix_unmasking_request_status", "status"),
)

unmasking_request_booking = Table(
    "unmasking_request_booking",
    metadata,
    _id("request_id", ForeignKey("unmasking_request.id"), primary_key=True),
    _id("booking_id", ForeignKey("booking.id"), primary_key=True),
    Index("ix_unmasking_request_booking_booking_id", "booking_id"),
)

unmasking_approval = Table(
    "unmasking_approval",
    metadata,
    _id("request_id", ForeignKey("unmasking_request.id"), primary_key=True),
    Column("judge", String(64), nullable=False),
    Column("judge_role", String(32), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    CheckConstraint(in_values("decision", DECISIONS), name="decision"),
)

dpo_notification = Table(
    "dpo_notification",
    metadata,
    _id("id", primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reference", String(64), nullable=False),  # an opaque id: request, booking, run
    Column("counts", JSON, nullable=False),
    Column("acknowledged_by", String(64), nullable=True),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Index("ix_dpo_notification_created_at", "created_at"),
)

rectification_request = Table(
    "rectification_request",
    metadata,
    _id("id", primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    _id("booking_id", ForeignKey("booking.id"), nullable=False),
    Column("field", String(100), nullable=False),  # a path such as travellers.0.surname
    Column("channel", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("new_version", Integer, nullable=True),
    CheckConstraint(in_values("status", RECTIFICATION_STATUSES), name="status"),
    Index("ix_rectification_request_booking_id", "booking_id"),
)

retention_run = Table(
    "retention_run",
    metadata,
    _id("id", primary_key=True),
    Column("worker", String(64), nullable=False),
    Column("profile", String(32), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("status", String(8), nullable=False),
    Column("counts", JSON, nullable=False),
    CheckConstraint(in_values("status", RUN_STATUSES), name="status"),
    Index("ix_retention_run_started_at", "started_at"),
)


#: Retention's dormant phase looks for masked bookings not yet dormant by receipt time; the
#: (state, first_seen) index of `booking` would scan the dormant ones too. On `booking`,
#: created by 0006_lifecycle, declared here with the rest of the life cycle.
ix_booking_dormant = Index("ix_booking_dormant", booking.c.state, booking.c.dormant_at, booking.c.first_seen)


# --- claiming ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingRow:
    """The clear columns retention decides on."""

    id: str
    state: str
    first_seen: dt.datetime
    dormant: bool


def claim_bookings(conn: Connection, where: ColumnElement[bool], *, limit: int) -> list[BookingRow]:
    """Up to `limit` bookings matching `where`, locked for this transaction.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent workers each take rows no other
    worker holds, and a row another worker committed meanwhile is re-checked against
    `where` (READ COMMITTED re-evaluation) and dropped if no longer due. SQLite: the
    transaction already holds the database write lock (``BEGIN IMMEDIATE``), so workers
    take turns and each sees the others' committed work.
    """
    q = (
        select(booking.c.id, booking.c.state, booking.c.first_seen, booking.c.dormant_at)
        .where(where)
        .order_by(booking.c.first_seen)  # the index order: a range scan that stops at `limit`
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return [
        BookingRow(r.id, r.state, r.first_seen, r.dormant_at is not None) for r in conn.execute(q)
    ]


# --- sealing -----------------------------------------------------------------------------


def sealed_context(booking_id: str, key_version: int, tier: str) -> bytes:
    """The wrap context of a sealed identity key. Differs from `crypto.key_context` (the
    normal read path's) by a prefix and the tier, so a sealed blob is useless to any path
    but the one that asks for it by tier after checking an approval."""
    if tier not in SEAL_TIERS:
        raise CryptoError(N_("unknown seal tier"))
    return (
        _SEAL_PREFIX + tier.encode("ascii") + b"\x00" + key_context(booking_id, KeyKind.IDENTITY, key_version)
    )


def _identity_keys(conn: Connection, ids: Sequence[str]) -> dict[str, Row[Any]]:
    out: dict[str, Row[Any]] = {}
    for chunk in chunks(list(ids)):
        q = select(booking_key).where(
            booking_key.c.booking_id.in_(chunk), booking_key.c.kind == KeyKind.IDENTITY.value
        )
        out.update({r.booking_id: r for r in conn.execute(q)})
    return out


def mask_bookings(
    conn: Connection,
    rows: Sequence[BookingRow],
    *,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    at: dt.datetime,
    tier: str = "masked",
) -> list[str]:
    """Mask active bookings: move each identity key to `sealed_key` (re-wrapped under the
    sealed context of `tier`), set state ``masked`` and retire the identity digest (see
    `BookingRepository.mark_masked` for why). Returns the ids masked. Bookings whose
    identity key is missing are skipped (an inconsistent row is never half-masked)."""
    active = [r for r in rows if r.state == "active"]
    keys = _identity_keys(conn, [r.id for r in active])
    from pnrguard.store.copies import IdentityKey, mask_copies  # copies imports this module's tables

    sealed_rows: list[dict[str, Any]] = []
    done: list[str] = []
    in_hand: list[IdentityKey] = []
    for r in active:
        k = keys.get(r.id)
        if k is None:
            continue
        raw = keystore.unwrap(
            WrappedKey(k.kek_version, bytes(k.wrapped)),
            context=key_context(r.id, KeyKind.IDENTITY, k.key_version),
        )
        sealed = seal_keystore.wrap(
            raw, context=sealed_context(r.id, k.key_version, tier), period=receipt_period(r.first_seen)
        )
        sealed_rows.append(
            {
                "booking_id": r.id,
                "tier": tier,
                "key_version": k.key_version,
                "kek_version": sealed.kek_version,
                "wrapped": sealed.blob,
                "sealed_at": at,
            }
        )
        done.append(r.id)
        in_hand.append(IdentityKey(r.id, raw, k.key_version))
    if not done:
        return []
    # Reasons, digests and exchange copies of these bookings are masked with them, in this
    # transaction, while the identity key is in hand (store/copies.py).
    mask_copies(conn, in_hand, keystore=keystore, seal_keystore=seal_keystore, at=at)
    conn.execute(insert(sealed_key), sealed_rows)
    for chunk in chunks(done):
        conn.execute(
            delete(booking_key).where(
                booking_key.c.booking_id.in_(chunk), booking_key.c.kind == KeyKind.IDENTITY.value
            )
        )
        # By id only: the rows are claimed (locked) in this transaction and were active.
        # A `state = 'active'` term here made SQLite pick the state index and scan every
        # active booking per batch (quadratic over a run; bench/retention.py).
        conn.execute(
            update(booking)
            .where(booking.c.id.in_(chunk))
            .values(
                state="masked",
                masked_at=at,
                identity_digest=None,
                dormant_at=at if tier == "dormant" else None,
            )
        )
    forget_bookings(conn, done)  # blind-index tokens go with the names (store/traveller.py)
    forget_leads(conn, done, deleted=False)  # open financing leads go, card digests retire (store/leads.py)
    return done


def make_dormant(
    conn: Connection, rows: Sequence[BookingRow], *, seal_keystore: KeyStore, at: dt.datetime
) -> list[str]:
    """Move masked bookings to the dormant tier: re-wrap each sealed key under the dormant
    context (the masked-tier path can no longer open it) and stamp `dormant_at`."""
    ids = [r.id for r in rows if r.state == "masked" and not r.dormant]
    found: dict[str, Row[Any]] = {}
    for chunk in chunks(ids):
        found.update(
            {
                r.booking_id: r
                for r in conn.execute(select(sealed_key).where(sealed_key.c.booking_id.in_(chunk)))
            }
        )
    done: list[str] = []
    for bid in ids:
        s = found.get(bid)
        if s is None:
            continue
        if s.tier != "dormant":
            raw = seal_keystore.unwrap(
                WrappedKey(s.kek_version, bytes(s.wrapped)),
                context=sealed_context(bid, s.key_version, s.tier),
            )
            w = seal_keystore.wrap(
                raw,
                context=sealed_context(bid, s.key_version, "dormant"),
                period=seal_keystore.period_of(WrappedKey(s.kek_version, bytes(s.wrapped))),
            )
            conn.execute(
                update(sealed_key)
                .where(sealed_key.c.booking_id == bid)
                .values(tier="dormant", kek_version=w.kek_version, wrapped=w.blob, sealed_at=at)
            )
        done.append(bid)
    for chunk in chunks(done):
        conn.execute(update(booking).where(booking.c.id.in_(chunk)).values(dormant_at=at))
    return done


@dataclass(frozen=True, slots=True)
class DeleteCounts:
    bookings: int
    versions: int
    keys: int


def delete_bookings(conn: Connection, ids: Sequence[str], *, at: dt.datetime) -> DeleteCounts:
    """Crypto-shred bookings in one batch, the same end state as `BookingRepository.delete`:
    keys first (wrapped data keys and sealed identity keys), then every version, then a
    tombstone row (state ``deleted``, no locator, reservation time or digest), so ids held
    elsewhere (audit entries, hits, requests) resolve to "deleted". The keyed person digest
    of the bookings' hits goes too: it was derived from the deleted identity data; so does
    everything else about the bookings kept outside them (`store.copies.delete_copies`:
    reasons, justifications, request texts, suppressions, exchange copies)."""
    from pnrguard.store.copies import delete_copies  # copies imports this module's tables

    keys = versions = bookings = 0
    for chunk in chunks(list(ids)):
        keys += int(
            conn.execute(delete(booking_key).where(booking_key.c.booking_id.in_(chunk))).rowcount or 0
        )
        keys += int(conn.execute(delete(sealed_key).where(sealed_key.c.booking_id.in_(chunk))).rowcount or 0)
        versions += int(
            conn.execute(delete(booking_version).where(booking_version.c.booking_id.in_(chunk))).rowcount or 0
        )
        bookings += int(
            conn.execute(
                update(booking)
                .where(booking.c.id.in_(chunk), booking.c.state != "deleted")
                .values(state="deleted", deleted_at=at, locator="", created=None, identity_digest=None)
            ).rowcount
            or 0
        )
    delete_copies(conn, list(ids), at=at)
    forget_bookings(conn, ids, deleted=True)  # blind-index tokens and links (store/traveller.py)
    forget_found(conn, ids)  # what peers' requests found (store/peer_results.py)
    forget_leads(conn, ids, deleted=True)  # financing leads naming them (store/leads.py)
    return DeleteCounts(bookings, versions, keys)


# --- reading a masked booking (only after an approval check) -----------------------------


def read_sealed(
    conn: Connection,
    booking_id: str,
    *,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    tier: str,
    version: int | None = None,
) -> Booking:
    """The full booking of a masked one, identity included, opened with its sealed key at
    `tier`. The caller (service/unmasking.py, service/rights.py) has checked the approval
    and audits the unmasking; this function checks nothing but cryptography: a dormant key
    asked for at the masked tier fails to unwrap (`CryptoError`)."""
    repo = BookingRepository(conn, keystore)
    summary = repo.summary(booking_id)
    if summary.state == "deleted":
        raise NotFoundError(N_("booking %(booking_id)s was deleted"), booking_id=booking_id)
    s = conn.execute(select(sealed_key).where(sealed_key.c.booking_id == booking_id)).first()
    if s is None:
        raise CryptoError(N_("booking %(booking_id)s: no sealed identity key"), booking_id=booking_id)
    raw = seal_keystore.unwrap(
        WrappedKey(s.kek_version, bytes(s.wrapped)), context=sealed_context(booking_id, s.key_version, tier)
    )
    v = summary.latest_version if version is None else version
    content = repo.get(booking_id, version=v, include_identity=False)
    row = conn.execute(
        select(booking_version.c.identity_blob).where(
            booking_version.c.booking_id == booking_id, booking_version.c.version == v
        )
    ).one()
    ident = json.loads(
        decrypt_field(raw, bytes(row.identity_blob), aad=_aad("identity_blob", booking_id, v, s.key_version))
    )
    data = {**_fields_of(content), **ident}
    return booking_from_dict(json.loads(_compact_json(data)))


# --- rectification -----------------------------------------------------------------------


def write_rectified_version(
    conn: Connection, keystore: KeyStore, booking_id: str, corrected: Booking, *, at: dt.datetime, actor: str
) -> int:
    """Store `corrected` as the next version of an active booking (Annex I element 19: the
    history keeps the uncorrected version), under the booking's own keys. A version needs
    an inbox row: a synthetic one (channel ``rectification``) records where it came from.

    The booking's identity digest is left as it is, so the carrier's next push of the same
    booking still finds it (and, if uncorrected, becomes yet another version)."""
    repo = BookingRepository(conn, keystore, now=at)
    summary = repo.summary(booking_id)
    if summary.state != "active":
        raise CryptoError(N_(
            "booking %(booking_id)s is %(state)s: only active bookings are rectified"
        ), booking_id=booking_id, state=summary.state)
    krows = {
        r.kind: r for r in conn.execute(select(booking_key).where(booking_key.c.booking_id == booking_id))
    }
    if set(krows) != {KeyKind.IDENTITY.value, KeyKind.CONTENT.value}:
        raise CryptoError(N_("booking %(booking_id)s: data keys are missing"), booking_id=booking_id)
    ik, ck = krows[KeyKind.IDENTITY.value], krows[KeyKind.CONTENT.value]
    ikey = Secret(
        keystore.unwrap(
            WrappedKey(ik.kek_version, bytes(ik.wrapped)),
            context=key_context(booking_id, KeyKind.IDENTITY, ik.key_version),
        )
    )
    ckey = Secret(
        keystore.unwrap(
            WrappedKey(ck.kek_version, bytes(ck.wrapped)),
            context=key_context(booking_id, KeyKind.CONTENT, ck.key_version),
        )
    )
    data = _fields_of(corrected)
    ident_json = _compact_json({k: v for k, v in data.items() if k in _IDENTITY_FIELDS})
    content_json = _compact_json({k: v for k, v in data.items() if k not in _IDENTITY_FIELDS})
    _, digest_key = repo._keys_for_digests()  # same package: the digest key stays private
    digest = hmac.new(digest_key, ident_json + b"\x00" + content_json, hashlib.sha256).digest()
    message_id = new_id()
    MessageRepository(conn, keystore).add(
        message_id=message_id,
        received_at=at,
        sha256=hashlib.sha256(message_id.encode()).digest(),
        size=0,
        channel="rectification",
        status=MessageStatus.ACCEPTED,
        message_type="RECTIFY",
        sender=actor,
    )
    version = summary.latest_version + 1
    conn.execute(
        insert(booking_version).values(
            booking_id=booking_id,
            version=version,
            message_id=message_id,
            received_at=at,
            content_digest=digest,
            key_version=ik.key_version,
            identity_blob=encrypt_field(
                ikey, ident_json, aad=_aad("identity_blob", booking_id, version, ik.key_version)
            ),
            content_blob=encrypt_field(
                ckey, content_json, aad=_aad("content_blob", booking_id, version, ck.key_version)
            ),
        )
    )
    conn.execute(
        update(booking)
        .where(booking.c.id == booking_id)
        .values(latest_version=version)
    )
    return version


# --- objective links ---------------------------------------------------------------------


class StoreRetentionLinks(RetentionLinks):
    """Objective links from the store: a confirmed hit, an open retention hold (a case), a
    competent authority's request still open that found the booking, a transfer (a pending
    or released transmission to an authority), or a pending or approved unmasking request
    whose window has not ended."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def linked(self, booking_ids: Sequence[str], *, now: dt.datetime) -> set[str]:
        out: set[str] = set()
        conn = self._conn
        for chunk in chunks(list(booking_ids)):
            out.update(
                conn.execute(
                    select(hit.c.booking_id).where(hit.c.booking_id.in_(chunk), hit.c.status == "confirmed")
                ).scalars()
            )
            out.update(
                conn.execute(
                    select(retention_hold.c.booking_id).where(
                        retention_hold.c.booking_id.in_(chunk), retention_hold.c.released_at.is_(None)
                    )
                ).scalars()
            )
            out.update(
                conn.execute(
                    select(request_result.c.booking_id)
                    .join(authority_request, authority_request.c.id == request_result.c.request_id)
                    .where(request_result.c.booking_id.in_(chunk), authority_request.c.status == "open")
                ).scalars()
            )
            out.update(
                conn.execute(
                    select(transmission.c.booking_id).where(
                        transmission.c.booking_id.in_(chunk),
                        transmission.c.status.in_(("pending", "released")),
                    )
                ).scalars()
            )
            out.update(
                conn.execute(
                    select(unmasking_request_booking.c.booking_id)
                    .join(unmasking_request, unmasking_request.c.id == unmasking_request_booking.c.request_id)
                    .where(
                        unmasking_request_booking.c.booking_id.in_(chunk),
                        unmasking_request.c.status.in_(("pending", "approved")),
                        unmasking_request.c.valid_until > now,
                    )
                ).scalars()
            )
        return out


def count_where(conn: Connection, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(booking).where(where)).scalar_one())


def holds_for(conn: Connection, booking_id: str) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(retention_hold)
            .where(and_(retention_hold.c.booking_id == booking_id))
            .order_by(retention_hold.c.created_at)
        )
    )
