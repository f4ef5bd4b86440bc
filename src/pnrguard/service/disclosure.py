"""Transmissions to competent authorities and their disclosure packages (JSON and PDF).

Why it works this way:

- **Only what a person approved leaves the node** (Art. 6(2)(a), 6(5)): a transmission
  names a *confirmed* hit (or a booking found for a competent authority's request), the
  recipient, the legal purpose and a justification. With four eyes (the default) it waits
  for a supervisor other than the proposer; the release is the disclosure and is logged as
  one (purpose, booking and hit ids, recipient, transmission id).
- **The package is rebuilt, never stored**: it holds personal data, and a second copy of
  it in the database would escape the booking's encryption and its retention (masking,
  crypto-shredding). It is rebuilt on download from the booking version it names; its
  SHA-256 at release is stored, so anyone can tell whether a copy is the one released (a
  package rebuilt after the booking was masked differs, and says so: masked data stays
  masked in every export).
- **The JSON is the authoritative form**; the PDF (`service.package_pdf`, laid out with
  fpdf2) is its printable rendering and holds nothing the JSON does not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.accounts import Account, Role
from pnrguard.service.four_eyes import Gate, Kind, may_leave
from pnrguard.service.hit_travellers import linked_records
from pnrguard.service.links_case import package_links
from pnrguard.service.package_pdf import render_package_pdf
from pnrguard.service.review import ReviewPolicy, booking_view, consultation_purpose, log_unmasking
from pnrguard.service.unmasking import can_see_identity_on
from pnrguard.store import screening as hits_store
from pnrguard.store import workspace as store
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import HitKind, HitStatus
from pnrguard.store.texts import TextKeys, open_text, seal_text
from pnrguard.store.workspace import AuthorityRecord, TransmissionRecord

__all__ = [
    "PACKAGE_FORMAT",
    "Package",
    "add_authority",
    "approve_transmission",
    "list_authorities",
    "package",
    "propose_transmission",
    "reject_transmission",
    "withdraw_transmission",
]

PACKAGE_FORMAT = "pnrguard-disclosure/1"
AuditFactory = Callable[[Connection], AuditLog]
Clock = Callable[[], dt.datetime]
_MAX_TEXT = 2000
#: A justification says why this person's data goes to this authority: more than a word.
MIN_JUSTIFICATION = 20
_CODE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def purpose_label(p: Purpose | str) -> str:
    return str(Purpose(p).value).replace("_", " ").capitalize()


def _reason(text: str, what: str, *, minimum: int = 1) -> str:
    text = text.strip()
    if not text:
        raise InputError(N_("%(what)s is mandatory"), what=what)
    if len(text) < minimum:
        raise InputError(N_(
            "%(what)s states why (at least %(minimum)s characters)"
        ), what=what, minimum=minimum)
    if len(text) > _MAX_TEXT:
        raise InputError(N_("%(what)s has at most %(MAX_TEXT)s characters"), what=what, MAX_TEXT=_MAX_TEXT)
    return text


# --- competent authorities -----------------------------------------------------------------


def list_authorities(engine: Engine) -> list[AuthorityRecord]:
    with engine.connect() as conn:
        return store.list_authorities(conn)


def add_authority(engine: Engine, *, code: str, name: str, kind: str, now: dt.datetime) -> AuthorityRecord:
    """Register a competent authority (Art. 7(1)): a code used in audit entries, a name."""
    code = code.strip().upper()
    if not code or len(code) > 32 or not set(code) <= _CODE:
        raise InputError(N_("an authority code is 1-32 of A-Z 0-9 - _ ."))
    if kind not in store.AUTHORITY_KINDS:
        raise InputError(N_("kind is one of %(items)s"), items=', '.join(store.AUTHORITY_KINDS))
    name = _reason(name, N_("a name"))[:200]
    rec = AuthorityRecord(new_id(), code, name, kind, now)
    with engine.begin() as conn:
        if store.authority_by_code(conn, code) is not None:
            raise ConflictError(N_("an authority with that code exists"))
        store.insert_authority(conn, rec)
    return rec


# --- transmissions -------------------------------------------------------------------------

_TRANSMITTERS = frozenset({Role.ANALYST, Role.SUPERVISOR})


@dataclass(frozen=True, slots=True)
class Package:
    transmission: TransmissionRecord
    data: dict[str, Any]
    json_bytes: bytes
    sha256: bytes

    def pdf(self) -> bytes:
        return render_package_pdf(self.data)


def propose_transmission(
    *,
    user: Account,
    authority_id: str,
    purpose: Purpose | str,
    justification: str,
    hit_id: str | None = None,
    request_id: str | None = None,
    booking_id: str | None = None,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    node_name: str,
    policy: ReviewPolicy,
) -> TransmissionRecord:
    """Propose transmitting a confirmed hit's booking (or a booking found for a request) to
    a competent authority. Without four eyes it is released at once.

    Raises `ConflictError` for a hit that is not confirmed or a request that is not open,
    `ForbiddenError` for a booking the request's searches did not find."""
    if user.role not in _TRANSMITTERS:
        raise ForbiddenError(N_("only analysts and supervisors transmit"))
    try:
        purpose = Purpose(purpose)
    except ValueError:
        raise InputError(N_("unknown purpose")) from None
    if purpose not in INVESTIGATIVE_PURPOSES:
        raise InputError(N_("a transmission serves terrorism or an Annex II offence"))
    justification = _reason(justification, N_("a justification"), minimum=MIN_JUSTIFICATION)
    now = clock()
    with engine.begin() as conn:
        authority = store.get_authority(conn, authority_id)
        if authority is None:
            raise NotFoundError(N_("no such competent authority"))
        if hit_id is not None:
            h = hits_store.get_hit(conn, hit_id, for_update=True)  # one proposal at a time
            if h.status is not HitStatus.CONFIRMED:
                raise ConflictError(N_(
                    "hit %(hit_id)s is %(status)s: only confirmed hits are transmitted"
                ), hit_id=hit_id, status=h.status.value)
            target, version = h.booking_id, h.booking_version
        elif request_id is not None and booking_id is not None:
            req = store.get_request(conn, request_id)
            if req is None:
                raise NotFoundError(N_("no such request"))
            if req.status != "open":
                raise ConflictError(N_(
                    "request %(request_id)s is %(status)s"
                ), request_id=request_id, status=req.status)
            if not store.was_found(conn, request_id, booking_id):
                raise ForbiddenError(N_("the booking was not found by this request's searches"))
            if Purpose(req.purpose) is not purpose or req.authority_id != authority_id:
                raise InputError(N_("an answer goes to the requesting authority, for the request's purpose"))
            target = booking_id
            version = BookingRepository(conn, keystore).summary(booking_id).latest_version
        else:
            raise InputError(N_("a transmission names a hit, or a request and a booking"))
        standing = store.standing_transmission(
            conn, authority_id=authority_id, hit_id=hit_id,
            request_id=None if hit_id is not None else request_id, booking_id=target,
        )  # fmt: skip
        if standing is not None:
            raise ConflictError(
                N_(
                    "already %(value)s to this authority: transmission %(id)s"
                ), value='released' if standing.status == 'released' else 'proposed', id=standing.id
            )
        if BookingRepository(conn, keystore).summary(target).state == "deleted":
            raise ConflictError(N_("the booking was deleted"))
        _only_unmasked(conn, target, user=user, purpose=purpose, now=now)
        rec = TransmissionRecord(
            id=new_id(),
            hit_id=hit_id,
            request_id=request_id if hit_id is None else None,
            booking_id=target,
            booking_version=version,
            authority_id=authority_id,
            purpose=purpose.value,
            justification=justification,
            status="pending",
            proposed_by=user.username,
            proposed_at=now,
            decided_by=None,
            decided_at=None,
            decision_reason=None,
            released_at=None,
            package_sha256=None,
        )
        gate = may_leave(kind=Kind.AUTHORITY, first=user.username, second=None, policy=policy)
        if gate is Gate.AWAIT_SECOND:
            store.insert_transmission(conn, _stored(conn, keystore, rec))
            return rec
        released = _released(rec, by=user.username, at=now, reason="released without second approval")
        pkg = _package(conn, keystore, released, user=user, node_name=node_name, log=audit(conn), now=now)
        released = _with(released, package_sha256=pkg.sha256)
        store.insert_transmission(conn, _stored(conn, keystore, released))
        _log_disclosure(audit(conn), released, authority, user, pkg)
    return released


