"""Travellers' rights handled by the DPO: the access report and rectification.

The access report answers "what do you hold about me, and where did it go?" for one
traveller: the bookings they are on (found by carrier and locator, or by booking ids the DPO
already has), every stored version, their hits, the unmasking requests and disclosures
naming those bookings, and the audit entries referencing them.

It must contain nothing about anyone else. A booking often has several travellers, so:

- only the travellers whose surname (and date of birth, when given) match are shown;
- elements tied to a traveller reference (contacts, SSRs, remarks, seats, bags, tickets,
  check-ins) are shown only for the matching travellers;
- booking-level elements that may belong to a fellow traveller (addresses, payments,
  contacts and remarks without a traveller reference, history) are shown only when the
  traveller is the booking's only traveller; otherwise the report counts them as withheld;
- hits on other travellers of the booking are left out, and audit entries are reduced to
  the traveller's own booking ids (a retention entry names a thousand bookings).

Masked bookings are opened only under a **decided unmasking** (Art. 12(3), issue 10 item 7):
the caller names an approved unmasking request (`unmasking_request`) whose window is open
and which names the booking at its tier; every opening is audited (``unmasking`` for
``data_subject_request``, with the request as reference), as is the report itself
(``consultation``). Without one, masked candidates are not opened: the report counts them
(`masked_not_opened`), so the traveller is told that more may be held and how to get it.

Rectification: the DPO records a request (field path, channel) and then applies it (a new
booking version with the corrected value, audited as ``alteration``) or rejects it with a
reason. The request row never holds the old or new value. The corrected booking goes
through the same sensitive-data filter as ingest (Art. 13(4) has no exception for text a
person typed): a value that names a special category is deleted like a carrier's would be.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.config import load_settings
from pnrguard.domain.model import Booking, Traveller, scalar_type, to_dict
from pnrguard.errors import N_, ConflictError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.protection.protect import protect
from pnrguard.protection.sensitive import SensitiveFilter, node_filter
from pnrguard.service.clock import Clock
from pnrguard.service.hit_travellers import adopt_hits, collapse_audit, collapse_hits, detach_strangers
from pnrguard.service.ingest import AuditFactory, opaque
from pnrguard.service.screening import screen_booking
from pnrguard.service.traveller import rectify as rectify_index
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.deletions import add_deletions
from pnrguard.store.lifecycle import (
    read_sealed,
    rectification_request,
    unmasking_approval,
    unmasking_request,
    unmasking_request_booking,
    write_rectified_version,
)
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKeys, seal_text

__all__ = [
    "AccessReport",
    "access_report",
    "apply_rectification",
    "decided_unmasking",
    "reject_rectification",
    "request_rectification",
    "set_field",
    "traveller_view",
]

_DPO_ROLE = "dpo"
#: Lists whose items carry a `traveller_ref`.
_BY_TRAVELLER = ("contacts", "service_requests", "remarks", "seats", "bags", "tickets", "check_ins")
#: Booking-level elements that may belong to any traveller on the booking.
_SHARED = ("addresses", "payments", "history")


def _norm(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).upper()


def _matches(t: Traveller, surname: str, date_of_birth: dt.date | None) -> bool:
    names = {_norm(t.surname)} | {_norm(d.surname) for d in t.documents if d.surname}
    if _norm(surname) not in names:
        return False
    if date_of_birth is None:
        return True
    dobs = {t.date_of_birth} | {d.date_of_birth for d in t.documents}
    return date_of_birth in dobs


def traveller_view(b: Booking, refs: set[str]) -> tuple[Booking, int]:
    """`b` reduced to the travellers `refs` and what is theirs (module docstring).
    Returns the view and the number of elements withheld as possibly someone else's."""
    sole = len(b.travellers) <= 1
    withheld = 0
    changes: dict[str, Any] = {"travellers": [t for t in b.travellers if t.ref in refs]}
    for name in _BY_TRAVELLER:
        items = getattr(b, name)
        keep = [i for i in items if i.traveller_ref in refs or (sole and not i.traveller_ref)]
        withheld += len(items) - len(keep)
        changes[name] = keep
    if not sole:
        for name in _SHARED:
            withheld += len(getattr(b, name))
            changes[name] = []
    return dataclasses.replace(b, **changes), withheld


