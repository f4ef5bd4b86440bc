"""Screening use cases: watchlist import with incremental rescreen, screening at ingest,
hit review with suppression (Art. 12(5)), criteria rule management and statistics.

How the pieces fit (docs/watchlists.md, "Hits, versions and rescreening"):

- **At ingest** `screen_saved` runs inside the ingest transaction, on the protected bookings
  just saved (no decryption needed): every traveller against every current list (one
  cached `Screener` per list version) and the active criteria rules. A duplicate push is not
  screened again: its content was screened when first stored, and list changes since are
  covered by the rescreen below.
- **On a list import** the delta against the stored version is computed by entry
  fingerprints. Only the added and changed entries are matched: a small `Screener` of just
  those entries against every stored active traveller (decrypted through the repository),
  in batches of one transaction each, so ingest is never blocked for long. Open hits of a
  removed entry are withdrawn at once; open hits of a changed entry that no longer match
  are withdrawn when the rescreen ends. A version's `rescreened_at` is set last, so an
  interrupted rescreen is visible and is resumed by importing the same file again.
- **On a rule save** a new active rule version is run over the stored active bookings whose
  reported flight departs today or later (node clock), in batches like a list rescreen.
  Past flights are not re-assessed by a new criterion: criteria assess travellers before
  arrival or departure; past travel is for duly reasoned requests (proportionality).
- **A hit** is created once per (booking, traveller, match key) and holds no personal
  content. An open hit is brought up to date when the same match is produced again; a
  decision stands (a confirmed hit is never touched; a dismissed one is reopened only when
  its list entry changed).
- **Suppression**: dismissing a hit stores (person digest, match key) so the same person
  does not hit the same entry or rule again. The person digest is an HMAC-SHA256 under a
  node secret (created on first use and kept wrapped by the key store in `node_secret`,
  like the booking digests), never a plain hash.

Audit: a list import and a review are `alteration`s, screening is a `combination`, opening a
hit is a `consultation`; all under the purpose of the list or rule concerned (why: the
list or rule is held and used for that purpose, and the Directive asks every processing
step to name it; `system_security` would hide what the processing served). Entries hold
ids and counts only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.domain.model import Booking, Traveller
from pnrguard.errors import ConflictError, InputError, NotFoundError, WatchlistFormatError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import CriteriaEngine, Rule, compile_rule
from pnrguard.screening.index import normalise_document
from pnrguard.screening.models import Feature, PersonQuery, WatchlistEntry
from pnrguard.screening.names import normalise, strip_glued_title
from pnrguard.screening.score import explain
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener
from pnrguard.screening.watchlists import FORMATS, detect_format, diff, entry_fingerprint, parse_watchlist
from pnrguard.service.hit_travellers import attach, hits_of_travellers, with_travellers
from pnrguard.service.search_index import traveller_pairs
from pnrguard.store import screening as store
from pnrguard.store.repository import BookingRepository, SaveOutcome, SaveStatus, load_node_secret, new_id
from pnrguard.store.screening import (
    CurrentList,
    HitKind,
    HitRecord,
    HitStatus,
    VersionRecord,
    WatchlistRecord,
)
from pnrguard.store.texts import TextKeys, seal_text

__all__ = [
    "SYSTEM_ACTOR",
    "HitKind",
    "HitRecord",
    "HitStatus",
    "HitView",
    "ImportResult",
    "RescreenResult",
    "ReviewDecision",
    "RuleRescreenResult",
    "RuleStatistics",
    "ScreenResult",
    "ScreeningCache",
    "import_watchlist",
    "list_rules",
    "list_watchlists",
    "open_hit",
    "person_query",
    "rescreen_rule",
    "rescreen_version",
    "review_hit",
    "rule_statistics",
    "save_rule",
    "screen_booking",
    "screen_saved",
]

#: The audit actor of automated screening (ingest and rescreen started by the system).
SYSTEM_ACTOR = "system:screening"
#: List names and rule ids end up in audit record ids (at most 64 characters).
WATCHLIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
#: Bookings decrypted and screened per rescreen transaction.
RESCREEN_BATCH = 500
_MAX_REASON = 2000
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


# --- caches --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ListScreener:
    current: CurrentList
    screener: Screener
    fingerprints: dict[str, str]


class ScreeningCache:
    """Process-wide cache: one `Screener` per (database, list, version) and one
    `CriteriaEngine` per (database, active rule versions, day).

    Why: building a screener for a 7,000-entry list takes about 0.25 s and compiling rules a
    few ms; ingest screens every message, so both are built once and reused until a new
    list version or rule version appears (checked with one query per call). Keyed by the
    engine (weakly) because ids and version numbers are per database.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: weakref.WeakKeyDictionary[Engine, dict[int, _ListScreener]] = weakref.WeakKeyDictionary()
        self._rules: weakref.WeakKeyDictionary[Engine, tuple[object, CriteriaEngine]] = (
            weakref.WeakKeyDictionary()
        )

    def lists(self, conn: Connection) -> list[_ListScreener]:
        out: list[_ListScreener] = []
        for cl in store.current_lists(conn):
            with self._lock:
                cached = self._lists.setdefault(conn.engine, {}).get(cl.id)
            if cached is None or cached.current != cl:
                rows = store.entries_at_version(conn, cl.id, cl.version)
                cached = _ListScreener(
                    cl, Screener.build(e for e, _ in rows), {e.entity_id: fp for e, fp in rows}
                )
                with self._lock:
                    self._lists.setdefault(conn.engine, {})[cl.id] = cached
            out.append(cached)
        return out

    def criteria(self, conn: Connection, *, today: dt.date) -> CriteriaEngine:
        rules = [r for r in store.latest_rules(conn) if r.is_active(today)]
        key = (today, tuple((r.rule_id, r.version) for r in rules))
        with self._lock:
            cached = self._rules.get(conn.engine)
        if cached is not None and cached[0] == key:
            return cached[1]
        engine = CriteriaEngine(rules, today=today)
        with self._lock:
            self._rules[conn.engine] = (key, engine)
        return engine