def _with(rec: TransmissionRecord, **changes: Any) -> TransmissionRecord:
    return replace(rec, **changes)


def _seal(keys: TextKeys, rec: TransmissionRecord, text: str, column: str) -> str:
    """A justification or decision as stored: under the booking's identity key."""
    key = keys.for_booking(rec.booking_id)
    return seal_text(key, text, table="transmission", column=column, row_id=rec.id)


def _stored(conn: Connection, keystore: KeyStore, rec: TransmissionRecord) -> TransmissionRecord:
    keys = TextKeys(conn, keystore)
    reason = rec.decision_reason
    return _with(
        rec,
        justification=_seal(keys, rec, rec.justification, "justification"),
        decision_reason=None if reason is None else _seal(keys, rec, reason, "decision_reason"),
    )


def _opened(keys: TextKeys, rec: TransmissionRecord) -> TransmissionRecord:
    """The record with its texts as the viewer may see them (`store.texts.open_text`)."""

    def show(text: str | None, column: str) -> str | None:
        return open_text(
            keys, text, table="transmission", column=column, row_id=rec.id, booking_id=rec.booking_id
        )

    return _with(
        rec,
        justification=show(rec.justification, "justification") or "",
        decision_reason=show(rec.decision_reason, "decision_reason"),
    )


