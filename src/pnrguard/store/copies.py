"""Everything stored about a booking outside it follows the booking's life cycle.

Issue 10, item 1 (Art. 12(1)-(3) of Directive (EU) 2016/681; LED Art. 4(1)(e)): a copy of a
booking sent to or received from a peer, a reviewer's reason that names the person, a
suppression's identity digest, a transmission's justification: each concerns one booking
and must be masked with it at 6 months and gone with it at the end of retention. This module
is the one place that knows every such item (listed in `store/inventory.py`):

- **At masking** (`mask_copies`, called by `lifecycle.mask_bookings` in the same
  transaction, while the booking's identity key is in hand):
  free texts (hit review reasons and notes, transmission justifications and decisions, rectification
  decisions) are *sealed*: encrypted under the booking's identity key, which masking itself
  seals, so they open only on the judicial-unmasking path (Art. 12(3)); identity digests are
  retired (hit `person_digest` set NULL, suppression rows deleted), so a guessed identity
  can no longer be confirmed against the booking; every exchange copy that carries the
  booking has its message key re-wrapped under the *sealed payload context*: the normal
  read path and `retry_delivery` refuse it.
- **At deletion** (`delete_copies`, called by `lifecycle.delete_bookings`): the texts are
  erased, scores and features zeroed, suppressions gone, and every exchange copy that
  carries the booking loses its message key and its ciphertext (so nothing the key file
  opens is left in the row).
- **Received copies and requests** (`age_copies`): an exchange message has no local booking
  when a peer sent it; it is masked 6 months and erased at the end of retention after it was
  filed, the same clock the profile applies to bookings.

Sealed text is stored in the same text column as ``sealed:v1:`` + base64(AES-GCM blob), the
associated data binding it to (table, column and row id, booking id, data-key version), so
the sealed reason of one hit does not open as another's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Table, delete, select, update
from sqlalchemy.engine import Connection

from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.store.db import chunks, metadata
from pnrguard.store.exchange import exchange_message
from pnrguard.store.hit_notes import hit_note
from pnrguard.store.lifecycle import (
    rectification_request,
    unmasking_approval,
    unmasking_request,
    unmasking_request_booking,
)
from pnrguard.store.screening import hit, suppression
from pnrguard.store.tables import ID_LENGTH, booking
from pnrguard.store.texts import MASKED_TEXT, SEALED_TEXT_PREFIX, TextKey, is_sealed, seal_text
from pnrguard.store.workspace import authority_request, request_result, transmission

__all__ = [
    "MASKED_TEXT",
    "PAYLOAD_CONTEXT",
    "SEALED_PAYLOAD_CONTEXT",
    "SEALED_TEXT_PREFIX",
    "CopyCounts",
    "IdentityKey",
    "age_copies",
    "delete_copies",
    "exchange_message_booking",
    "is_sealed",
    "link_copy",
    "mask_copies",
    "seal_text",
    "shown_text",
]

#: The wrap context of an exchange message's data key (normal read path) ...
PAYLOAD_CONTEXT = b"pnrguard/exchange-payload/v1\x00"
#: ... and of the same key once the booking it carries was masked: only an unmasking path
#: that checked a decided judicial approval may ask for it.
SEALED_PAYLOAD_CONTEXT = b"pnrguard/exchange-payload-sealed/v1\x00"

#: Which local bookings an exchange message carries (the records of an answer or transfer
#: this node sent); a received copy carries a peer's bookings and is aged on its own.
exchange_message_booking = Table(
    "exchange_message_booking",
    metadata,
    Column("exchange_id", String(ID_LENGTH), ForeignKey("exchange_message.id"), primary_key=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Index("ix_exchange_message_booking_booking_id", "booking_id"),
)


#: A masked booking's identity key in clear, for the length of the masking transaction
#: (owner = the booking id).
IdentityKey = TextKey


@dataclass(slots=True)
class CopyCounts:
    texts: int = 0
    digests: int = 0
    copies: int = 0


def shown_text(text: str | None) -> str | None:
    """What a page or export shows for a stored text it did not open: never the sealed blob
    (the `shown` template filter; texts are opened by `store.texts.open_text`)."""
    return MASKED_TEXT if is_sealed(text) else text


def link_copy(conn: Connection, *, exchange_id: str, booking_ids: Iterable[str]) -> None:
    """Record that an outgoing exchange message carries these local bookings."""
    ids = sorted(set(booking_ids))
    if not ids:
        return
    present: set[str] = set()
    for chunk in chunks(ids):
        present.update(conn.execute(select(booking.c.id).where(booking.c.id.in_(chunk))).scalars())
    rows = [{"exchange_id": exchange_id, "booking_id": b} for b in ids if b in present]
    if rows:
        conn.execute(exchange_message_booking.insert(), rows)


def copy_state(conn: Connection, exchange_id: str) -> str:
    """``active``, ``masked`` or ``deleted``: the strictest state among the message itself
    and the bookings it carries (a copy is never more readable than its original)."""
    own = conn.execute(
        select(exchange_message.c.lifecycle).where(exchange_message.c.id == exchange_id)
    ).scalar_one_or_none()
    states = set(
        conn.execute(
            select(booking.c.state)
            .join(exchange_message_booking, exchange_message_booking.c.booking_id == booking.c.id)
            .where(exchange_message_booking.c.exchange_id == exchange_id)
        ).scalars()
    )
    states.add(own or "active")
    for s in ("deleted", "masked"):
        if s in states:
            return s
    return "active"


def _seal_column(
    conn: Connection, table: Table, column: str, id_col: str, rows: Sequence[Any], key: IdentityKey
) -> int:
    n = 0
    for r in rows:
        value = getattr(r, column)
        if value is None or value == "" or is_sealed(value):
            continue
        rid = str(getattr(r, id_col))
        conn.execute(
            update(table)
            .where(table.c[id_col] == getattr(r, id_col))
            .values({column: seal_text(key, value, table=table.name, column=column, row_id=rid)})
        )
        n += 1
    return n


def _seal_payload_keys(
    conn: Connection,
    exchange_ids: Sequence[str],
    *,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    at: dt.datetime,
) -> int:
    n = 0
    for chunk in chunks(list(exchange_ids)):
        rows = conn.execute(
            select(
                exchange_message.c.id,
                exchange_message.c.kek_version,
                exchange_message.c.wrapped_key,
                exchange_message.c.decision_reason,
            ).where(exchange_message.c.id.in_(chunk), exchange_message.c.lifecycle == "active")
        ).all()
        for r in rows:
            local = r.id.encode("ascii")
            raw = keystore.unwrap(
                WrappedKey(r.kek_version, bytes(r.wrapped_key)), context=PAYLOAD_CONTEXT + local
            )
            old = WrappedKey(r.kek_version, bytes(r.wrapped_key))
            w = seal_keystore.wrap(
                raw, context=SEALED_PAYLOAD_CONTEXT + local, period=keystore.period_of(old)
            )
            reason = r.decision_reason
            if reason and not is_sealed(reason):
                # The decider's words may name the person: sealed under the copy's own key.
                mk = IdentityKey(r.id, raw, 1)
                reason = seal_text(
                    mk, reason, table="exchange_message", column="decision_reason", row_id=r.id
                )
            conn.execute(
                update(exchange_message)
                .where(exchange_message.c.id == r.id)
                .values(
                    kek_version=w.kek_version,
                    wrapped_key=w.blob,
                    decision_reason=reason,
                    lifecycle="masked",
                    lifecycle_at=at,
                )
            )
            n += 1
    return n


def _retire_digests(conn: Connection, ids: Sequence[str]) -> int:
    n = 0
    for chunk in chunks(list(ids)):
        hit_ids = select(hit.c.id).where(hit.c.booking_id.in_(chunk)).scalar_subquery()
        n += int(conn.execute(delete(suppression).where(suppression.c.hit_id.in_(hit_ids))).rowcount or 0)
        n += int(
            conn.execute(
                update(hit)
                .where(hit.c.booking_id.in_(chunk), hit.c.person_digest.is_not(None))
                .values(person_digest=None)
            ).rowcount
            or 0
        )
    return n


def _linked_copies(conn: Connection, ids: Sequence[str]) -> list[str]:
    out: set[str] = set()
    for chunk in chunks(list(ids)):
        out.update(
            conn.execute(
                select(exchange_message_booking.c.exchange_id).where(
                    exchange_message_booking.c.booking_id.in_(chunk)
                )
            ).scalars()
        )
    return sorted(out)


def mask_copies(
    conn: Connection,
    keys: Sequence[IdentityKey],
    *,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    at: dt.datetime,
) -> CopyCounts:
    """Mask everything about these bookings that lives outside them (module docstring)."""
    counts = CopyCounts()
    if not keys:
        return counts
    by_id = {k.owner: k for k in keys}
    ids = list(by_id)
    # Every free-text column about these bookings: (table, its booking-id column, texts).
    targets: tuple[tuple[Table, tuple[str, ...]], ...] = (
        (hit, ("review_reason",)),
        (hit_note, ("text",)),
        (transmission, ("justification", "decision_reason")),
        (rectification_request, ("decision_reason",)),
    )
    for chunk in chunks(ids):
        for table, columns in targets:
            rows = conn.execute(
                select(table.c.id, table.c.booking_id, *(table.c[c] for c in columns)).where(
                    table.c.booking_id.in_(chunk)
                )
            ).all()
            for r in rows:
                for column in columns:
                    counts.texts += _seal_column(conn, table, column, "id", [r], by_id[r.booking_id])
    counts.digests = _retire_digests(conn, ids)
    counts.copies = _seal_payload_keys(
        conn, _linked_copies(conn, ids), keystore=keystore, seal_keystore=seal_keystore, at=at
    )
    return counts


def _wipe_copies(conn: Connection, exchange_ids: Sequence[str], *, at: dt.datetime) -> int:
    n = 0
    for chunk in chunks(list(exchange_ids)):
        n += int(
            conn.execute(
                update(exchange_message)
                .where(exchange_message.c.id.in_(chunk), exchange_message.c.lifecycle != "deleted")
                .values(
                    wrapped_key=b"", payload=b"", decision_reason=None, lifecycle="deleted", lifecycle_at=at
                )
            ).rowcount
            or 0
        )
    return n


def delete_copies(conn: Connection, ids: Sequence[str], *, at: dt.datetime) -> CopyCounts:
    """Erase everything about these (deleted) bookings that lives outside them."""
    counts = CopyCounts()
    if not ids:
        return counts
    counts.digests = _retire_digests(conn, ids)
    for chunk in chunks(list(ids)):
        counts.texts += int(
            conn.execute(
                update(hit)
                .where(hit.c.booking_id.in_(chunk))
                .values(review_reason=None, features=[], score=0.0)
            ).rowcount
            or 0
        )
        counts.texts += int(
            conn.execute(
                update(hit_note).where(hit_note.c.booking_id.in_(chunk)).values(text=None)
            ).rowcount
            or 0
        )
        counts.texts += int(
            conn.execute(
                update(transmission)
                .where(transmission.c.booking_id.in_(chunk))
                .values(justification="", decision_reason=None)
            ).rowcount
            or 0
        )
        conn.execute(
            update(rectification_request)
            .where(rectification_request.c.booking_id.in_(chunk))
            .values(decision_reason=None)
        )
        found = (
            select(request_result.c.request_id)
            .where(request_result.c.booking_id.in_(chunk))
            .scalar_subquery()
        )
        counts.texts += int(
            conn.execute(
                update(authority_request)
                .where(authority_request.c.id.in_(found))
                .values(reason="", decision_reason=None)
            ).rowcount
            or 0
        )
    # An unmasking request's reasoning goes when no booking it names is left.
    named: set[str] = set()
    for chunk in chunks(list(ids)):
        named.update(
            conn.execute(
                select(unmasking_request_booking.c.request_id).where(
                    unmasking_request_booking.c.booking_id.in_(chunk)
                )
            ).scalars()
        )
    alive: set[str] = set()
    for chunk in chunks(sorted(named)):
        alive.update(
            conn.execute(
                select(unmasking_request_booking.c.request_id)
                .join(booking, booking.c.id == unmasking_request_booking.c.booking_id)
                .where(unmasking_request_booking.c.request_id.in_(chunk), booking.c.state != "deleted")
            ).scalars()
        )
    spent = sorted(named - alive)
    for chunk in chunks(spent):
        conn.execute(update(unmasking_request).where(unmasking_request.c.id.in_(chunk)).values(reason=""))
        conn.execute(
            update(unmasking_approval).where(unmasking_approval.c.request_id.in_(chunk)).values(reason="")
        )
    counts.copies = _wipe_copies(conn, _linked_copies(conn, ids), at=at)
    return counts


def age_copies(
    conn: Connection,
    *,
    mask_before: dt.datetime,
    delete_before: dt.datetime,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    at: dt.datetime,
) -> tuple[int, int]:
    """Mask and erase exchange messages by their own age (received copies, requests):
    (masked, erased)."""
    old = (
        conn.execute(
            select(exchange_message.c.id).where(
                exchange_message.c.created_at <= delete_before, exchange_message.c.lifecycle != "deleted"
            )
        )
        .scalars()
        .all()
    )
    erased = _wipe_copies(conn, list(old), at=at)
    due = (
        conn.execute(
            select(exchange_message.c.id).where(
                exchange_message.c.created_at <= mask_before, exchange_message.c.lifecycle == "active"
            )
        )
        .scalars()
        .all()
    )
    masked = _seal_payload_keys(conn, list(due), keystore=keystore, seal_keystore=seal_keystore, at=at)
    return masked, erased


def _month_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    year, month = int(period[:4]), int(period[5:7])
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def spent_periods(conn: Connection, periods: Iterable[str], *, now: dt.datetime) -> list[str]:
    """The key periods, before the current month, of which nothing live is left: every
    booking received in the month is deleted, and every exchange message filed in it is
    erased. Their KEKs can be destroyed (issue 10, item 8)."""
    current = now.astimezone(dt.UTC).strftime("%Y-%m")
    out: list[str] = []
    for period in sorted(set(periods)):
        if period >= current:
            continue
        start, end = _month_bounds(period)
        live_booking = conn.execute(
            select(booking.c.id)
            .where(booking.c.first_seen >= start, booking.c.first_seen < end, booking.c.state != "deleted")
            .limit(1)
        ).first()
        live_copy = conn.execute(
            select(exchange_message.c.id)
            .where(
                exchange_message.c.created_at >= start,
                exchange_message.c.created_at < end,
                exchange_message.c.lifecycle != "deleted",
            )
            .limit(1)
        ).first()
        if live_booking is None and live_copy is None:
            out.append(period)
    return out
