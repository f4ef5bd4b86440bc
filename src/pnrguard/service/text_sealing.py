"""Encrypt the free texts written in clear before `store.texts` existed (issue 10, item 1).

`pnrguard keys seal-texts` runs this once after upgrading to 0017_dp_text (a migration has
no key file, so it cannot encrypt). Each text goes under the key its writer uses today
(`store.texts`): a booking's identity key for texts about one booking (the receipt month's
text key if the booking is masked already), the month text key of the request for request
and judicial texts. Batched (one transaction per batch), idempotent (sealed texts are
skipped), audited with counts only (``alteration``, purpose ``system_security``).

What it cannot undo: the clear text stays in PostgreSQL's dead row versions until VACUUM,
in WAL segments until they are recycled, and in backups taken before; those copies follow
the backups' own retention (docs/data-protection.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.ingest import AuditFactory
from pnrguard.store.exchange import exchange_message
from pnrguard.store.hit_notes import hit_note
from pnrguard.store.lifecycle import (
    rectification_request,
    unmasking_approval,
    unmasking_request,
    unmasking_request_booking,
)
from pnrguard.store.screening import hit, suppression
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKey, TextKeys, seal_text
from pnrguard.store.workspace import authority_request, transmission

__all__ = ["TEXT_COLUMNS", "TextColumn", "seal_clear_texts"]

ACTOR = "system:keys"


@dataclass(frozen=True, slots=True)
class TextColumn:
    """A column of free text about travellers, and how its key is found for a row."""

    table: Table
    column: str
    id_col: str
    #: the extra columns (or joined expressions) `key` reads, labelled
    extra: tuple[ColumnElement[Any], ...]
    key: Callable[[TextKeys, Row[Any]], TextKey]
    join: tuple[Table, ColumnElement[bool]] | None = None

    @property
    def per_booking(self) -> bool:
        """The text is about one booking (its `owner` column is the booking id)."""
        return self.key is _booking


def _booking(keys: TextKeys, r: Row[Any]) -> TextKey:
    return keys.for_booking(str(r.owner))


def _month(keys: TextKeys, r: Row[Any]) -> TextKey:
    return keys.for_month(r.owner if isinstance(r.owner, dt.datetime) else dt.datetime.now(dt.UTC))


_REGISTERED = authority_request.c.registered_at.label("owner")
#: The receipt of the newest booking an unmasking request names (`service.unmasking`).
_REQUESTED = (
    select(func.max(booking.c.first_seen))
    .join(unmasking_request_booking, unmasking_request_booking.c.booking_id == booking.c.id)
    .where(unmasking_request_booking.c.request_id == unmasking_request.c.id)
    .correlate(unmasking_request)
    .scalar_subquery()
    .label("owner")
)

#: Every column `store.texts` encrypts at write (docs/data-protection.md lists the same).
TEXT_COLUMNS: tuple[TextColumn, ...] = (
    TextColumn(hit, "review_reason", "id", (hit.c.booking_id.label("owner"),), _booking),
    TextColumn(hit_note, "text", "id", (hit_note.c.booking_id.label("owner"),), _booking),
    TextColumn(
        suppression, "reason", "hit_id", (hit.c.booking_id.label("owner"),), _booking,
        join=(hit, hit.c.id == suppression.c.hit_id),
    ),
    TextColumn(transmission, "justification", "id", (transmission.c.booking_id.label("owner"),), _booking),
    TextColumn(transmission, "decision_reason", "id", (transmission.c.booking_id.label("owner"),), _booking),
    TextColumn(
        rectification_request, "decision_reason", "id",
        (rectification_request.c.booking_id.label("owner"),), _booking,
    ),
    TextColumn(
        exchange_message, "decision_reason", "id", (exchange_message.c.created_at.label("owner"),), _month
    ),
    TextColumn(authority_request, "reason", "id", (_REGISTERED,), _month),
    TextColumn(authority_request, "decision_reason", "id", (_REGISTERED,), _month),
    TextColumn(unmasking_request, "reason", "id", (_REQUESTED,), _month),
    TextColumn(
        unmasking_approval, "reason", "request_id", (_REQUESTED,), _month,
        join=(unmasking_request, unmasking_request.c.id == unmasking_approval.c.request_id),
    ),
)  # fmt: skip


def _batch(
    conn: Connection, keys: TextKeys, tc: TextColumn, after: str, limit: int
) -> tuple[int, str | None]:
    t = tc.table
    col, rid = t.c[tc.column], t.c[tc.id_col]
    src = t if tc.join is None else t.join(tc.join[0], tc.join[1])
    rows = conn.execute(
        select(rid.label("rid"), col.label("text"), *tc.extra)
        .select_from(src)
        .where(rid > after, col.is_not(None), col != "", col.not_like("sealed:%"))
        .order_by(rid)
        .limit(limit)
    ).all()
    for r in rows:
        sealed = seal_text(tc.key(keys, r), r.text, table=t.name, column=tc.column, row_id=str(r.rid))
        conn.execute(update(t).where(rid == r.rid, col == r.text).values({tc.column: sealed}))
    return len(rows), (str(rows[-1].rid) if rows else None)


def seal_clear_texts(
    *, engine: Engine, keystore: KeyStore, audit: AuditLog | AuditFactory, batch: int = 500
) -> dict[str, int]:
    """Encrypt every text still stored in clear; returns ``{"table.column": n}``."""
    done: dict[str, int] = {}
    for tc in TEXT_COLUMNS:
        name = f"{tc.table.name}.{tc.column}"
        after = ""
        while True:
            with engine.begin() as conn:
                n, last = _batch(conn, TextKeys(conn, keystore), tc, after, batch)
                if n:
                    log = audit if isinstance(audit, AuditLog) else audit(conn)
                    log.append(
                        actor=ACTOR, role="system", operation=Operation.ALTERATION,
                        purpose=Purpose.SYSTEM_SECURITY, record_ids=(), counts={f"texts.sealed.{name}": n},
                    )  # fmt: skip
            if last is None:
                break
            done[name] = done.get(name, 0) + n
            after = last
    return done