def _only_unmasked(
    conn: Connection, booking_id: str, *, user: Account, purpose: Purpose, now: dt.datetime
) -> None:
    """Art. 12(3) of Directive (EU) 2016/681 (issue 10, item 4): the data of a masked
    booking is transmitted only under a decided judicial unmasking that covers this booking,
    this person and this purpose."""
    if not can_see_identity_on(booking_id, user=user, purpose=purpose, conn=conn, now=now):
        raise ForbiddenError(
            N_(
                "the booking is masked (Art. 12(2)): it is transmitted only under a decided judicial "
                "unmasking that covers it (Art. 12(3)); request one first"
            )
        )


def _released(rec: TransmissionRecord, *, by: str, at: dt.datetime, reason: str) -> TransmissionRecord:
    return _with(rec, status="released", decided_by=by, decided_at=at, decision_reason=reason, released_at=at)


def _linked_ids(data: dict[str, Any]) -> list[str]:
    """The other bookings a package carries: the hit's other source, and the records added
    from its link analysis (`service.links_case`)."""
    return [str(s["booking_id"]) for s in [*data.get("linked_sources", []), *data.get("linked_persons", [])]]


def _log_disclosure(
    log: AuditLog,
    rec: TransmissionRecord,
    authority: AuthorityRecord,
    user: Account,
    pkg: Package | None = None,
) -> None:
    linked = _linked_ids(pkg.data) if pkg else []
    ids = [rec.booking_id, *linked, *([rec.hit_id] if rec.hit_id else []), f"authority:{authority.code}"]
    if rec.request_id:
        ids.append(f"request:{rec.request_id}")
    log.append(
        actor=user.username,
        role=user.role.value,
        operation=Operation.DISCLOSURE,
        purpose=Purpose(rec.purpose),
        record_ids=ids,
        counts={"bookings.disclosed": 1 + len(linked)},
        reference=rec.id,
    )