@dataclass(slots=True)
class AccessReport:
    """Everything held about one traveller (JSON-ready via `to_json`)."""

    generated_at: dt.datetime
    bookings: list[dict[str, Any]] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    unmasking_requests: list[dict[str, Any]] = field(default_factory=list)
    audit_entries: list[dict[str, Any]] = field(default_factory=list)
    withheld_elements: int = 0
    #: Masked candidates not opened: no decided unmasking named them (Art. 12(3)).
    masked_not_opened: int = 0

    @property
    def booking_ids(self) -> list[str]:
        return [b["id"] for b in self.bookings]

    def to_json(self) -> str:
        def default(obj: Any) -> Any:
            if isinstance(obj, dt.date):
                return obj.isoformat()
            raise TypeError(type(obj).__name__)

        return json.dumps(dataclasses.asdict(self), default=default, indent=2, ensure_ascii=False)


def _audit_for(audit: AuditLog | AuditFactory, conn: Any) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def decided_unmasking(
    conn: Any, request_id: str | None, booking_id: str, *, dormant: bool, now: dt.datetime
) -> bool:
    """Whether `request_id` is a judicial decision that unmasks `booking_id` at `now`:
    approved (and decided before now), its window open, the booking named, and a level that
    covers the booking's tier (a dormant booking needs a dormant-level approval)."""
    if not request_id:
        return False
    levels = ("dormant",) if dormant else ("masked", "dormant")
    q = (
        select(unmasking_request.c.id)
        .join(unmasking_request_booking, unmasking_request_booking.c.request_id == unmasking_request.c.id)
        .join(unmasking_approval, unmasking_approval.c.request_id == unmasking_request.c.id)
        .where(
            unmasking_request.c.id == request_id,
            unmasking_request_booking.c.booking_id == booking_id,
            unmasking_request.c.status == "approved",
            unmasking_request.c.level.in_(levels),
            unmasking_approval.c.decision == "approved",
            unmasking_approval.c.decided_at <= now,
            unmasking_request.c.valid_from <= now,
            unmasking_request.c.valid_until > now,
        )
    )
    return conn.execute(q).first() is not None


