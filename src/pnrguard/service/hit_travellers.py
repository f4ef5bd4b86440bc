"""Hits of linked travellers: one hit per person, flight and list entry (or rule).

Screening proposes hits per (booking, traveller ref). Before they are stored, each gets
the traveller id of its record (`service.traveller` linked it at ingest). A proposal whose
person already has a hit for the same match key from the other source (the API record
matched what the PNR record matched) does not open a second hit: it is attached to the
existing one (`hit_source`), whatever its status, so the decision a person took on the
first source covers the second (Art. 6(5): one person decides about one person).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pnrguard.store.screening import HitRecord, hit
from pnrguard.store.traveller import Member, attach_source, members_of_bookings, members_of_travellers

__all__ = ["attach", "hits_of_travellers", "linked_records", "with_travellers"]

_IN_CHUNK = 500


def with_travellers(conn: Connection, proposed: Sequence[HitRecord]) -> list[HitRecord]:
    """The proposals with the traveller id of their record (None for records stored before
    linking existed: each is its own traveller)."""
    members = members_of_bookings(conn, {p.booking_id for p in proposed})
    out = []
    for p in proposed:
        m = members.get((p.booking_id, p.traveller_ref))
        out.append(dataclasses.replace(p, traveller_id=m.traveller_id) if m else p)
    return out


def hits_of_travellers(conn: Connection, proposed: Sequence[HitRecord]) -> dict[tuple[str, str], HitRecord]:
    """Existing hits of these proposals' travellers, by (traveller id, match key)."""
    ids = sorted({p.traveller_id for p in proposed if p.traveller_id})
    keys = {p.match_key for p in proposed}
    out: dict[tuple[str, str], HitRecord] = {}
    for i in range(0, len(ids), _IN_CHUNK):
        q = select(hit).where(hit.c.traveller_id.in_(ids[i : i + _IN_CHUNK])).order_by(hit.c.created_at)
        for r in conn.execute(q):
            rec = HitRecord.from_row(r)
            if rec.match_key in keys:
                out.setdefault((rec.traveller_id or "", rec.match_key), rec)
    return out


def attach(conn: Connection, existing: HitRecord, proposed: HitRecord) -> int:
    """Attach the proposal's record to the person's existing hit; 1 if newly attached."""
    return int(
        attach_source(
            conn,
            hit_id=existing.id,
            booking_id=proposed.booking_id,
            traveller_ref=proposed.traveller_ref,
            booking_version=proposed.booking_version,
            score=proposed.score,
            at=proposed.created_at,
        )
    )


def linked_records(conn: Connection, h: HitRecord) -> list[Member]:
    """The hit traveller's other records (the other source on the same flight): what a
    review shows and a transmission of the hit carries along."""
    if not h.traveller_id:
        return []
    return [
        m
        for m in members_of_travellers(conn, [h.traveller_id]).get(h.traveller_id, [])
        if (m.booking_id, m.traveller_ref) != (h.booking_id, h.traveller_ref)
    ]