def approve_transmission(
    transmission_id: str,
    *,
    user: Account,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    node_name: str,
) -> TransmissionRecord:
    """The second approval (four eyes, `four_eyes.may_leave`): a supervisor who did not
    propose it releases it."""
    may_leave(kind=Kind.AUTHORITY, first="", second=user, policy=None)  # the role, before any read
    reason = _reason(reason, N_("an approval reason"))
    now = clock()
    with engine.begin() as conn:
        rec = store.get_transmission(conn, transmission_id, for_update=True)
        if rec is None:
            raise NotFoundError(N_("no such transmission"))
        may_leave(kind=Kind.AUTHORITY, first=rec.proposed_by, second=user, policy=None)
        if rec.status != "pending":
            raise ConflictError(N_(
                "transmission %(transmission_id)s is %(status)s"
            ), transmission_id=transmission_id, status=rec.status)
        if rec.hit_id is not None and hits_store.get_hit(conn, rec.hit_id).status is not HitStatus.CONFIRMED:
            raise ConflictError(N_("the hit is no longer confirmed"))
        authority = store.get_authority(conn, rec.authority_id)
        assert authority is not None
        # Masked since the proposal? Then the release needs the unmasking too.
        _only_unmasked(conn, rec.booking_id, user=user, purpose=Purpose(rec.purpose), now=now)
        released = _released(rec, by=user.username, at=now, reason=reason)
        pkg = _package(conn, keystore, released, user=user, node_name=node_name, log=audit(conn), now=now)
        sealed = _seal(TextKeys(conn, keystore), rec, reason, "decision_reason")
        if not store.decide_transmission(
            conn, transmission_id, status="released", by=user.username, at=now, reason=sealed,
            package_sha256=pkg.sha256,
        ):  # fmt: skip
            raise ConflictError(N_(
                "transmission %(transmission_id)s is no longer pending"
            ), transmission_id=transmission_id)
        _log_disclosure(audit(conn), released, authority, user, pkg)
    return _with(released, package_sha256=pkg.sha256)


def reject_transmission(
    transmission_id: str, *, user: Account, reason: str, engine: Engine, keystore: KeyStore, clock: Clock
) -> TransmissionRecord:
    """A supervisor stops a pending transmission (with a reason); nothing leaves the node."""
    if user.role is not Role.SUPERVISOR:
        raise ForbiddenError(N_("only a supervisor rejects a transmission"))
    reason = _reason(reason, N_("a rejection reason"))
    now = clock()
    with engine.begin() as conn:
        rec = store.get_transmission(conn, transmission_id)
        if rec is None:
            raise NotFoundError(N_("no such transmission"))
        sealed = _seal(TextKeys(conn, keystore), rec, reason, "decision_reason")
        if not store.decide_transmission(
            conn, transmission_id, status="rejected", by=user.username, at=now, reason=sealed
        ):
            rec = store.get_transmission(conn, transmission_id)
            assert rec is not None
            raise ConflictError(N_(
                "transmission %(transmission_id)s is %(status)s"
            ), transmission_id=transmission_id, status=rec.status)
        rec = store.get_transmission(conn, transmission_id)
        assert rec is not None
        return _opened(TextKeys(conn, keystore), rec)


def withdraw_transmission(
    transmission_id: str,
    *,
    user: Account,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
) -> TransmissionRecord:
    """The proposer takes a pending transmission back (with a reason): nothing leaves, and
    the same transmission may be proposed again later."""
    if user.role not in _TRANSMITTERS:
        raise ForbiddenError(N_("only analysts and supervisors transmit"))
    reason = _reason(reason, N_("a withdrawal reason"))
    now = clock()
    with engine.begin() as conn:
        rec = store.get_transmission(conn, transmission_id, for_update=True)
        if rec is None:
            raise NotFoundError(N_("no such transmission"))
        if rec.proposed_by != user.username:
            raise ForbiddenError(N_("only the person who proposed it withdraws a transmission"))
        sealed = _seal(TextKeys(conn, keystore), rec, reason, "decision_reason")
        if not store.decide_transmission(
            conn, transmission_id, status="withdrawn", by=user.username, at=now, reason=sealed
        ):
            raise ConflictError(N_(
                "transmission %(transmission_id)s is %(status)s"
            ), transmission_id=transmission_id, status=rec.status)
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(rec.purpose),
            record_ids=[rec.booking_id, *([rec.hit_id] if rec.hit_id else [])],
            counts={"transmissions.withdrawn": 1},
            reference=rec.id,
        )
        out = store.get_transmission(conn, transmission_id)
        assert out is not None
        return _opened(TextKeys(conn, keystore), out)