def access_report(
    *,
    dpo: str,
    surname: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    origin: str,
    date_of_birth: dt.date | None = None,
    booking_ids: Sequence[str] = (),
    carrier: str | None = None,
    locator: str | None = None,
    seal_keystore: KeyStore | None = None,
    unmasking_request_id: str | None = None,
) -> AccessReport:
    """The traveller's access report (module docstring). Candidates are `booking_ids` and
    the bookings under `carrier` + `locator`; a candidate on which no traveller matches
    `surname` (and `date_of_birth`) is left out entirely. A masked candidate is opened
    only under `unmasking_request_id` (`decided_unmasking`)."""
    if not surname.strip():
        raise InputError(N_("the traveller's surname is needed to select their data"))
    if not booking_ids and not (carrier and locator):
        raise InputError(N_("give booking ids, or a carrier and a locator"))
    who = opaque(dpo)
    now = clock.now()
    report = AccessReport(generated_at=now)
    seal = seal_keystore or keystore
    with engine.begin() as conn:
        q = select(booking).where(booking.c.state != "deleted")
        conds: list[ColumnElement[bool]] = []
        if booking_ids:
            conds.append(booking.c.id.in_(list(booking_ids)))
        if carrier and locator:
            conds.append((booking.c.carrier == carrier) & (booking.c.locator == locator))
        rows = conn.execute(q.where(or_(*conds)).order_by(booking.c.first_seen, booking.c.id)).all()
        repo = BookingRepository(conn, keystore)
        log = _audit_for(audit, conn)
        unmasked: list[str] = []
        refs_by_booking: dict[str, set[str]] = {}
        for r in rows:
            versions = []
            refs: set[str] = set()
            tier = None if r.state == "active" else ("dormant" if r.dormant_at is not None else "masked")
            if tier is not None and not decided_unmasking(
                conn, unmasking_request_id, r.id, dormant=tier == "dormant", now=now
            ):
                report.masked_not_opened += 1
                continue
            for v in repo.versions(r.id):
                full = (
                    repo.get(r.id, version=v.version)
                    if tier is None
                    else read_sealed(
                        conn, r.id, keystore=keystore, seal_keystore=seal, tier=tier, version=v.version
                    )
                )
                mine = {t.ref for t in full.travellers if _matches(t, surname, date_of_birth)}
                refs |= mine
                versions.append((v, full, mine))
            if not refs:
                continue
            if tier is not None:
                unmasked.append(r.id)
            refs_by_booking[r.id] = refs
            shown = []
            for v, full, mine in versions:
                view, withheld = traveller_view(full, mine or refs)
                report.withheld_elements += withheld
                shown.append(
                    {
                        "version": v.version,
                        "received_at": v.received_at.isoformat(),
                        "message_id": v.message_id,
                        "data": to_dict(view),
                    }
                )
            report.bookings.append(
                {
                    "id": r.id,
                    "source": r.source,
                    "carrier": r.carrier,
                    "locator": r.locator,
                    "state": r.state,
                    "first_seen": r.first_seen.isoformat(),
                    "last_seen": r.last_seen.isoformat(),
                    "masked_at": r.masked_at.isoformat() if r.masked_at else None,
                    "dormant_at": r.dormant_at.isoformat() if r.dormant_at else None,
                    "versions": shown,
                }
            )
        ids = list(refs_by_booking)
        if ids:
            for h in conn.execute(select(hit).where(hit.c.booking_id.in_(ids)).order_by(hit.c.created_at)):
                if h.traveller_ref not in refs_by_booking[h.booking_id]:
                    continue
                report.hits.append(
                    {
                        "id": h.id,
                        "booking_id": h.booking_id,
                        "kind": h.kind,
                        "purpose": h.purpose,
                        "rule_id": h.rule_id,
                        "watchlist_id": h.watchlist_id,
                        "status": h.status,
                        "created_at": h.created_at.isoformat(),
                        "reviewed_at": h.reviewed_at.isoformat() if h.reviewed_at else None,
                    }
                )
            reqs = conn.execute(
                select(
                    unmasking_request.c.id,
                    unmasking_request.c.purpose,
                    unmasking_request.c.status,
                    unmasking_request.c.requested_at,
                    unmasking_request.c.valid_from,
                    unmasking_request.c.valid_until,
                    unmasking_approval.c.decided_at,
                    unmasking_request_booking.c.booking_id,
                )
                .join(
                    unmasking_request_booking,
                    unmasking_request_booking.c.request_id == unmasking_request.c.id,
                )
                .outerjoin(unmasking_approval, unmasking_approval.c.request_id == unmasking_request.c.id)
                .where(unmasking_request_booking.c.booking_id.in_(ids))
                .order_by(unmasking_request.c.requested_at)
            )
            for q2 in reqs:
                report.unmasking_requests.append(
                    {
                        "id": q2.id,
                        "booking_id": q2.booking_id,
                        "purpose": q2.purpose,
                        "status": q2.status,
                        "requested_at": q2.requested_at.isoformat(),
                        "valid_from": q2.valid_from.isoformat(),
                        "valid_until": q2.valid_until.isoformat(),
                        "decided_at": q2.decided_at.isoformat() if q2.decided_at else None,
                    }
                )
            wanted = set(ids)
            for rec in SqlAuditLog(conn, origin=origin).records():
                e = rec.entry
                own = [i for i in e.record_ids if i in wanted]
                if not own:
                    continue
                obj = e.to_json_obj()
                obj["record_ids"] = own
                obj["other_record_ids"] = len(e.record_ids) - len(own)
                report.audit_entries.append(obj)
        if unmasked:
            log.append(
                actor=who,
                role=_DPO_ROLE,
                operation=Operation.UNMASKING,
                purpose=Purpose.DATA_SUBJECT_REQUEST,
                record_ids=unmasked,
                counts={"unmasking.access_report": len(unmasked)},
                reference=unmasking_request_id,
            )
        log.append(
            actor=who,
            role=_DPO_ROLE,
            operation=Operation.CONSULTATION,
            purpose=Purpose.DATA_SUBJECT_REQUEST,
            record_ids=ids,
            counts={
                "access_report.bookings": len(ids),
                "access_report.hits": len(report.hits),
                "access_report.masked_not_opened": report.masked_not_opened,
            },
        )
    return report


# --- rectification -----------------------------------------------------------------------