DEFAULT_CACHE = ScreeningCache()


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


# --- screening at ingest -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """What screening some bookings did. `hits` are the hits now waiting for review."""

    bookings: int = 0
    travellers: int = 0
    hits: tuple[HitRecord, ...] = ()
    refreshed: int = 0
    suppressed: int = 0
    rule_errors: dict[str, int] = field(default_factory=dict)


def _screen(
    conn: Connection,
    todo: Sequence[tuple[Booking, str, int]],
    *,
    keystore: KeyStore,
    audit: AuditPort,
    now: dt.datetime,
    actor: str,
    role: str,
    reference: str | None,
    cache: ScreeningCache,
) -> ScreenResult:
    if not todo:
        return ScreenResult()
    restricted = store.restricted_among(conn, [bid for _, bid, _ in todo])
    if restricted:  # kept, but not processed (LED Art. 16(3))
        todo = [t for t in todo if t[1] not in restricted]
        if not todo:
            return ScreenResult()
    lists = cache.lists(conn)
    rules = cache.criteria(conn, today=now.date())
    if not lists and not rules.compiled:
        return ScreenResult()
    digest = _PersonDigest(conn, keystore, now)
    proposed: list[HitRecord] = []
    travellers = 0
    errors: dict[str, int] = {}
    for b, booking_id, version in todo:
        pairs = _travellers(b)
        travellers += len(pairs)
        for ref, t in pairs:
            query = person_query(ref, t)
            person: bytes | None = None
            for ls in lists:
                for c in ls.screener.screen(query, threshold=DEFAULT_THRESHOLD):
                    if person is None:
                        person = digest(t)
                    proposed.append(
                        _list_hit(
                            ls.current,
                            ls.fingerprints,
                            booking_id=booking_id,
                            booking_version=version,
                            ref=ref,
                            score=c.score,
                            features=c.features,
                            entity_id=c.entity_id,
                            digest=person,
                            now=now,
                        )
                    )
        if rules.compiled:
            proposed += _rule_hits(
                rules, b, pairs, booking_id=booking_id, booking_version=version, digest=digest,
                errors=errors, now=now,
            )  # fmt: skip
    recorded = _record(conn, proposed)
    log = _audit_for(audit, conn)
    booking_ids = list(dict.fromkeys(bid for _, bid, _ in todo))
    purposes = sorted({ls.current.purpose for ls in lists} | {r.purpose for r in rules.rules})
    for purpose in purposes:
        new = [h.id for h in recorded.new if h.purpose is purpose]
        _append_chunked(
            log, actor=actor, role=role, operation=Operation.COMBINATION, purpose=purpose,
            record_ids=booking_ids + new,
            counts={
                "bookings.screened": len(booking_ids),
                "travellers.screened": travellers,
                "hits.new": len(new),
                "hits.attached": recorded.attached,
            },
            reference=reference,
        )  # fmt: skip
    return ScreenResult(
        bookings=len(booking_ids),
        travellers=travellers,
        hits=tuple(recorded.new),
        refreshed=recorded.refreshed,
        suppressed=recorded.suppressed,
        rule_errors=errors,
    )


