"""Hits of linked travellers: one hit per person, flight and list entry (or rule).

Screening proposes hits per (booking, traveller ref). Before they are stored, each gets
the traveller id of its record (`service.traveller` linked it at ingest). A proposal whose
person already has a hit for the same match key from the other source (the API record
matched what the PNR record matched) does not open a second hit: it is attached to the
existing one (`hit_source`), whatever its status, so the decision a person took on the
first source covers the second (Art. 6(5): one person decides about one person).

Records can also be linked after their hits were recorded: a rectification moves a record
to the traveller of the other source, an index backfill links records stored before
linking existed. The person may then hold two hits for one match key; `collapse_hits`
brings that back to what ingest would have recorded (docs/data-protection.md, "One
traveller across API and PNR"): the open hit attaches to the person's other hit, as a second source does at
ingest (`attach`), and is closed as ``withdrawn`` with the host's id as its reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Connection

from pnrguard.service.system_reasons import COLLAPSED, system_reason
from pnrguard.store.db import chunks
from pnrguard.store.screening import HitRecord, HitStatus, hit
from pnrguard.store.traveller import (
    Member,
    attach_source,
    hit_source,
    members_of_bookings,
    members_of_travellers,
)

__all__ = [
    "Collapse",
    "adopt_hits",
    "attach",
    "collapse_audit",
    "collapse_hits",
    "collapsed_hosts",
    "detach_strangers",
    "hits_of_travellers",
    "linked_records",
    "with_travellers",
]


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
    for chunk in chunks(ids):
        q = select(hit).where(hit.c.traveller_id.in_(chunk)).order_by(hit.c.created_at)
        for r in conn.execute(q):
            rec = HitRecord.from_row(r)
            if rec.match_key in keys:
                k = (rec.traveller_id or "", rec.match_key)
                # A hit collapsed into the person's other one (withdrawn) is not the host.
                if k not in out or (
                    out[k].status is HitStatus.WITHDRAWN and rec.status is not HitStatus.WITHDRAWN
                ):
                    out[k] = rec
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


# --- records linked after their hits were recorded -------------------------------------------

_DECIDED = (HitStatus.CONFIRMED, HitStatus.DISMISSED)


@dataclass(frozen=True, slots=True)
class Collapse:
    """One open hit attached to the person's other hit: ids only (what the audit names)."""

    host: str
    absorbed: str
    booking_id: str  # the absorbed hit's record, now a source of the host


def _covers(decided: HitRecord, open_hit: HitRecord) -> bool:
    """Whether a decision covers an open hit of the same person and match key: it does, as
    at ingest, unless a dismissed list hit's entry changed since (a rescreen reopens that
    dismissal too: the entry says something new about the person)."""
    return not (
        decided.status is HitStatus.DISMISSED
        and decided.entity_id is not None
        and decided.fingerprint != open_hit.fingerprint
    )


def _pairs(hits: Sequence[HitRecord]) -> list[tuple[HitRecord, HitRecord]]:
    """(host, open hit to attach) for one person's hits of one match key, oldest first.

    A decision covers the person: when the person's decided hits agree (all confirmed or
    all dismissed), the open hits attach to the oldest of them and show its decision.
    Decisions that disagree (one source confirmed, the other dismissed, before linking)
    cover nothing: the open hits collapse into the oldest open one, which stays open so a
    reviewer decides with both sources in view."""
    live = [h for h in hits if h.status is not HitStatus.WITHDRAWN]
    open_hits = [h for h in live if h.status is HitStatus.OPEN]
    if not open_hits or len(live) < 2:
        return []
    decided = [h for h in live if h.status in _DECIDED]
    host = decided[0] if decided and len({h.status for h in decided}) == 1 else None
    out = [(host, h) for h in open_hits if host is not None and _covers(host, h)]
    rest = [h for h in open_hits if all(h is not o for _, o in out)]
    out += [(rest[0], h) for h in rest[1:]]
    return out


def collapse_hits(
    conn: Connection, traveller_ids: Iterable[str], *, by: str, at: dt.datetime
) -> list[Collapse]:
    """One hit per person and match key again, after records were (re)linked outside ingest
    (module docstring). Each open hit that is a second hit of its person attaches to the
    host (`attach`, as at ingest), hands it the sources attached to it, and is closed as
    ``withdrawn`` (kept, with its notes: nothing a reviewer wrote is lost). The host keeps
    the higher triage priority and, if it had none, the assignee. The caller logs the
    returned collapses in the audit log (`collapse_audit`)."""
    ids = sorted(set(traveller_ids))
    groups: dict[tuple[str, str], list[HitRecord]] = {}
    for chunk in chunks(ids):
        q = (
            select(hit)
            .where(hit.c.traveller_id.in_(chunk))
            .order_by(hit.c.created_at, hit.c.id)
        )
        for r in conn.execute(q):
            rec = HitRecord.from_row(r)
            groups.setdefault((rec.traveller_id or "", rec.match_key), []).append(rec)
    out: list[Collapse] = []
    for hits in groups.values():
        for host, h in _pairs(hits):
            closed = conn.execute(
                update(hit)
                .where(hit.c.id == h.id, hit.c.status == HitStatus.OPEN.value)
                .values(
                    status=HitStatus.WITHDRAWN.value, reviewed_by=by, reviewed_at=at,
                    review_reason=system_reason(COLLAPSED, host=host.id),
                )
            )  # fmt: skip
            if not closed.rowcount:
                continue  # decided meanwhile by a reviewer: the decision stands
            attach(conn, host, dataclasses.replace(h, created_at=at))
            for s in conn.execute(select(hit_source).where(hit_source.c.hit_id == h.id)).all():
                attach_source(
                    conn, hit_id=host.id, booking_id=s.booking_id, traveller_ref=s.traveller_ref,
                    booking_version=s.booking_version, score=s.score, at=s.attached_at,
                )  # fmt: skip
            conn.execute(delete(hit_source).where(hit_source.c.hit_id == h.id))
            triage: dict[str, object] = {}
            if h.priority > host.priority:
                triage["priority"] = h.priority
            if host.assignee is None and h.assignee is not None:
                triage["assignee"] = h.assignee
            if triage:
                conn.execute(update(hit).where(hit.c.id == host.id).values(**triage))
                host = dataclasses.replace(host, **triage)  # type: ignore[arg-type]
            out.append(Collapse(host.id, h.id, h.booking_id))
    return out


