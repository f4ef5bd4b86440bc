"""From a match to a stored hit: the travellers of a booking as screening sees them, the
keyed person digest that suppressions are bound to, and recording proposed hits (new,
refreshed, reopened, attached to the same person's other source, or suppressed), with the
audit helpers every screening use case shares.

Split from `service.screening` (issue 14): the use cases (ingest, list import, review,
criteria rules) each record hits the same way, here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Booking, Traveller
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import CriteriaEngine
from pnrguard.screening.index import normalise_document
from pnrguard.screening.models import Feature, PersonQuery
from pnrguard.screening.names import normalise, strip_glued_title
from pnrguard.service.hit_travellers import attach, collapsed_hosts, hits_of_travellers, with_travellers
from pnrguard.service.search_index import traveller_pairs
from pnrguard.store import screening as store
from pnrguard.store.node_secrets import load_node_secret
from pnrguard.store.repository import new_id
from pnrguard.store.screening import (
    CurrentList,
    HitKind,
    HitRecord,
    HitStatus,
)

#: Bookings decrypted and screened per rescreen transaction.
RESCREEN_BATCH = 500
_AUDIT_IDS_PER_ENTRY = 10_000
_PERSON_DIGEST_NAME = "person-digest"  # its row in `node_secret`
_PERSON_CONTEXT = b"pnrguard/person-digest/v1"

AuditFactory = Callable[[Connection], AuditLog]
AuditPort = AuditLog | AuditFactory
Clock = Callable[[], dt.datetime]


def _audit_for(audit: AuditPort, conn: Connection) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def _append_chunked(
    log: AuditLog,
    *,
    actor: str,
    role: str,
    operation: Operation,
    purpose: Purpose,
    record_ids: Sequence[str],
    counts: dict[str, int],
    reference: str | None,
) -> None:
    ids = list(dict.fromkeys(record_ids))
    for i in range(0, max(len(ids), 1), _AUDIT_IDS_PER_ENTRY):
        log.append(
            actor=actor, role=role, operation=operation, purpose=purpose,
            record_ids=ids[i : i + _AUDIT_IDS_PER_ENTRY], counts=counts, reference=reference,
        )  # fmt: skip


def _version_ref(name: str, version: int) -> str:
    return f"watchlist:{name}:{version}"


def _list_key(name: str, entity_id: str) -> str:
    return f"list:{name}:{entity_id}"


def _rule_key(rule_id: str) -> str:
    return f"rule:{rule_id}"


# --- travellers ----------------------------------------------------------------------------


def _travellers(booking: Booking) -> list[tuple[str, Traveller]]:
    """(ref, traveller) with a usable, unique ref: carriers sometimes send none (PAXLST).
    The one numbering, shared with the blind index (`search_index.traveller_pairs`)."""
    return traveller_pairs(booking)


def _with_refs(booking: Booking, pairs: Sequence[tuple[str, Traveller]]) -> Booking:
    """The booking with the refs `_travellers` chose, so rule hits name the same refs."""
    if all(ref == t.ref for ref, t in pairs):
        return booking
    return dataclasses.replace(booking, travellers=[dataclasses.replace(t, ref=ref) for ref, t in pairs])


def _first_document(t: Traveller) -> tuple[str, dt.date | None, str, str, str]:
    """(number, dob, nationality, surname, given names) of the first travel document."""
    if not t.documents:
        return "", None, "", "", ""
    d = t.documents[0]
    return d.number, d.date_of_birth, d.nationality, d.surname, d.given_names


def person_query(ref: str, t: Traveller) -> PersonQuery:
    """The screening query of one traveller: reservation name, with the document's name as an
    alternative spelling when it differs (passport MRZ vs what the agent typed)."""
    number, doc_dob, doc_nat, doc_surname, doc_given = _first_document(t)
    full_name = None
    if doc_surname and normalise(f"{doc_given} {doc_surname}") != normalise(f"{t.given_names} {t.surname}"):
        full_name = f"{doc_given} {doc_surname}".strip()
    return PersonQuery(
        query_id=ref,
        surname=t.surname or doc_surname,
        given_names=t.given_names or doc_given,
        full_name=full_name,
        dob=t.date_of_birth or doc_dob,
        nationality=t.nationality or doc_nat or None,
        document=number or None,
        gender=t.gender or (t.documents[0].gender if t.documents else "") or None,
    )


class _PersonDigest:
    """HMAC-SHA256 of a traveller's normalised name, date of birth and first document.

    Keyed by a node secret (`node_secret` row "person-digest", wrapped by the key store),
    so the digest can only be computed by this node: a plain hash of name and birth date
    could be confirmed by anyone who guesses them. Name tokens are sorted so that swapped
    surname / given names give the same digest. None when the traveller has neither a date
    of birth nor a document number: a suppression on a bare name would silence namesakes.
    """

    def __init__(self, conn: Connection, keystore: KeyStore, now: dt.datetime) -> None:
        self._conn = conn
        self._keystore = keystore
        self._now = now
        self._key: bytes | None = None

    def __call__(self, t: Traveller) -> bytes | None:
        number, doc_dob, _, _, _ = _first_document(t)
        dob = t.date_of_birth or doc_dob
        doc = normalise_document(number) if number else ""
        if dob is None and not doc:
            return None
        name = " ".join(sorted(f"{strip_glued_title(t.given_names)} {normalise(t.surname)}".split()))
        material = json.dumps(["person/v1", name, dob.isoformat() if dob else "", doc], separators=(",", ":"))
        if self._key is None:
            secret = load_node_secret(self._conn, self._keystore, _PERSON_DIGEST_NAME, now=self._now)
            self._key = hmac.new(secret, _PERSON_CONTEXT, hashlib.sha256).digest()
        return hmac.new(self._key, material.encode("utf-8"), hashlib.sha256).digest()


# --- recording hits ------------------------------------------------------------------------


def _numbers(features: Iterable[Feature]) -> tuple[tuple[str, float], ...]:
    """Feature names and values only: the texts name tokens of the traveller's name."""
    return tuple((f.feature, round(float(f.value), 4)) for f in features)


