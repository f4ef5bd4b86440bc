"""Masked bookings in link analysis, under a decided judicial unmasking (issue 16).

Masking removes a booking's blind-index tokens (`search_index.forget`), so a masked person
joins no edge: link analysis goes through masked data only where Art. 12(3) of Directive
2016/681 allows seeing it at all, a judicial authority's approval decided beforehand. Here
that approval is the one `service.unmasking` already enforces, narrowed to the analysis:

- the approved request names the booking (or the other source of the same people on the
  same flight: `unmasking._linked_named`), was made by this user, for this purpose, is
  within its window now, and names as its **case** the basis of this analysis
  (`request:<id>` or `hit:<id>`, or the bare id): an unmasking decided for another request
  or hit opens nothing here;
- each such booking is opened with its sealed key (`unmasking.read_visible`, the path
  every unmasked view takes) and its tokens are derived **in memory** for this query only
  (`search_index.booking_tokens`, the ingest writer's own derivation): nothing goes back to
  `search_token`, so masking stays effective for every other search and analysis;
- the analysis then treats these bookings as visible: their travellers are matched
  against the frontier's digests like stored ones, shown by name, and every edge found
  through them is marked (`Edge.unmasked`);
- the service logs one ``unmasking`` entry per approved request used (the bookings opened,
  the request id as reference) beside its consultations. A deleted booking has nothing left
  to open (`covering_request` wants a masked one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Traveller
from pnrguard.links.model import Crowd, LinkKind, Occurrence
from pnrguard.links.tokens import FIELD_KIND
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field
from pnrguard.service.accounts import Account
from pnrguard.service.ingest import opaque
from pnrguard.service.links import IndexSource, Record
from pnrguard.service.review import consultation_purpose
from pnrguard.service.search_index import booking_tokens, tokeniser
from pnrguard.service.unmasking import covering_request, read_visible
from pnrguard.store.lifecycle import unmasking_approval, unmasking_request, unmasking_request_booking
from pnrguard.store.traveller import traveller_member

__all__ = ["Opened", "UnmaskedSource", "log_opened", "open_for", "source_for"]

_IDENTITY = frozenset({int(Field.DOCUMENT), int(Field.DOB), int(Field.SURNAME), int(Field.GIVEN)})
_KIND_FIELDS: dict[LinkKind, list[int]] = defaultdict(list)
for _f, _k in FIELD_KIND.items():
    _KIND_FIELDS[_k].append(int(_f))


@dataclass(slots=True)
class Opened:
    """The masked bookings one analysis may go through, opened in memory."""

    #: booking id -> its (token, field, traveller ref) rows, identity and link fields only
    rows: dict[str, list[tuple[bytes, int, str]]] = field(default_factory=dict)
    #: booking id -> its travellers by screening ref (the names shown)
    travellers: dict[str, dict[str, Traveller]] = field(default_factory=dict)
    #: booking id -> the approved unmasking request that opened it
    under: dict[str, str] = field(default_factory=dict)

    def records(self) -> list[Record]:
        return sorted((bid, ref) for bid, people in self.travellers.items() for ref in people)


def case_references(basis: str) -> frozenset[str]:
    """What an unmasking request's case reference may say to be for this analysis."""
    return frozenset(ref for ref in (basis, basis.partition(":")[2]) if ref.strip())  # never ""


def _named(conn: Connection, *, user: Account, purpose: Purpose, cases: frozenset[str], now: dt.datetime
           ) -> set[str]:  # fmt: skip
    """The bookings named by this user's approved unmaskings for this case, purpose and now,
    with the other source of the same travellers (each then checked by `covering_request`)."""
    r, rb, a = unmasking_request.c, unmasking_request_booking.c, unmasking_approval.c
    q = (
        select(rb.booking_id)
        .join(unmasking_request, r.id == rb.request_id)
        .join(unmasking_approval, a.request_id == r.id)
        .where(
            r.requester == opaque(user.id),
            r.purpose == purpose.value,
            r.case_reference.in_(sorted(cases)),
            r.status == "approved",
            a.decision == "approved",
            a.decided_at <= now,
            r.valid_from <= now,
            r.valid_until > now,
        )
    )
    named = set(conn.execute(q).scalars())
    if not named:
        return set()
    tm = traveller_member.c
    people = select(tm.traveller_id).where(tm.booking_id.in_(sorted(named)))
    others = conn.execute(select(tm.booking_id).where(tm.traveller_id.in_(people))).scalars()
    return named | set(others)


def open_for(
    conn: Connection, keystore: KeyStore, *, basis: str, user: Account, purpose: Purpose, now: dt.datetime
) -> Opened:
    """Open the masked bookings a decided unmasking lets this analysis go through (module
    docstring). Nothing is written; the caller logs what it used (`log_opened`)."""
    opened = Opened()
    cases = case_references(basis)
    candidates = _named(conn, user=user, purpose=purpose, cases=cases, now=now)
    if not candidates:
        return opened
    tok = tokeniser(conn, keystore, now=now)
    wanted = _IDENTITY | set(FIELD_KIND)
    for bid in sorted(candidates):
        under = covering_request(conn, bid, user=user, purpose=purpose, now=now, case_references=cases)
        if under is None:  # active, deleted, or not covered for this case (the traveller link)
            continue
        b, _ = read_visible(conn, keystore, bid, user=user, purpose=purpose, now=now, case_references=cases)
        indexed = booking_tokens(tok, b, bid)
        opened.rows[bid] = [(t, f, ref) for t, f, ref in indexed.rows if f in wanted]
        opened.travellers[bid] = dict(indexed.pairs)
        opened.under[bid] = under
    return opened