def screen_saved(
    conn: Connection,
    bookings: Sequence[Booking],
    outcomes: Sequence[SaveOutcome],
    *,
    keystore: KeyStore,
    audit: AuditPort,
    now: dt.datetime,
    actor: str = SYSTEM_ACTOR,
    role: str = "system",
    reference: str | None = None,
    cache: ScreeningCache | None = None,
) -> ScreenResult:
    """Screen the bookings ingest just saved (`outcomes` from `save_versions`, same order),
    inside the caller's transaction, so a message's bookings and their hits commit together.
    Duplicates are skipped (see the module docstring). `reference` is the message id."""
    todo = [
        (b, o.booking_id, o.version)
        for b, o in zip(bookings, outcomes, strict=True)
        if o.status is not SaveStatus.DUPLICATE
    ]
    return _screen(
        conn, todo, keystore=keystore, audit=audit, now=now, actor=actor, role=role,
        reference=reference, cache=cache or DEFAULT_CACHE,
    )  # fmt: skip


def screen_booking(
    booking: Booking,
    *,
    booking_id: str,
    booking_version: int,
    conn: Connection,
    keystore: KeyStore,
    audit: AuditPort,
    now: dt.datetime,
    actor: str = SYSTEM_ACTOR,
    role: str = "system",
    reference: str | None = None,
    cache: ScreeningCache | None = None,
) -> list[HitRecord]:
    """Screen one stored booking version against every current list and the active rules,
    inside the caller's transaction. Returns the hits now waiting for review."""
    result = _screen(
        conn, [(booking, booking_id, booking_version)], keystore=keystore, audit=audit, now=now,
        actor=actor, role=role, reference=reference, cache=cache or DEFAULT_CACHE,
    )  # fmt: skip
    return list(result.hits)


# --- watchlist import and rescreen ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RescreenResult:
    """One list version's delta screened against every stored active traveller."""

    entries: int  # added + changed entries screened (the delta, not the list)
    bookings: int = 0
    travellers: int = 0
    unreadable: int = 0  # active bookings whose keys were gone (masked or shredded meanwhile)
    hits_new: int = 0
    hits_refreshed: int = 0
    suppressed: int = 0
    withdrawn: int = 0  # open hits of changed entries that no longer match
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ImportResult:
    """`created` is False when the file added nothing (identical file or an empty delta):
    then `version` is the current one and no version was stored."""

    watchlist: str
    version: int
    created: bool
    added: int
    removed: int
    changed: int
    total: int
    withdrawn: int = 0  # open hits of removed entries, closed as withdrawn
    rescreen: RescreenResult | None = None


def _check_name(name: str) -> None:
    if not WATCHLIST_NAME.fullmatch(name):
        raise InputError("a list name is 1-40 of a-z 0-9 . _ - (starting with a letter or digit)")