def _field_type(name: str, old: Any) -> type | None:
    """The type a field holds: its value's, or, for an empty one (an API record's document
    without a birth date), the model's declared date, time, number or flag type."""
    return type(old) if old is not None else scalar_type(name)


def _parse_as(kind: type | None, value: str, field_name: str) -> Any:
    """`value` as a `kind`; a clear error (naming the field, never the value) otherwise."""
    if kind is None or kind is str:
        return value
    if kind is bool:
        return value.lower() in ("1", "true", "yes", "y")
    if issubclass(kind, dt.datetime):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise InputError(
                N_("the corrected %(field)s is not a date and time (YYYY-MM-DDTHH:MM)"), field=field_name
            ) from None
    if issubclass(kind, dt.date):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise InputError(
                N_("the corrected %(field)s is not a date (YYYY-MM-DD)"), field=field_name
            ) from None
    if issubclass(kind, int):
        try:
            return int(value)
        except ValueError:
            raise InputError(N_("the corrected %(field)s is not a whole number"), field=field_name) from None
    return value


def set_field(obj: Any, path: str, value: str) -> Any:
    """A copy of the model object `obj` with the field at `path` (``travellers.0.surname``,
    ``contacts.1.value``) set to `value`, converted to the old value's type."""
    head, _, rest = path.partition(".")
    if isinstance(obj, list):
        try:
            i = int(head)
            item = obj[i]
        except (ValueError, IndexError):
            raise InputError(N_("no list item %(head)r in the field path"), head=head) from None
        return [*obj[:i], set_field(item, rest, value) if rest else value, *obj[i + 1 :]]
    if not dataclasses.is_dataclass(obj) or head not in {f.name for f in dataclasses.fields(obj)}:
        raise InputError(N_("no field %(head)r in the field path"), head=head)
    old = getattr(obj, head)
    new = set_field(old, rest, value) if rest else _parse_as(_field_type(head, old), value, head)
    return dataclasses.replace(obj, **{head: new})  # type: ignore[type-var]


def request_rectification(
    *, dpo: str, booking_id: str, field_path: str, channel: str, engine: Engine, clock: Clock
) -> str:
    """Record a traveller's rectification request for one field of a booking; returns its id."""
    if not field_path or len(field_path) > 100:
        raise InputError(N_("a field path of 1-100 characters is required"))
    with engine.begin() as conn:
        state = conn.execute(select(booking.c.state).where(booking.c.id == booking_id)).scalar()
        if state is None or state == "deleted":
            raise NotFoundError(N_("booking %(booking_id)s not found or deleted"), booking_id=booking_id)
        rid = new_id()
        conn.execute(
            insert(rectification_request).values(
                id=rid,
                received_at=clock.now(),
                recorded_by=opaque(dpo),
                booking_id=booking_id,
                field=field_path,
                channel=channel[:16],
                status="open",
            )
        )
    return rid