def get_transmission(
    engine: Engine, transmission_id: str, *, keystore: KeyStore
) -> tuple[TransmissionRecord, AuthorityRecord]:
    """A transmission with its texts opened for the viewer (a masked booking's stay masked)."""
    with engine.connect() as conn:
        rec = store.get_transmission(conn, transmission_id)
        if rec is None:
            raise NotFoundError(N_("no such transmission"))
        authority = store.get_authority(conn, rec.authority_id)
        rec = _opened(TextKeys(conn, keystore), rec)
    assert authority is not None
    return rec, authority


def preview_transmission(
    transmission_id: str,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    node_name: str,
) -> Package:
    """What a pending transmission would release if `user` approved it now: built by
    `_package`, the function that builds it at release, stamped as that release. For the
    proposer and supervisors; a logged consultation."""
    if user.role not in _TRANSMITTERS:
        raise ForbiddenError(N_("only the approvers see what leaves"))
    now = clock()
    with engine.begin() as conn:
        rec = store.get_transmission(conn, transmission_id)
        if rec is None:
            raise NotFoundError(N_("no such transmission"))
        if rec.status != "pending":
            raise ConflictError(N_(
                "transmission %(transmission_id)s is %(status)s"
            ), transmission_id=transmission_id, status=rec.status)
        would = _released(rec, by=user.username, at=now, reason="(the approval reason)")
        pkg = _package(conn, keystore, would, user=user, node_name=node_name, log=audit(conn), now=now)
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=consultation_purpose(user, Purpose(rec.purpose)),
            record_ids=[rec.booking_id, *_linked_ids(pkg.data), *([rec.hit_id] if rec.hit_id else [])],
            counts={"packages.previewed": 1},
            reference=rec.id,
        )
    return pkg


def package(
    transmission_id: str,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    node_name: str,
) -> Package:
    """Rebuild a released transmission's package for download; logged as a consultation."""
    with engine.begin() as conn:
        rec = store.get_transmission(conn, transmission_id)
        if rec is None:
            raise NotFoundError(N_("no such transmission"))
        if rec.status != "released":
            raise ConflictError(N_(
                "transmission %(transmission_id)s is %(status)s: nothing was released"
            ), transmission_id=transmission_id, status=rec.status)
        pkg = _package(conn, keystore, rec, user=user, node_name=node_name, log=audit(conn))
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=consultation_purpose(user, Purpose(rec.purpose)),
            record_ids=[
                rec.booking_id,
                *_linked_ids(pkg.data),
                *([rec.hit_id] if rec.hit_id else []),
            ],
            counts={"packages.downloaded": 1},
            reference=rec.id,
        )
    return pkg