@dataclass(slots=True)
class _Recorded:
    new: list[HitRecord] = field(default_factory=list)  # inserted or reopened: for review
    refreshed: int = 0
    suppressed: int = 0
    attached: int = 0


def _differs(old: HitRecord, new: HitRecord) -> bool:
    return (
        old.booking_version, old.list_version, old.fingerprint, old.rule_version, old.score,
        old.features, old.person_digest,
    ) != (
        new.booking_version, new.list_version, new.fingerprint, new.rule_version, new.score,
        new.features, new.person_digest,
    )  # fmt: skip


def _record(conn: Connection, proposed: Sequence[HitRecord]) -> _Recorded:
    """Store proposed hits: skip suppressed ones, insert new ones, bring open ones up to
    date, reopen withdrawn ones (and dismissed list hits whose entry changed); a person's
    decision otherwise stands."""
    out = _Recorded()
    by_key = {p.key: p for p in proposed}  # one push may hold a booking twice: last wins
    digests = {p.person_digest for p in by_key.values() if p.person_digest is not None}
    suppressed = store.suppressions_for(conn, digests) if digests else {}
    kept: list[HitRecord] = []
    for p in by_key.values():
        if p.person_digest is not None:
            fps = suppressed.get((p.person_digest, p.match_key))
            if fps is not None and (None in fps or p.fingerprint in fps):
                out.suppressed += 1
                continue
        kept.append(p)
    if not kept:
        return out
    kept = with_travellers(conn, kept)
    existing = store.hits_for(conn, [p.booking_id for p in kept], {p.match_key for p in kept})
    of_person = hits_of_travellers(conn, kept)
    # Withdrawn hits collapsed into the person's other hit (records linked after screening,
    # `hit_travellers.collapse_hits`): their record is a source of that hit now.
    hosts = collapsed_hosts(conn, [h for h in existing.values() if h.status is HitStatus.WITHDRAWN])
    inserts: list[HitRecord] = []
    updates: list[HitRecord] = []
    attaches: list[tuple[HitRecord, HitRecord]] = []
    for p in kept:
        old = existing.get(p.key)
        if old is None:
            other = of_person.get((p.traveller_id or "", p.match_key))
            if other is not None and other.key != p.key:
                # The same person's other source matched the same entry or rule: one hit
                # (attached after the inserts: the hit may be new in this very batch).
                attaches.append((other, p))
                continue
            inserts.append(p)
            out.new.append(p)
            if p.traveller_id:
                of_person[(p.traveller_id, p.match_key)] = p
            continue
        host = hosts.get(old.id)
        if host is not None:
            attaches.append((host, p))  # attached already: the person's one hit stands
            continue
        same_row = dataclasses.replace(p, id=old.id, created_at=old.created_at)
        if old.status is HitStatus.OPEN:
            if _differs(old, same_row):
                updates.append(same_row)
                out.refreshed += 1
        elif old.status is HitStatus.WITHDRAWN or (
            old.status is HitStatus.DISMISSED
            and old.kind is HitKind.WATCHLIST
            and old.fingerprint != p.fingerprint
        ):
            updates.append(same_row)
            out.new.append(same_row)
    store.insert_hits(conn, inserts)
    store.refresh_hits(conn, updates)
    for other, p in attaches:
        out.attached += attach(conn, other, p)
    return out


