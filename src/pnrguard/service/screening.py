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

Modules: this one holds the list screeners' cache, screening at ingest and the list import
with its rescreen; `hit_recording` turns matches into stored hits, `hit_review` is the
reviewer's side, `criteria_rules` the rules' (all re-exported here).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, ConflictError, InputError, NotFoundError, WatchlistFormatError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import CriteriaEngine
from pnrguard.screening.models import WatchlistEntry
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener
from pnrguard.screening.watchlists import FORMATS, detect_format, diff, entry_fingerprint, parse_watchlist
from pnrguard.service.criteria_rules import (
    RuleRescreenResult,
    RuleStatistics,
    list_rules,
    rescreen_rule,
    rule_statistics,
    save_rule,
)
from pnrguard.service.hit_recording import (
    RESCREEN_BATCH,
    AuditPort,
    Clock,
    _append_chunked,
    _audit_for,
    _list_hit,
    _PersonDigest,
    _record,
    _rule_hits,
    _travellers,
    _version_ref,
    person_query,
)
from pnrguard.service.hit_review import HitView, ReviewDecision, open_hit, review_hit
from pnrguard.service.system_reasons import CHANGED_IN_LIST, REMOVED_FROM_LIST, system_reason
from pnrguard.store import screening as store
from pnrguard.store.repository import BookingRepository, SaveOutcome, SaveStatus
from pnrguard.store.screening import (
    CurrentList,
    HitKind,
    HitRecord,
    HitStatus,
    VersionRecord,
    WatchlistRecord,
)

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
#: List names end up in audit record ids (at most 64 characters).
WATCHLIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


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
        raise InputError(N_("a list name is 1-40 of a-z 0-9 . _ - (starting with a letter or digit)"))


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
        raise WatchlistFormatError(
            N_("unknown format %(fmt)r; expected auto or one of %(FORMATS)s"), fmt=fmt, FORMATS=FORMATS
        )
    if purpose is not None and purpose not in INVESTIGATIVE_PURPOSES:
        raise InputError(N_("a list must serve terrorism or an Annex II offence"))
    parsed = parse_watchlist(data, actual, filename=filename)
    by_id: dict[str, WatchlistEntry] = {e.entity_id: e for e in parsed}  # a repeated id: last wins
    new_fps = {eid: entry_fingerprint(e) for eid, e in by_id.items()}
    sha = hashlib.sha256(data).digest()
    now = clock()

    with engine.begin() as conn:
        wl = store.get_watchlist(conn, name, for_update=True)
        if wl is None:
            if purpose is None:
                raise InputError(N_("list %(name)s is new: give the purpose it is held for"), name=name)
            wl_id = store.create_watchlist(conn, name=name, fmt=actual, purpose=purpose, at=now)
            wl = WatchlistRecord(wl_id, name, actual, purpose, now)
        elif wl.format != actual:
            raise ConflictError(
                N_("list %(name)s is imported as %(format)s, not %(actual)s"),
                name=name,
                format=wl.format,
                actual=actual,
            )
        elif purpose is not None and purpose is not wl.purpose:
            raise ConflictError(
                N_("list %(name)s is held for %(purpose)s, not %(purpose2)s"),
                name=name,
                purpose=wl.purpose.value,
                purpose2=purpose.value,
            )
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
                reason=system_reason(REMOVED_FROM_LIST, version=version),
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
            raise NotFoundError(N_("list %(name)s not found"), name=name)
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
            reason=system_reason(CHANGED_IN_LIST, version=version),
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