def _package(
    conn: Connection,
    keystore: KeyStore,
    rec: TransmissionRecord,
    *,
    user: Account,
    node_name: str,
    log: AuditLog,
    now: dt.datetime | None = None,
) -> Package:
    authority = store.get_authority(conn, rec.authority_id)
    assert authority is not None
    view = booking_view(
        conn, keystore, rec.booking_id, user=user, purpose=Purpose(rec.purpose), version=rec.booking_version
    )
    log_unmasking(log, view, user=user, purpose=Purpose(rec.purpose))
    # Texts open for a live booking, and for a masked one only under the decided unmasking
    # the view was read under (Art. 12(3)); an in-memory record in clear passes as it is.
    keys = TextKeys(conn, keystore, unsealed=[rec.booking_id] if view.unmasked_under is not None else ())
    rec = _opened(keys, rec)
    origin: dict[str, Any]
    if rec.hit_id is not None:
        h = hits_store.get_hit(conn, rec.hit_id)
        match: dict[str, Any]
        if h.kind is HitKind.WATCHLIST:
            wl = next((w for w in hits_store.list_watchlists(conn) if w.id == h.watchlist_id), None)
            match = {
                "list": wl.name if wl else None,
                "list_version": h.list_version,
                "entity_id": h.entity_id,
            }
        else:
            match = {"rule_id": h.rule_id, "rule_version": h.rule_version}
        origin = {
            "hit": {
                "hit_id": h.id,
                "kind": h.kind.value,
                "traveller_ref": h.traveller_ref,
                # Masked booking (Art. 12(2)): no score or feature numbers that confirm who.
                "score": h.score if view.identity_visible else None,
                "features": [
                    {"feature": f, "value": v} for f, v in (h.features if view.identity_visible else ())
                ],
                "match": match,
                "reviewed_by": h.reviewed_by,
                "reviewed_at": h.reviewed_at.isoformat() if h.reviewed_at else None,
                "review_reason": open_text(
                    keys, h.review_reason, table="hit", column="review_reason", row_id=h.id,
                    booking_id=h.booking_id,
                ),
            }
        }
        # The same person's record from the other source (API or PNR) on this flight goes
        # with the hit: the decision was about the person (service/traveller.py).
        linked_sources = []
        for m in linked_records(conn, h):
            other = booking_view(conn, keystore, m.booking_id, user=user, purpose=Purpose(rec.purpose))
            log_unmasking(log, other, user=user, purpose=Purpose(rec.purpose))
            linked_sources.append(
                {"traveller_ref": m.traveller_ref, "linked_by": m.linked_by, **other.to_json()}
            )
        if linked_sources:
            origin["linked_sources"] = linked_sources
        basis = "Directive (EU) 2016/681, Art. 6(2)(a) and 6(6): a confirmed match, reviewed by a person"
    else:
        req = store.get_request(conn, rec.request_id or "")
        assert req is not None
        origin = {
            "request": {
                "request_id": req.id,
                "case_reference": req.case_reference,
                "registered_at": req.registered_at.isoformat(),
                "reason": open_text(
                    keys, req.reason, table="authority_request", column="reason", row_id=req.id
                ),
            }
        }
        basis = "Directive (EU) 2016/681, Art. 6(2)(b) and 6(6): a duly reasoned request"
    approvals: list[dict[str, str | None]] = [
        {"step": "proposed", "by": rec.proposed_by, "at": rec.proposed_at.isoformat()}
    ]
    if rec.decided_by is not None and rec.decided_at is not None:
        approvals.append(
            {
                "step": "released",
                "by": rec.decided_by,
                "at": rec.decided_at.isoformat(),
                "reason": rec.decision_reason,
            }
        )
    data: dict[str, Any] = {
        "format": PACKAGE_FORMAT,
        "transmission_id": rec.id,
        "node": node_name,
        "released_at": rec.released_at.isoformat() if rec.released_at else None,
        "recipient": {"code": authority.code, "name": authority.name, "kind": authority.kind},
        "purpose": {"code": rec.purpose, "label": purpose_label(rec.purpose)},
        "legal_basis": basis,
        "conditions": (
            "Processed only for the purpose stated (Art. 7(4)); no onward transfer without the "
            "PIU's permission; no decision with adverse legal effect on automated processing alone "
            "(Art. 7(6))."
        ),
        "justification": rec.justification,
        "approvals": approvals,
        **origin,
        # Prepared from a link graph: the records added from it and the graph itself.
        **package_links(conn, keystore, rec, user=user, log=log, now=now or dt.datetime.now(dt.UTC)),
        "booking": view.to_json(),
    }
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    return Package(rec, data, raw, hashlib.sha256(raw).digest())