def _list_hit(
    cl: CurrentList,
    fingerprints: dict[str, str],
    *,
    booking_id: str,
    booking_version: int,
    ref: str,
    score: float,
    features: Iterable[Feature],
    entity_id: str,
    digest: bytes | None,
    now: dt.datetime,
) -> HitRecord:
    return HitRecord(
        id=new_id(), booking_id=booking_id, booking_version=booking_version, traveller_ref=ref,
        kind=HitKind.WATCHLIST, purpose=cl.purpose, match_key=_list_key(cl.name, entity_id),
        watchlist_id=cl.id, list_version=cl.version, entity_id=entity_id,
        fingerprint=fingerprints[entity_id], rule_id=None, rule_version=None,
        score=round(float(score), 4), features=_numbers(features), person_digest=digest,
        status=HitStatus.OPEN, created_at=now,
    )  # fmt: skip


def _rule_hits(
    rules: CriteriaEngine,
    b: Booking,
    pairs: Sequence[tuple[str, Traveller]],
    *,
    booking_id: str,
    booking_version: int,
    digest: _PersonDigest,
    errors: dict[str, int],
    now: dt.datetime,
) -> list[HitRecord]:
    """The rule hits of one booking (`pairs` from `_travellers`); evaluation errors are
    added to `errors` by rule id."""
    run = rules.run(_with_refs(b, pairs))
    for rule_id, n in run.errors.items():
        errors[rule_id] = errors.get(rule_id, 0) + n
    by_ref = dict(pairs)
    out: list[HitRecord] = []
    for rh in run.hits:
        out.append(HitRecord(
            id=new_id(), booking_id=booking_id, booking_version=booking_version,
            traveller_ref=rh.traveller_ref, kind=HitKind.RULE, purpose=rh.purpose,
            match_key=_rule_key(rh.rule_id), watchlist_id=None, list_version=None, entity_id=None,
            fingerprint=None, rule_id=rh.rule_id, rule_version=rh.rule_version, score=1.0,
            features=(("rule", 1.0),), person_digest=digest(by_ref[rh.traveller_ref]),
            status=HitStatus.OPEN, created_at=now,
        ))  # fmt: skip
    return out