def import_watchlist(
    source: Path | bytes,
    *,
    name: str,
    fmt: str = "auto",
    purpose: Purpose | None = None,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    actor: str,
    role: str = "operator",
    filename: str = "",
    batch_size: int = RESCREEN_BATCH,
    cache: ScreeningCache | None = None,
) -> ImportResult:
    """Import a list file as the next version of list `name`, then rescreen the delta.

    The first import creates the list and needs its `purpose` (an investigative purpose:
    terrorism or an Annex II offence). Later imports must keep the format and purpose.
    Importing a file identical to the current version, or one whose entries are the same,
    stores nothing (and resumes the rescreen of the current version if it was interrupted).
    Raises `WatchlistFormatError` for an unreadable file, `ConflictError` for a format or
    purpose that differs from the list's.
    """
    _check_name(name)
    if isinstance(source, Path):
        data = source.read_bytes()
        filename = filename or source.name
    else:
        data = bytes(source)
    actual = detect_format(data, filename) if fmt == "auto" else fmt
    if actual not in FORMATS:
        raise WatchlistFormatError(f"unknown format {fmt!r}; expected auto or one of {FORMATS}")
    if purpose is not None and purpose not in INVESTIGATIVE_PURPOSES:
        raise InputError("a list must serve terrorism or an Annex II offence")
    parsed = parse_watchlist(data, actual, filename=filename)
    by_id: dict[str, WatchlistEntry] = {e.entity_id: e for e in parsed}  # a repeated id: last wins
    new_fps = {eid: entry_fingerprint(e) for eid, e in by_id.items()}
    sha = hashlib.sha256(data).digest()
    now = clock()

    with engine.begin() as conn:
        wl = store.get_watchlist(conn, name, for_update=True)
        if wl is None:
            if purpose is None:
                raise InputError(f"list {name} is new: give the purpose it is held for")
            wl_id = store.create_watchlist(conn, name=name, fmt=actual, purpose=purpose, at=now)
            wl = WatchlistRecord(wl_id, name, actual, purpose, now)
        elif wl.format != actual:
            raise ConflictError(f"list {name} is imported as {wl.format}, not {actual}")
        elif purpose is not None and purpose is not wl.purpose:
            raise ConflictError(f"list {name} is held for {wl.purpose.value}, not {purpose.value}")
        current = store.latest_version(conn, wl.id)
        unchanged: VersionRecord | None = None
        if current is not None and current.sha256 == sha:
            unchanged = current
        else:
            delta = diff(store.current_fingerprints(conn, wl.id), new_fps)
            if current is not None and delta.is_empty:
                unchanged = current
        if unchanged is None:
            version = (current.version if current else 0) + 1
            store.add_version(
                conn, watchlist_id=wl.id, version=version, at=now, by=actor, sha256=sha,
                added=len(delta.added), removed=len(delta.removed), changed=len(delta.changed),
                total=len(by_id),
            )  # fmt: skip
            store.retire_entries(conn, wl.id, [*delta.removed, *delta.changed], version=version)
            store.add_entries(
                conn, wl.id, [(by_id[e], new_fps[e]) for e in (*delta.added, *delta.changed)], version=version
            )
            ref = _version_ref(name, version)
            log = _audit_for(audit, conn)
            log.append(
                actor=actor, role=role, operation=Operation.ALTERATION, purpose=wl.purpose,
                record_ids=[ref], reference=ref,
                counts={
                    "entries.added": len(delta.added), "entries.removed": len(delta.removed),
                    "entries.changed": len(delta.changed), "entries.total": len(by_id),
                },
            )  # fmt: skip
            withdrawn = store.withdraw_open_hits(
                conn, watchlist_id=wl.id, entity_ids=delta.removed, at=now, by=actor,
                reason=f"entry removed from list version {version}",
            )  # fmt: skip
            if withdrawn:
                _append_chunked(
                    log, actor=actor, role=role, operation=Operation.ALTERATION, purpose=wl.purpose,
                    record_ids=withdrawn, counts={"hits.withdrawn": len(withdrawn)}, reference=ref,
                )  # fmt: skip
    if unchanged is not None:
        rescreen = None
        if unchanged.rescreened_at is None:
            rescreen = rescreen_version(
                name, unchanged.version, engine=engine, keystore=keystore, audit=audit, clock=clock,
                actor=actor, role=role, batch_size=batch_size, cache=cache,
            )  # fmt: skip
        return ImportResult(name, unchanged.version, False, 0, 0, 0, unchanged.total, rescreen=rescreen)
    rescreen = rescreen_version(
        name, version, engine=engine, keystore=keystore, audit=audit, clock=clock,
        actor=actor, role=role, batch_size=batch_size, cache=cache,
    )  # fmt: skip
    return ImportResult(
        watchlist=name, version=version, created=True, added=len(delta.added),
        removed=len(delta.removed), changed=len(delta.changed), total=len(by_id),
        withdrawn=len(withdrawn), rescreen=rescreen,
    )  # fmt: skip


