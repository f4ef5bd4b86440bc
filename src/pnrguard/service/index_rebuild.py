"""Backfill and rebuild of the blind index (`pnrguard index backfill|rebuild|status`).

Why: ingest keeps the index (`service.search_index`), but bookings stored before the index
existed (migration 0015) have no tokens and no traveller links, and after the index secret
is replaced (`--new-key`: a suspected leak of the secret, or a restore under another key
store) every token is stale. Both are the same walk over the active bookings:

- **Batched and resumable.** Bookings in id order, one transaction per batch; the last id
  done is kept in `node_marker` (``blind-index-walk``) with the mode and a fingerprint of
  the key, so a run that stops (Ctrl-C, a crash, `--limit`) resumes where it stopped, and a
  new key restarts the walk from the beginning.
- **Idempotent.** A batch writes each booking's tokens as *the difference* to what is
  stored (`search_index.write_tokens`), and links only travellers without a link, so
  rerunning a batch or the whole walk changes nothing.
- **Logged.** Each batch appends one ``alteration`` entry (purpose ``ingest``: it is the
  processing ingest does, done later) naming the bookings it read; the Python log gets
  counts only. Masked and deleted bookings are skipped: their tokens went at masking.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.clock import Clock
from pnrguard.service.hit_travellers import adopt_hits, collapse_audit, collapse_hits
from pnrguard.service.search_index import INDEX_KEY_ROW, tokeniser, write_tokens
from pnrguard.service.traveller import link_indexed
from pnrguard.store.node_secrets import replace_node_secret
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking, node_marker
from pnrguard.store.traveller import search_token, traveller_member

__all__ = ["MARKER", "Mode", "WalkResult", "walk_index", "walk_status"]

MARKER = "blind-index-walk"
ACTOR = "pnrguard-index"
ROLE = "operator"
_log = logging.getLogger(__name__)


class Mode(StrEnum):
    BACKFILL = "backfill"  # bookings without any token
    REBUILD = "rebuild"  # every active booking


@dataclass(slots=True)
class WalkResult:
    mode: Mode
    resumed: bool = False
    batches: int = 0
    bookings: int = 0
    links: int = 0
    finished: bool = False


def _marker(conn: Connection) -> str | None:
    return conn.execute(select(node_marker.c.value).where(node_marker.c.name == MARKER)).scalar()


def _set_marker(conn: Connection, value: str, now: dt.datetime) -> None:
    if _marker(conn) is None:
        conn.execute(insert(node_marker).values(name=MARKER, value=value, created_at=now))
    else:
        conn.execute(update(node_marker).where(node_marker.c.name == MARKER).values(value=value))


def walk_status(engine: Engine) -> dict[str, int | str]:
    """Counts for `pnrguard index status`: active bookings, those without tokens, and
    where an unfinished walk stands."""
    with engine.connect() as conn:
        active = select(func.count()).select_from(booking).where(booking.c.state == "active")
        n_active = int(conn.execute(active).scalar_one())
        missing = int(
            conn.execute(
                active.where(~exists().where(search_token.c.booking_id == booking.c.id))
            ).scalar_one()
        )
        parts = (_marker(conn) or "").split(":")
    walk = "none" if len(parts) < 3 else f"{parts[0]} {'finished' if parts[-1] == 'done' else 'unfinished'}"
    return {"active": n_active, "without_tokens": missing, "walk": walk}


def walk_index(
    mode: Mode,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: Callable[[Connection], AuditLog],
    clock: Clock,
    batch_size: int = 500,
    limit: int | None = None,
    new_key: bool = False,
    progress: Callable[[int], None] | None = None,
) -> WalkResult:
    """Backfill or rebuild the index (module docstring). `limit` stops after that many
    batches (the next run resumes); `new_key` replaces the index secret first (rebuild
    only)."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if new_key and mode is not Mode.REBUILD:
        raise ValueError("a new key needs a rebuild of every booking")
    result = WalkResult(mode)
    with engine.begin() as conn:
        if new_key:
            replace_node_secret(conn, keystore, INDEX_KEY_ROW, now=clock.now())
            conn.execute(delete(node_marker).where(node_marker.c.name == MARKER))
        tok = tokeniser(conn, keystore, now=clock.now())
        run = f"{mode.value}:{tok.fingerprint}"
        parts = (_marker(conn) or "").split(":")
        after = ""
        if len(parts) == 3 and ":".join(parts[:2]) == run:  # an unfinished walk: go on
            after = parts[2]
            result.resumed = bool(after)
    _log.info("index %s: starting%s", mode.value, " (resumed)" if result.resumed else "")
    while limit is None or result.batches < limit:
        with engine.begin() as conn:
            q = select(booking.c.id).where(booking.c.state == "active", booking.c.id > after)
            if mode is Mode.BACKFILL:
                q = q.where(~exists().where(search_token.c.booking_id == booking.c.id))
            ids = list(conn.execute(q.order_by(booking.c.id).limit(batch_size)).scalars())
            if not ids:
                _set_marker(conn, f"{run}:{after}:done", clock.now())
                result.finished = True
                break
            got = BookingRepository(conn, keystore).get_many([(i, None) for i in ids])
            items = [(i, got[i]) for i in ids if i in got]
            indexed = write_tokens(conn, tok, items, renew=ids)
            linked = conn.execute(
                select(traveller_member.c.booking_id).where(traveller_member.c.booking_id.in_(ids))
            ).scalars()
            known = set(linked)
            created = link_indexed(conn, indexed, new=[i for i in ids if i not in known])
            result.links += len(created)
            # Hits recorded before their records were linked join the traveller; a person
            # whose two sources each had a hit keeps one (`hit_travellers.collapse_hits`).
            collapsed = collapse_hits(conn, adopt_hits(conn, created), by=ACTOR, at=clock.now())
            after = ids[-1]
            _set_marker(conn, f"{run}:{after}", clock.now())
            audit(conn).append(
                actor=ACTOR,
                role=ROLE,
                operation=Operation.ALTERATION,
                purpose=Purpose.INGEST,
                record_ids=[i for i, _ in items],
                counts={f"index.{mode.value}.bookings": len(items)},
            )
            if collapsed:
                hit_ids, counts = collapse_audit(collapsed)
                audit(conn).append(
                    actor=ACTOR, role=ROLE, operation=Operation.ALTERATION, purpose=Purpose.INGEST,
                    record_ids=hit_ids, counts=counts, reference=f"index-{mode.value}",
                )  # fmt: skip
        result.batches += 1
        result.bookings += len(items)
        _log.info("index %s: batch %d, %d bookings", mode.value, result.batches, len(items))
        if progress is not None:
            progress(len(items))
    _log.info(
        "index %s: %s after %d bookings, %d links",
        mode.value,
        "finished" if result.finished else "stopped",
        result.bookings,
        result.links,
    )
    return result