def collapse_audit(collapses: Sequence[Collapse]) -> tuple[list[str], dict[str, int]]:
    """(record ids, counts) of the audit entry of a collapse: the hosts, the hits attached
    to them and their bookings; numbers only."""
    ids = [x for c in collapses for x in (c.host, c.absorbed, c.booking_id)]
    return list(dict.fromkeys(ids)), {"hits.collapsed": len(collapses)}


def adopt_hits(conn: Connection, members: Sequence[Member]) -> set[str]:
    """Give hits recorded before their records were linked (no traveller id) the traveller
    of their record; returns the travellers that got hits (to collapse)."""
    out: set[str] = set()
    for m in members:
        done = conn.execute(
            update(hit)
            .where(
                hit.c.booking_id == m.booking_id,
                hit.c.traveller_ref == m.traveller_ref,
                hit.c.traveller_id.is_(None),
            )
            .values(traveller_id=m.traveller_id)
        )
        if done.rowcount:
            out.add(m.traveller_id)
    return out


def collapsed_hosts(conn: Connection, withdrawn: Collection[HitRecord]) -> dict[str, HitRecord]:
    """For withdrawn hits whose record is attached to another hit of the same match key
    (collapsed: `collapse_hits`), that hit by the withdrawn one's id: a rescreen attaches to
    it instead of reopening the withdrawn hit (which would give the person two hits)."""
    if not withdrawn:
        return {}
    by_record = {(h.booking_id, h.traveller_ref, h.match_key): h for h in withdrawn}
    out: dict[str, HitRecord] = {}
    items = list(by_record.values())
    for part in chunks(items):
        q = (
            select(
                hit, hit_source.c.booking_id.label("src_booking"), hit_source.c.traveller_ref.label("src_ref")
            )
            .join(hit_source, hit_source.c.hit_id == hit.c.id)
            .where(or_(*(
                and_(hit_source.c.booking_id == h.booking_id, hit_source.c.traveller_ref == h.traveller_ref)
                for h in part
            )))
        )  # fmt: skip
        for r in conn.execute(q):
            mine = by_record.get((r.src_booking, r.src_ref, r.match_key))
            if mine is not None and mine.id != r.id:
                out[mine.id] = HitRecord.from_row(r)
    return out


def detach_strangers(conn: Connection, booking_ids: Collection[str]) -> set[str]:
    """Detach, from the hits of these bookings' travellers and from the hits their records
    are sources of, every source that is no longer the hit's person: a rectification that
    parts a linked pair leaves each record's match with the other's hit otherwise (a
    decision on one person would cover a stranger). Returns the bookings whose records were
    detached: screened again, they get hits of their own, with their own explanations.
    Records stored before linking existed (no traveller) are left as they are."""
    ids = sorted(set(booking_ids))
    travellers = sorted({m.traveller_id for m in members_of_bookings(conn, ids).values()})
    sources = select(
        hit_source.c.hit_id, hit_source.c.booking_id, hit_source.c.traveller_ref, hit.c.traveller_id
    ).join(hit, hit.c.id == hit_source.c.hit_id)
    rows: list[Any] = []  # (hit id, booking id, traveller ref, the hit's traveller id)
    for part in chunks(ids):
        rows += conn.execute(sources.where(hit_source.c.booking_id.in_(part))).all()
    for part in chunks(travellers):
        rows += conn.execute(sources.where(hit.c.traveller_id.in_(part))).all()
    members = members_of_bookings(conn, {r.booking_id for r in rows})
    strangers = {
        (r.hit_id, r.booking_id, r.traveller_ref)
        for r in rows
        if r.traveller_id is not None
        and (m := members.get((r.booking_id, r.traveller_ref))) is not None
        and m.traveller_id != r.traveller_id
    }
    for hit_id, booking_id, ref in sorted(strangers):
        conn.execute(
            delete(hit_source).where(
                hit_source.c.hit_id == hit_id,
                hit_source.c.booking_id == booking_id,
                hit_source.c.traveller_ref == ref,
            )
        )
    return {b for _, b, _ in strangers}