def rescreen_version(
    name: str,
    version: int,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    actor: str,
    role: str = "operator",
    batch_size: int = RESCREEN_BATCH,
    cache: ScreeningCache | None = None,
) -> RescreenResult:
    """Screen every stored active traveller against the entries list `version` added or
    changed (and nothing else), one transaction per `batch_size` bookings; then withdraw
    the open hits of changed entries that no longer match, and mark the version rescreened.
    Idempotent: running it again creates no duplicate hit."""
    del cache  # the delta screener is built here and never shared
    started = time.perf_counter()
    with engine.connect() as conn:
        wl = store.get_watchlist(conn, name)
        if wl is None:
            raise NotFoundError(f"list {name} not found")
        delta = store.entries_first_in(conn, wl.id, version)
        changed = store.entities_superseded_in(conn, wl.id, version)
    current = CurrentList(wl.id, name, wl.purpose, version, b"")
    screener = Screener.build(e for e, _ in delta)
    fingerprints = {e.entity_id: fp for e, fp in delta}
    ref = _version_ref(name, version)
    bookings = travellers = unreadable = hits_new = refreshed = suppressed = 0
    after = ""
    while delta:
        now = clock()
        with engine.begin() as conn:
            page = store.active_booking_page(conn, after=after, limit=batch_size)
            if not page:
                break
            repo = BookingRepository(conn, keystore, now=now)
            digest = _PersonDigest(conn, keystore, now)
            proposed: list[HitRecord] = []
            screened: list[str] = []
            readable = repo.get_many(page)
            unreadable += len(page) - len(readable)
            for booking_id, booking_version in page:
                b = readable.get(booking_id)
                if b is None:
                    continue
                screened.append(booking_id)
                for tref, t in _travellers(b):
                    travellers += 1
                    candidates = screener.screen(person_query(tref, t), threshold=DEFAULT_THRESHOLD)
                    person = digest(t) if candidates else None
                    for c in candidates:
                        proposed.append(
                            _list_hit(
                                current,
                                fingerprints,
                                booking_id=booking_id,
                                booking_version=booking_version,
                                ref=tref,
                                score=c.score,
                                features=c.features,
                                entity_id=c.entity_id,
                                digest=person,
                                now=now,
                            )
                        )
            recorded = _record(conn, proposed)
            new_ids = [h.id for h in recorded.new]
            _append_chunked(
                _audit_for(audit, conn), actor=actor, role=role, operation=Operation.COMBINATION,
                purpose=wl.purpose, record_ids=screened + new_ids, reference=ref,
                counts={
                    "bookings.screened": len(screened), "entries.screened": len(delta),
                    "hits.new": len(new_ids), "hits.refreshed": recorded.refreshed,
                    "hits.suppressed": recorded.suppressed,
                },
            )  # fmt: skip
            bookings += len(screened)
            hits_new += len(new_ids)
            refreshed += recorded.refreshed
            suppressed += recorded.suppressed
        after = page[-1][0]
        if len(page) < batch_size:
            break
    now = clock()
    with engine.begin() as conn:
        withdrawn = store.withdraw_open_hits(
            conn, watchlist_id=wl.id, entity_ids=changed, at=now, by=actor,
            reason=f"entry changed in list version {version} and no longer matches",
            before_version=version, active_bookings_only=True,
        )  # fmt: skip
        if withdrawn:
            _append_chunked(
                _audit_for(audit, conn), actor=actor, role=role, operation=Operation.ALTERATION,
                purpose=wl.purpose, record_ids=withdrawn, counts={"hits.withdrawn": len(withdrawn)},
                reference=ref,
            )  # fmt: skip
        store.mark_rescreened(conn, wl.id, version, at=now)
    return RescreenResult(
        entries=len(delta), bookings=bookings, travellers=travellers, unreadable=unreadable,
        hits_new=hits_new, hits_refreshed=refreshed, suppressed=suppressed,
        withdrawn=len(withdrawn), seconds=time.perf_counter() - started,
    )  # fmt: skip


def list_watchlists(*, engine: Engine) -> list[tuple[WatchlistRecord, list[VersionRecord]]]:
    """Every list with its versions, oldest version first."""
    with engine.connect() as conn:
        return [(wl, store.versions(conn, wl.id)) for wl in store.list_watchlists(conn)]