def log_opened(log: AuditLog, opened: Opened, *, user: Account, purpose: Purpose, basis: str) -> None:
    """One ``unmasking`` entry per approved request used: the bookings opened for this
    analysis, the request as reference (ids and counts only)."""
    by_request: dict[str, list[str]] = defaultdict(list)
    for bid, under in opened.under.items():
        by_request[under].append(bid)
    for under, bids in sorted(by_request.items()):
        log.append(
            actor=user.username, role=user.role.value, operation=Operation.UNMASKING,
            purpose=consultation_purpose(user, purpose), record_ids=[*sorted(bids), basis], reference=under,
            counts={"unmasking.links": len(bids)},
        )  # fmt: skip


class UnmaskedSource(IndexSource):
    """The index, plus the bookings opened under a decided unmasking, held in memory.

    Their records resolve from their in-memory identity tokens, they count as visible in
    this query (`booking_day` says ``active`` for them, which is what every visibility test
    of `IndexSource` reads), and their link tokens are matched against the digests asked for,
    the way stored rows are. Every occurrence on them is marked ``unmasked``."""

    def __init__(self, conn: Connection, opened: Opened) -> None:
        super().__init__(conn)
        self.opened = opened
        for bid, rows in opened.rows.items():
            for token, f, ref in rows:
                if f in _IDENTITY:
                    self.identity.setdefault((bid, ref), defaultdict(set))[f].add(token)
        self._identity_read.update(opened.rows)  # nothing stored left to read for them
        self._resolve(opened.records())

    def _days(self, booking_ids: Sequence[str]) -> None:
        super()._days(booking_ids)
        for bid in booking_ids:
            if bid in self.opened.rows and bid in self.booking_day:
                day, source, _ = self.booking_day[bid]
                self.booking_day[bid] = (day, source, "active")

    def _all_records(self, persons: Sequence[str]) -> dict[str, list[Record]]:
        out = super()._all_records(persons)
        for rec in self.opened.records():
            p = self.person_of.get(rec)
            if p in out and rec not in out[p]:
                out[p].append(rec)
                if rec not in self.records_of.setdefault(p, []):
                    self.records_of[p].append(rec)
        return out

    def _mark(self, items: Sequence[Occurrence | Crowd]) -> list[Occurrence | Crowd]:
        return [
            dataclasses.replace(o, unmasked=True)
            if isinstance(o, Occurrence) and o.booking_id in self.opened.rows
            else o
            for o in items
        ]

    def _opened_occurrences(self, keep: set[tuple[str, str, int, bytes]] | None, records: set[Record]
                            ) -> list[Occurrence]:  # fmt: skip
        """Occurrences of the opened bookings' link rows: of `records` (`keep` None), or of
        every traveller on a row whose (booking, ref, field, token) `keep` holds."""
        link = set(FIELD_KIND)
        rows: list[tuple[bytes, int, str, str]] = []
        members: dict[str, list[str]] = {}
        for bid, booking_rows in self.opened.rows.items():
            refs = [ref for ref in self.opened.travellers[bid] if keep is not None or (bid, ref) in records]
            if not refs:
                continue
            members[bid] = refs
            for token, f, ref in booking_rows:
                if f not in link or (ref and ref not in refs):
                    continue
                if keep is None or (bid, ref, f, token) in keep:
                    rows.append((token, f, bid, ref))
        return self._occurrences(rows, members)

    def occurrences_of(self, persons: Sequence[str]) -> list[Occurrence]:
        out: list[Occurrence | Crowd] = [*super().occurrences_of(persons)]
        who = set(persons)
        records = {r for r in self.opened.records() if self.person_of.get(r) in who}
        if records:
            out += self._opened_occurrences(None, records)
        return [o for o in self._mark(out) if isinstance(o, Occurrence)]

    def sharing(self, keys: Sequence[tuple[LinkKind, bytes]]) -> list[Occurrence | Crowd]:
        out = super().sharing(keys)
        hubs = {(c.kind, c.token) for c in out if isinstance(c, Crowd)}
        asked = {(f, token) for kind, token in keys if (kind, token) not in hubs for f in _KIND_FIELDS[kind]}
        keep = {(bid, ref, f, token) for bid, rows in self.opened.rows.items() for token, f, ref in rows
                if (f, token) in asked}  # fmt: skip
        if keep:
            out += self._opened_occurrences(keep, set())
        return self._mark(out)


def source_for(conn: Connection, opened: Opened) -> IndexSource:
    """The graph's source for one analysis: the index, with the opened bookings if any."""
    return UnmaskedSource(conn, opened) if opened.rows else IndexSource(conn)