def apply_rectification(
    request_id: str,
    *,
    dpo: str,
    value: str,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    sensitive_filter: SensitiveFilter | None = None,
) -> int:
    """Correct the requested field: a new version of the booking with `value` at the field
    path, audited as ``alteration``; returns the new version number. Only active bookings
    (a masked booking's identity key is sealed; a rectified value would need unmasking).

    The corrected booking goes through `protect` like anything a carrier sends (Annex I
    minimisation and the sensitive-data filter, Art. 13(4)): a person's correction cannot
    bring in what ingest deletes. `sensitive_filter` defaults to the node's table (the
    packaged one plus the DPO's file); deletions are counted per carrier and day only."""
    filt = sensitive_filter or node_filter(load_settings().sensitive_terms_file)
    who = opaque(dpo)
    now = clock.now()
    with engine.begin() as conn:
        req = conn.execute(
            select(rectification_request).where(rectification_request.c.id == request_id)
        ).first()
        if req is None:
            raise NotFoundError(N_("rectification request %(request_id)s not found"), request_id=request_id)
        if req.status != "open":
            raise ConflictError(N_(
                "rectification request %(request_id)s is %(status)s"
            ), request_id=request_id, status=req.status)
        current = BookingRepository(conn, keystore).get(req.booking_id)
        protected = protect(set_field(current, req.field, value), sensitive_filter=filt)
        corrected, report = protected.booking, protected.report
        if report.deleted:
            counts = {(corrected.carrier, c): n for c, n in report.by_category.items()}
            counts[(corrected.carrier, "elements")] = report.deleted
            add_deletions(conn, day=now.astimezone(dt.UTC).date(), counts=counts)
        version = write_rectified_version(conn, keystore, req.booking_id, corrected, at=now, actor=who)
        # The blind index follows (the corrected name or birth date is found, the old one
        # not), and so do the traveller links (a corrected birth date may link the API and
        # PNR records of the person, or part them).
        moved = rectify_index(conn, keystore, req.booking_id, corrected, now=now)
        # A record that joined the other source's traveller (or was linked for the first
        # time: stored before linking, its hits join it): one hit per person and match key
        # again (an open hit attaches to the person's, as a second source at ingest).
        joined = {m.traveller_id for m in moved} | adopt_hits(conn, moved)
        collapsed = collapse_hits(conn, joined, by=who, at=now)
        # Records that parted: each one's match leaves the other's hit and is screened
        # again on its own (a hit of its own, with its own explanation).
        parted = detach_strangers(conn, [req.booking_id])
        conn.execute(
            update(rectification_request)
            .where(rectification_request.c.id == request_id)
            .values(
                status="applied", decided_by=who, decided_at=now, new_version=version,
                decision_reason=_sealed_decision(conn, keystore, req.booking_id, request_id, reason),
            )
        )
        _audit_for(audit, conn).append(
            actor=who,
            role=_DPO_ROLE,
            operation=Operation.ALTERATION,
            purpose=Purpose.DATA_SUBJECT_REQUEST,
            record_ids=[req.booking_id],
            counts={
                "rectification.fields": 1,
                "booking.version": version,
                "sensitive.deleted": protected.report.deleted,
            },
            reference=request_id,
        )
        if collapsed:
            ids, totals = collapse_audit(collapsed)
            _audit_for(audit, conn).append(
                actor=who, role=_DPO_ROLE, operation=Operation.ALTERATION,
                purpose=Purpose.DATA_SUBJECT_REQUEST, record_ids=ids, counts=totals, reference=request_id,
            )  # fmt: skip
        _screen_parted(conn, keystore, audit, parted, now=now, reference=request_id)
    return version


def _screen_parted(
    conn: Connection,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    booking_ids: set[str],
    *,
    now: dt.datetime,
    reference: str,
) -> None:
    """Screen the latest version of each active booking whose record parted from a hit's
    person, as a rescreen does (system actor, the request as reference; screening skips
    restricted bookings itself)."""
    if not booking_ids:
        return
    rows = conn.execute(
        select(booking.c.id, booking.c.latest_version).where(
            booking.c.id.in_(sorted(booking_ids)), booking.c.state == "active"
        )
    ).all()
    repo = BookingRepository(conn, keystore, now=now)
    readable = repo.get_many([(r.id, int(r.latest_version)) for r in rows])
    for r in rows:
        b = readable.get(r.id)
        if b is not None:
            screen_booking(
                b, booking_id=r.id, booking_version=int(r.latest_version), conn=conn, keystore=keystore,
                audit=_audit_for(audit, conn), now=now, reference=reference,
            )  # fmt: skip


def _sealed_decision(
    conn: Connection, keystore: KeyStore, booking_id: str, request_id: str, reason: str
) -> str:
    """The DPO's reason as stored: under the booking's identity key (`store.texts`)."""
    key = TextKeys(conn, keystore).for_booking(booking_id)
    return seal_text(key, reason, table="rectification_request", column="decision_reason", row_id=request_id)


def reject_rectification(
    request_id: str, *, dpo: str, reason: str, engine: Engine, keystore: KeyStore, clock: Clock
) -> None:
    """Close a rectification request without a change, with the reason."""
    with engine.begin() as conn:
        target = conn.execute(
            select(rectification_request.c.booking_id).where(rectification_request.c.id == request_id)
        ).scalar()
        sealed = reason if target is None else _sealed_decision(conn, keystore, target, request_id, reason)
        done = conn.execute(
            update(rectification_request)
            .where(rectification_request.c.id == request_id, rectification_request.c.status == "open")
            .values(status="rejected", decided_by=opaque(dpo), decided_at=clock.now(), decision_reason=sealed)
        )
        if not done.rowcount:
            raise ConflictError(N_("rectification request %(request_id)s is not open"), request_id=request_id)