# --- review --------------------------------------------------------------------------------


class ReviewDecision(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"


def review_hit(
    hit_id: str,
    *,
    reviewer: str,
    decision: ReviewDecision | str,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    role: str = "analyst",
) -> HitRecord:
    """A person's decision on an open hit (Art. 6(5)), with a mandatory reason.

    The reason may name the person: it is stored encrypted under the booking's identity key
    (`store.texts.seal_text`), in the hit and in the suppression, never in clear.

    Dismissing also stores a suppression for (person digest, match key), so the same person
    does not hit the same entry or rule again (Art. 12(5)); for a list entry it holds while
    the entry is unchanged. A hit whose traveller had no date of birth and no document has
    no digest and creates no suppression (it would silence every namesake). Raises
    `ConflictError` if the hit is no longer open, `InputError` without a reason.
    """
    decision = ReviewDecision(decision)
    reason = reason.strip()
    if not reason:
        raise InputError("a review needs a reason")
    if len(reason) > _MAX_REASON:
        raise InputError(f"a review reason has at most {_MAX_REASON} characters")
    status = HitStatus.CONFIRMED if decision is ReviewDecision.CONFIRM else HitStatus.DISMISSED
    now = clock()
    with engine.begin() as conn:
        h = store.get_hit(conn, hit_id, for_update=True)
        key = TextKeys(conn, keystore).for_booking(h.booking_id)
        sealed = seal_text(key, reason, table="hit", column="review_reason", row_id=hit_id)
        if h.status is not HitStatus.OPEN or not store.set_review(
            conn, hit_id, status=status, by=reviewer, at=now, reason=sealed
        ):
            raise ConflictError(f"hit {hit_id} is {h.status.value}, not open")
        suppressions = 0
        if status is HitStatus.DISMISSED and h.person_digest is not None:
            store.add_suppression(
                conn, hit_id=hit_id, person_digest=h.person_digest, match_key=h.match_key,
                fingerprint=h.fingerprint if h.kind is HitKind.WATCHLIST else None,
                at=now, by=reviewer,
                reason=seal_text(key, reason, table="suppression", column="reason", row_id=hit_id),
            )  # fmt: skip
            suppressions = 1
        _audit_for(audit, conn).append(
            actor=reviewer, role=role, operation=Operation.ALTERATION, purpose=h.purpose,
            record_ids=[hit_id, h.booking_id], reference=hit_id,
            counts={f"hits.{status.value}": 1, "suppressions.created": suppressions},
        )  # fmt: skip
    return dataclasses.replace(h, status=status, reviewed_by=reviewer, reviewed_at=now, review_reason=reason)


@dataclass(frozen=True, slots=True)
class HitView:
    """A hit as a reviewer sees it: the stored hit, the traveller, and what matched with the
    reasons. Holds personal data: built on request, audited, never stored."""

    hit: HitRecord
    traveller: Traveller
    entry: WatchlistEntry | None
    rule: Rule | None
    features: tuple[Feature, ...]
    explanation: str


def open_hit(
    hit_id: str,
    *,
    actor: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    role: str = "analyst",
) -> HitView:
    """Render a hit for review: decrypt the booking version and load the list entry or rule
    version that produced it, and explain the match feature by feature. Audited as a
    consultation under the hit's purpose. Raises `CryptoError` for a masked booking
    (unmasking needs judicial approval, Art. 12(3))."""
    with engine.begin() as conn:
        h = store.get_hit(conn, hit_id)
        b = BookingRepository(conn, keystore).get(h.booking_id, version=h.booking_version)
        traveller = dict(_travellers(b)).get(h.traveller_ref)
        if traveller is None:
            raise NotFoundError(f"hit {hit_id}: traveller not in booking version")
        entry: WatchlistEntry | None = None
        rule: Rule | None = None
        features: tuple[Feature, ...] = ()
        if h.kind is HitKind.WATCHLIST:
            assert h.watchlist_id is not None
            assert h.entity_id is not None
            assert h.list_version is not None
            found = store.entries_at(conn, h.watchlist_id, [h.entity_id], h.list_version)
            if h.entity_id not in found:
                raise NotFoundError(f"hit {hit_id}: list entry not found")
            entry = found[h.entity_id][0]
            query = person_query(h.traveller_ref, traveller)
            candidates = Screener.build([entry]).screen(query, threshold=0.0)
            if candidates:
                features = candidates[0].features
            explanation = f"{entry.list_name} {entry.entity_id}: " + explain(features)
        else:
            assert h.rule_id is not None
            assert h.rule_version is not None
            rule = store.rule_version(conn, h.rule_id, h.rule_version)
            if rule is None:
                raise NotFoundError(f"hit {hit_id}: rule version not found")
            explanation = f"rule {rule.rule_id} v{rule.version} ({rule.name}): {rule.expression}"
        _audit_for(audit, conn).append(
            actor=actor, role=role, operation=Operation.CONSULTATION, purpose=h.purpose,
            record_ids=[hit_id, h.booking_id], counts={"hits.opened": 1}, reference=hit_id,
        )  # fmt: skip
    return HitView(h, traveller, entry, rule, features, explanation)


# --- criteria rules ------------------------------------------------------------------------


def _same_rule(a: Rule, b: Rule) -> bool:
    return dataclasses.replace(a, version=0) == dataclasses.replace(b, version=0)


@dataclass(frozen=True, slots=True)
class RuleRescreenResult:
    """One rule version run over the stored active bookings whose flight has not departed."""

    rule_id: str
    version: int
    bookings: int = 0
    travellers: int = 0
    unreadable: int = 0  # keys gone meanwhile (masked or shredded)
    hits_new: int = 0
    hits_refreshed: int = 0
    suppressed: int = 0
    errors: int = 0  # evaluations that failed on the data (see `CriteriaRun.errors`)
    seconds: float = 0.0


def save_rule(
    rule: Rule,
    *,
    actor: str,
    engine: Engine,
    audit: AuditPort,
    clock: Clock,
    role: str = "operator",
    keystore: KeyStore | None = None,
    batch_size: int = RESCREEN_BATCH,
) -> Rule:
    """Store a rule as its next version (`rule.version` is ignored; the stored rule with its
    version is returned). Validated by `compile_rule` first (raises `CriteriaError`). Saving
    a rule identical to its current version stores nothing. Disabling is saving a version
    with `enabled=False`: rows are never updated, so every hit names the exact rule.

    With the `keystore`, a new version that is active is then run over the stored bookings
    whose flight has not departed yet (`rescreen_rule`, after the version is committed);
    without it only bookings ingested from now on are assessed by it."""
    if not RULE_ID.fullmatch(rule.rule_id):
        raise InputError("a rule id is 1-40 of A-Z a-z 0-9 . _ - (starting with a letter or digit)")
    compile_rule(rule)
    now = clock()
    with engine.begin() as conn:
        current = store.latest_rule(conn, rule.rule_id)
        stored = dataclasses.replace(rule, version=(current.version if current else 0) + 1)
        if current is not None and _same_rule(current, stored):
            return current
        store.insert_rule(conn, stored, at=now, by=actor)
        _audit_for(audit, conn).append(
            actor=actor, role=role, operation=Operation.ALTERATION, purpose=stored.purpose,
            record_ids=[f"rule:{stored.rule_id}:{stored.version}"], counts={"rules.saved": 1},
            reference=_rule_key(stored.rule_id),
        )  # fmt: skip
    if keystore is not None and stored.is_active(now.date()):
        rescreen_rule(
            stored.rule_id, stored.version, engine=engine, keystore=keystore, audit=audit, clock=clock,
            actor=actor, role=role, batch_size=batch_size,
        )  # fmt: skip
    return stored


def rescreen_rule(
    rule_id: str,
    version: int,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    actor: str,
    role: str = "operator",
    batch_size: int = RESCREEN_BATCH,
) -> RuleRescreenResult:
    """Run one rule version over every stored active booking whose reported flight departs
    today or later (node clock, fixed at the start of the run), one transaction per
    `batch_size` bookings, each audited as a `combination` under the rule's purpose.

    Why only flights not yet departed (proportionality): pre-determined criteria serve the
    assessment of travellers before their arrival or departure (Art. 6(2)(a), (3)(b)).
    Running a new criterion over past travel would profile everyone stored after the fact,
    for no decision still to be taken at a border; past data is for duly reasoned requests
    (Art. 6(2)(b)). Bookings without a flight date are left out for the same reason. The
    day is the unit because the flight date is the only clear column (a flight that left
    this morning is still screened: the error is on the side of the assessment the rule
    was made for). Idempotent: open hits are brought up to the new version, decisions
    stand, suppressions apply. An interrupted run is not resumed by itself: run it again."""
    started = time.perf_counter()
    with engine.connect() as conn:
        rule = store.rule_version(conn, rule_id, version)
    if rule is None:
        raise NotFoundError(f"rule {rule_id} version {version} not found")
    today = clock().date()
    criteria = CriteriaEngine([rule], today=today)
    ref = f"rule:{rule_id}:{version}"
    bookings = travellers = unreadable = hits_new = refreshed = suppressed = 0
    errors: dict[str, int] = {}
    after = ""
    while criteria.compiled:
        now = clock()
        with engine.begin() as conn:
            repo = BookingRepository(conn, keystore, now=now)
            page = repo.active_refs(after=after, limit=batch_size, departing_from=today)
            if not page:
                break
            readable = repo.get_many(page)
            unreadable += len(page) - len(readable)
            digest = _PersonDigest(conn, keystore, now)
            proposed: list[HitRecord] = []
            screened: list[str] = []
            batch_travellers = 0
            for booking_id, booking_version in page:
                b = readable.get(booking_id)
                if b is None:
                    continue
                screened.append(booking_id)
                pairs = _travellers(b)
                batch_travellers += len(pairs)
                proposed += _rule_hits(
                    criteria, b, pairs, booking_id=booking_id, booking_version=booking_version,
                    digest=digest, errors=errors, now=now,
                )  # fmt: skip
            recorded = _record(conn, proposed)
            new_ids = [h.id for h in recorded.new]
            _append_chunked(
                _audit_for(audit, conn), actor=actor, role=role, operation=Operation.COMBINATION,
                purpose=rule.purpose, record_ids=screened + new_ids, reference=ref,
                counts={
                    "bookings.screened": len(screened), "travellers.screened": batch_travellers,
                    "hits.new": len(new_ids), "hits.refreshed": recorded.refreshed,
                    "hits.suppressed": recorded.suppressed,
                },
            )  # fmt: skip
            bookings += len(screened)
            travellers += batch_travellers
            hits_new += len(new_ids)
            refreshed += recorded.refreshed
            suppressed += recorded.suppressed
        after = page[-1][0]
        if len(page) < batch_size:
            break
    return RuleRescreenResult(
        rule_id=rule_id, version=version, bookings=bookings, travellers=travellers,
        unreadable=unreadable, hits_new=hits_new, hits_refreshed=refreshed, suppressed=suppressed,
        errors=sum(errors.values()), seconds=time.perf_counter() - started,
    )  # fmt: skip


def list_rules(*, engine: Engine) -> list[Rule]:
    """The current version of every rule."""
    with engine.connect() as conn:
        return store.latest_rules(conn)


@dataclass(frozen=True, slots=True)
class RuleStatistics:
    """One rule's figures for its periodic review (hits over all its versions)."""

    rule: Rule
    active: bool
    needs_review: bool
    hits: int
    open: int
    confirmed: int
    dismissed: int

    @property
    def confirmed_rate(self) -> float | None:
        """Confirmed among decided hits: a low rate is a rule producing false positives."""
        decided = self.confirmed + self.dismissed
        return self.confirmed / decided if decided else None


def rule_statistics(today: dt.date, *, engine: Engine) -> list[RuleStatistics]:
    """Per rule: hits, open, confirmed, dismissed, whether it runs and whether its review is
    due (expired rules are listed too: their history is what the review looks at)."""
    with engine.connect() as conn:
        rules = store.latest_rules(conn)
        counts = store.rule_hit_counts(conn)
    out: list[RuleStatistics] = []
    for r in rules:
        c = counts.get(r.rule_id, Counter())
        out.append(
            RuleStatistics(
                rule=r,
                active=r.is_active(today),
                needs_review=r.needs_review(today),
                hits=sum(c.values()),
                open=c[HitStatus.OPEN.value],
                confirmed=c[HitStatus.CONFIRMED.value],
                dismissed=c[HitStatus.DISMISSED.value],
            )
        )
    return out
