"""Link analysis as a use case: purpose-bound, logged, computed from the blind index.

When it is allowed (Directive 2016/681 Art. 6(2)(b), C-817/19 paras 218-221): stored data
is analysed only for a competent authority's duly reasoned request that is still open, or
for a confirmed hit (an open case), under that request's or hit's purpose. Nothing else
opens this path: there is no "browse the network" entry.

How it stays lawful by construction:

- **Keyed digests only.** The graph is built from `search_token` rows (HMACs) and the ids
  in `traveller_member`; nothing is decrypted to find a link. Only the people shown get
  their name decrypted, and that is logged as a consultation like any record opened.
- **Every expansion logged**: one `consultation` per person whose links were looked up,
  with the purpose, the basis (hit or request id) as reference, and the bookings read.
- **Depth at most 2; common digests are hubs, not links** (`links.graph`).
- **Masked and deleted data stay out**: masking and deletion remove a booking's tokens
  (`search_index.forget`), so a masked or deleted booking joins no edge. A person whose
  every record is masked is shown as a count, never by name.

A *person* here spans flights: records (one traveller on one booking) are one person when
they share a document and date of birth, or else every surname and given-name part and
the date of birth (all as tokens). Two records sharing a document with different dates of
birth are two people joined by a shared document, which is itself a finding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.csvsafe import safe_writer
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.links.graph import JOINT_TRAVEL_MIN, MAX_FANOUT, Graph, neighbourhood
from pnrguard.links.model import Crowd, LinkKind, Occurrence
from pnrguard.links.tokens import BOOKING_WIDE, FIELD_KIND, LinkField
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field
from pnrguard.service.accounts import Account, Role
from pnrguard.service.review import consultation_purpose
from pnrguard.service.search_index import traveller_pairs
from pnrguard.store import screening as hits_store
from pnrguard.store import workspace as requests_store
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import HitStatus
from pnrguard.store.tables import booking
from pnrguard.store.traveller import search_token, traveller_member

__all__ = [
    "IndexSource",
    "LinkView",
    "PersonRow",
    "add_linked_to_request",
    "addable",
    "graph_on",
    "links_for_hit",
    "links_for_request",
    "table_csv",
]

AuditFactory = Callable[[Connection], AuditLog]
Clock = Callable[[], dt.datetime]
ANALYSTS = frozenset({Role.ANALYST, Role.SUPERVISOR})
_IDENTITY = (int(Field.DOCUMENT), int(Field.DOB), int(Field.SURNAME), int(Field.GIVEN))
_LINK_FIELDS = sorted(FIELD_KIND)
_CHUNK = 400
#: Digests counted per statement (one `UNION ALL` branch each; SQLite allows 500).
_COMPOUND = 250
#: The drivers' parameter mark, for the statements written as text.
_MARK = {"sqlite": "?", "postgresql": "%s"}
#: Rows read per digest: beyond the graph's fan-out cap (50 people) a digest is a hub anyway;
#: a flight's digest is read whole (a wide-body's passengers) to count repeated joint travel.
_HUB_ROWS = 400
_FLIGHT_ROWS = 1000

Record = tuple[str, str]  # (booking id, traveller ref)
_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> list[Sequence[_T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


#: A flight digest is counted in records, as when it was a row per traveller: its rows are
#: a booking's (one per leg), each counted once per traveller of the booking. (A traveller a
#: later version dropped still counts: its link stays in `traveller_member`.)
_FLIGHT_RECORDS = (
    "search_token s JOIN traveller_member m ON m.booking_id = s.booking_id AND s.traveller_ref = ''"
)


def _source(field: int) -> str:
    """The rows a digest of `field` is counted over (see `IndexSource._counts`)."""
    return _FLIGHT_RECORDS if field == LinkField.FLIGHT else "search_token s"


def _crowd(field: int, token: bytes, people: int) -> Crowd:
    """A hub digest as the graph is told it: how many people, and nobody behind it resolved
    (it was `people` anonymous stand-in occurrences, built and walked once per person)."""
    return Crowd(FIELD_KIND[field], token, people)


class IndexSource:
    """The graph's port over the database: records, persons and their digests."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.records_of: dict[str, list[Record]] = {}
        self.person_of: dict[Record, str] = {}
        self.booking_day: dict[str, tuple[dt.date | None, str, str]] = {}
        #: identity tokens of every record read so far (a booking's are read once, whole)
        self.identity: dict[Record, dict[int, set[bytes]]] = {}
        self._identity_read: set[str] = set()

    # -- identity ------------------------------------------------------------------------
    def _identity_tokens(self, records: Sequence[Record]) -> dict[Record, dict[int, set[bytes]]]:
        """The identity tokens of these records, each booking read at most once per query
        (one seek per booking and field on `ix_search_token_booking_field`)."""
        bids = sorted({b for b, _ in records} - self._identity_read)
        st = search_token.c
        for chunk in _chunks(bids):
            q = select(st.booking_id, st.traveller_ref, st.field, st.token).where(
                st.booking_id.in_(chunk), st.field.in_(_IDENTITY)
            )
            for bid, ref, field, token in self.conn.execute(q).all():
                self.identity.setdefault((bid, ref), defaultdict(set))[int(field)].add(bytes(token))
        self._identity_read.update(bids)
        return {r: self.identity.get(r) or defaultdict(set) for r in records}

    @staticmethod
    def _key(booking_id: str, ref: str, tokens: dict[int, set[bytes]]) -> tuple[str, tuple[bytes, ...]]:
        docs, dobs = tokens.get(Field.DOCUMENT, set()), tokens.get(Field.DOB, set())
        if docs and dobs:
            return "doc", (min(docs), min(dobs))
        names = tokens.get(Field.SURNAME, set()), tokens.get(Field.GIVEN, set())
        if dobs and names[0] and names[1]:
            return "name", (*sorted(names[0]), b"|", *sorted(names[1]), b"|", min(dobs))
        return "record", (booking_id.encode(), ref.encode())

    def _resolve(self, records: Sequence[Record]) -> None:
        """Give each record its person id (an opaque hash of its identity tokens)."""
        todo = [r for r in records if r not in self.person_of]
        if not todo:
            return
        tokens = self._identity_tokens(todo)
        for rec in todo:
            kind, parts = self._key(rec[0], rec[1], tokens[rec])
            digest = hashlib.sha256(kind.encode() + b"\x00" + b"\x00".join(parts)).hexdigest()[:24]
            self.person_of[rec] = f"p{digest}"
            self.records_of.setdefault(self.person_of[rec], [])
            if rec not in self.records_of[self.person_of[rec]]:
                self.records_of[self.person_of[rec]].append(rec)

    def _all_records(self, persons: Sequence[str]) -> dict[str, list[Record]]:
        """Every record of each person: the records holding its document digest (else its
        date of birth), kept if they resolve to the person.

        One level at a time (depth 2 asks for up to 60 people at once): the identity tokens
        of a known record per person (already read when it was resolved), one read of the
        records holding each person's document digest (a person known by document) or date
        of birth (known by name), one resolution of the candidates. Every record of the
        person holds that token, and a candidate is kept only if it resolves to the person,
        so reading the name tokens too (thousands of rows for a common given name at
        1,000,000 bookings) only made a smaller candidate set to resolve."""
        known = {p: self.records_of.get(p, []) for p in persons}
        firsts = {p: recs[0] for p, recs in known.items() if recs}
        tokens = self._identity_tokens(sorted(set(firsts.values()))) if firsts else {}
        need: dict[str, tuple[int, bytes]] = {}
        for p, rec in firsts.items():
            t = tokens[rec]
            kind, _ = self._key(rec[0], rec[1], t)
            if kind == "doc":
                need[p] = (int(Field.DOCUMENT), min(t[Field.DOCUMENT]))
            elif kind == "name":
                need[p] = (int(Field.DOB), min(t[Field.DOB]))
        holders: dict[tuple[int, bytes], set[Record]] = defaultdict(set)
        # Every pair of the level in one query per chunk (the primary key starts with the
        # token, so each is one index range).
        st = search_token.c
        for chunk in _chunks(sorted({tok for _, tok in need.values()})):
            q = select(st.booking_id, st.traveller_ref, st.field, st.token).where(
                st.token.in_(chunk), st.field.in_([int(Field.DOCUMENT), int(Field.DOB)])
            )
            for bid, ref, field, token in self.conn.execute(q).all():
                holders[(int(field), bytes(token))].add((bid, ref))
        found = {p: sorted(holders.get(pair, set())) for p, pair in need.items()}
        self._resolve(sorted({r for recs in found.values() for r in recs}))
        out: dict[str, list[Record]] = {}
        for p in persons:
            mine = [r for r in found.get(p, []) if self.person_of.get(r) == p]
            out[p] = mine or known[p]
        return out

    def _days(self, booking_ids: Sequence[str]) -> None:
        todo = sorted({b for b in booking_ids if b not in self.booking_day})
        for chunk in _chunks(todo):
            q = select(booking.c.id, booking.c.flight_date, booking.c.source, booking.c.state).where(
                booking.c.id.in_(chunk)
            )
            for r in self.conn.execute(q):
                self.booking_day[r.id] = (r.flight_date, r.source, r.state)

    def _members(self, booking_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for chunk in _chunks(sorted(set(booking_ids))):
            q = select(traveller_member.c.booking_id, traveller_member.c.traveller_ref).where(
                traveller_member.c.booking_id.in_(chunk)
            )
            for r in self.conn.execute(q):
                out[r.booking_id].append(r.traveller_ref)
        return out

    def _occurrences(
        self,
        rows: Sequence[tuple[bytes, int, str, str]],
        members: dict[str, list[str]],
        on_booking: set[Record] | None = None,
    ) -> list[Occurrence]:
        """`on_booking`: the records a booking-wide flight row reaches (its travellers still
        on the booking, `_on_booking`); None when the flight rows were expanded already."""
        recs: list[tuple[Record, int, bytes]] = []
        flight = int(LinkField.FLIGHT)
        for token, field, bid, ref in rows:
            refs = members.get(bid, []) if ref == "" else [ref]  # "" : the whole booking's
            if ref == "" and field == flight and on_booking is not None:
                refs = [r for r in refs if (bid, r) in on_booking]
            recs += [((bid, r), field, token) for r in refs if r]
        self._resolve([r for r, _, _ in recs])
        self._days([r[0] for r, _, _ in recs])
        out = []
        for rec, field, token in recs:
            day, source, state = self.booking_day.get(rec[0], (None, "PNR", "active"))
            if state != "active":
                continue
            out.append(Occurrence(self.person_of[rec], rec[0], FIELD_KIND[field], token, day, source))
        return out

    # -- the port ------------------------------------------------------------------------
    def occurrences_of(self, persons: Sequence[str]) -> list[Occurrence]:
        records = sorted({r for recs in self._all_records(persons).values() for r in recs})
        bids = sorted({b for b, _ in records})
        wanted = set(records)
        rows: list[tuple[bytes, int, str, str]] = []
        for chunk in _chunks(bids):
            q = select(search_token).where(
                search_token.c.booking_id.in_(chunk), search_token.c.field.in_(_LINK_FIELDS)
            )
            for r in self.conn.execute(q):
                if r.traveller_ref == "" or (r.booking_id, r.traveller_ref) in wanted:
                    rows.append((bytes(r.token), int(r.field), r.booking_id, r.traveller_ref))
        members = self._members(bids)
        members = {b: [ref for ref in refs if (b, ref) in wanted] for b, refs in members.items()}
        out = self._occurrences(rows, members, self._on_booking(records, rows))
        # Co-travellers on the same booking: the booking id is the "digest".
        for bid, ref in records:
            day, source, state = self.booking_day.get(bid, (None, "PNR", "active"))
            if state == "active":
                out.append(
                    Occurrence(
                        self.person_of[(bid, ref)], bid, LinkKind.SAME_BOOKING, bid.encode(), day, source
                    )
                )
        return out

    def sharing(self, keys: Sequence[tuple[LinkKind, bytes]]) -> list[Occurrence | Crowd]:
        by_field: dict[int, list[bytes]] = defaultdict(list)
        same_booking: list[str] = []
        kind_fields: dict[LinkKind, list[int]] = defaultdict(list)
        for f, k in FIELD_KIND.items():
            kind_fields[k].append(f)
        for kind, token in keys:
            if kind is LinkKind.SAME_BOOKING:
                same_booking.append(token.decode())
            for f in kind_fields.get(kind, []):
                by_field[f].append(token)
        rows: list[tuple[bytes, int, str, str]] = []
        hubs: list[Crowd] = []
        # First how many rows each digest has (counted up to its cap only), then the rows of
        # the ordinary digests in one read per chunk for every field at once (a token's field
        # is in its HMAC, so tokens of different fields never collide). A hub (a digest on
        # thousands of bookings) costs a count of its first `cap` rows, not its size: the
        # graph is handed a `Crowd` (more people than its fan-out) and reports it as a hub.
        st = search_token.c
        fields = sorted(by_field)

        def cap(field: int) -> int:
            return _FLIGHT_ROWS if FIELD_KIND[field] is LinkKind.JOINT_TRAVEL else _HUB_ROWS

        counts = self._counts(sorted({(f, t) for f, ts in by_field.items() for t in ts}), cap)
        for (field, token), n in sorted(counts.items()):
            if n >= cap(field):
                hubs.append(_crowd(field, token, cap(field)))
        flights = int(LinkField.FLIGHT)  # joint travel is never a hub: it counts repeats
        suspects = [k for k, n in counts.items() if MAX_FANOUT + 1 < n < cap(k[0]) and k[0] != flights]
        for (field, token), bound in sorted(self._people_bound(suspects).items()):
            if bound > MAX_FANOUT + 1:
                counts[(field, token)] = cap(field)  # certainly a hub: not read, nobody resolved
                hubs.append(_crowd(field, token, bound - 1))
        ordinary = {k for k, n in counts.items() if 0 < n < cap(k[0])}
        for chunk in _chunks(sorted({t for _, t in ordinary})):
            q = select(search_token).where(st.token.in_(chunk), st.field.in_(fields))
            rows += [
                (bytes(r.token), int(r.field), r.booking_id, r.traveller_ref)
                for r in self.conn.execute(q)
                if (int(r.field), bytes(r.token)) in ordinary
            ]
        rows = self._repeatable(rows)
        members = self._members(sorted({b for _, _, b, _ in rows} | set(same_booking)))
        out: list[Occurrence | Crowd] = [*self._occurrences(rows, members), *hubs]
        recs = [(b, ref) for b in same_booking for ref in members.get(b, [])]
        self._resolve(recs)
        self._days(same_booking)
        for bid, ref in recs:
            day, source, state = self.booking_day.get(bid, (None, "PNR", "active"))
            if state == "active":
                out.append(
                    Occurrence(
                        self.person_of[(bid, ref)], bid, LinkKind.SAME_BOOKING, bid.encode(), day, source
                    )
                )
        return out

    def _counts(
        self, keys: Sequence[tuple[int, bytes]], cap: Callable[[int], int]
    ) -> dict[tuple[int, bytes], int]:
        """Rows of each (field, token), counted up to `cap(field)`: one statement per chunk,
        each digest a primary-key range cut at its cap (`LIMIT`), so a digest on 100,000
        bookings costs what one on `cap` does. Beyond the cap only "a hub" matters.

        Written as SQL text, through the driver: built with the expression language, a
        statement of a few hundred `UNION ALL` branches is new each time (no cache hit) and
        compiling it cost more than running it. Only the tokens are parameters; the branch
        number, field and cap are our own integers."""
        mark = _MARK.get(self.conn.dialect.name)
        if mark is None:  # any other database: the portable, uncapped count
            return self._counts_grouped(keys)
        out: dict[tuple[int, bytes], int] = {}
        for chunk in _chunks(keys, _COMPOUND):
            sql = " UNION ALL ".join(
                f"SELECT {i}, count(*) FROM (SELECT 1 FROM {_source(field)} WHERE s.token = {mark} "  # noqa: S608
                f"AND s.field = {int(field)} LIMIT {int(cap(field))}) AS t{i}"  # (integers of ours only)
                for i, (field, _) in enumerate(chunk)
            )
            params = tuple(token for _, token in chunk)
            for i, n in self.conn.exec_driver_sql(sql, params).all():
                if n:
                    out[chunk[int(i)]] = int(n)
        return out

    def _counts_grouped(self, keys: Sequence[tuple[int, bytes]]) -> dict[tuple[int, bytes], int]:
        st = search_token.c
        fields = sorted({f for f, _ in keys})
        out: dict[tuple[int, bytes], int] = {}
        for chunk in _chunks(sorted({t for _, t in keys})):
            q = (
                select(st.field, st.token, func.count())
                .where(st.token.in_(chunk), st.field.in_(fields))
                .group_by(st.field, st.token)
            )
            out.update({(int(f), bytes(t)): int(n) for f, t, n in self.conn.execute(q)})
        return out

    def _dob_tokens(self, booking_ids: Sequence[str]) -> dict[Record, bytes]:
        dob: dict[Record, bytes] = {}
        for chunk in _chunks(sorted(set(booking_ids))):
            q = select(search_token.c.booking_id, search_token.c.traveller_ref, search_token.c.token).where(
                search_token.c.booking_id.in_(chunk), search_token.c.field == int(Field.DOB)
            )
            for r in self.conn.execute(q):
                dob[(r.booking_id, r.traveller_ref)] = bytes(r.token)
        return dob

    def _people_bound(self, keys: Sequence[tuple[int, bytes]]) -> dict[tuple[int, bytes], int]:
        """A lower bound of the people each (field, digest) reaches, without resolving anyone.

        Who a record is costs a read of its identity tokens; a digest on 300 records (a
        template's agency office, a family's address over years) would have all of them
        resolved only for the graph to call it a hub. Distinct dates of birth are a lower
        bound of distinct people (one person, one date of birth), counted by the database
        in one grouped query per chunk: above the fan-out, the digest is a hub."""
        out: dict[tuple[int, bytes], int] = {}
        dob = search_token.alias("dob")
        st = search_token.c
        for wide in (True, False):
            group = [k for k in keys if (k[0] in BOOKING_WIDE) is wide]
            if not group:
                continue
            on = [dob.c.booking_id == st.booking_id, dob.c.field == int(Field.DOB)]
            if not wide:  # a traveller's own digest: that traveller's date of birth
                on.append(dob.c.traveller_ref == st.traveller_ref)
            fields = sorted({f for f, _ in group})
            for chunk in _chunks(sorted({t for _, t in group})):
                q = (
                    select(st.field, st.token, func.count(dob.c.token.distinct()))
                    .select_from(search_token.join(dob, and_(*on)))
                    .where(st.field.in_(fields), st.token.in_(chunk))
                    .group_by(st.field, st.token)
                )
                out.update({(int(f), bytes(t)): int(n) for f, t, n in self.conn.execute(q)})
        return out

    def _on_booking(
        self, records: Sequence[Record], rows: Sequence[tuple[bytes, int, str, str]]
    ) -> set[Record]:
        """The records still on their booking: those holding a row of their own (identity
        tokens, read when they were resolved, or a link row). A booking's flights are one
        booking-wide row per leg (`links.tokens.link_rows`), and `traveller_member` keeps
        the link of a traveller a later version dropped: this tells the two apart, as the
        per-traveller flight rows did."""
        flight = int(LinkField.FLIGHT)  # a traveller with flight rows of its own needs no other
        own = {(b, r) for _, f, b, r in rows if r and f != flight}
        return {rec for rec in records if rec in own or rec in self.identity}

    def _repeatable(self, rows: list[tuple[bytes, int, str, str]]) -> list[tuple[bytes, int, str, str]]:
        """The flight rows as one row per passenger who can have travelled with someone
        twice (a booking's row stands for each of its travellers); the others are dropped.

        A flight's digest reaches hundreds of records, and resolving who each one is costs
        a read of its identity tokens. A passenger can make a repeated-joint-travel edge only
        if their date of birth appears on at least two of the flights read: one cheap read
        of the date-of-birth tokens sorts out the rest before any resolution. The same read
        names a booking's travellers (a traveller without a date of birth is dropped
        anyway), so a booking-wide flight row becomes one row per traveller here."""
        flight = int(LinkField.FLIGHT)
        booked = [r for r in rows if r[1] == flight]
        if not booked:
            return rows
        dob = self._dob_tokens([b for _, _, b, _ in booked])
        refs: dict[str, list[str]] = defaultdict(list)
        for bid, ref in dob:
            refs[bid].append(ref)
        flights = [(t, f, b, r) for t, f, b, ref in booked for r in (refs.get(b, []) if ref == "" else [ref])]
        days: dict[bytes, set[bytes]] = defaultdict(set)
        for token, _, bid, ref in flights:
            if (d := dob.get((bid, ref))) is not None:
                days[d].add(token)
        keep = [
            r for r in flights
            if (d := dob.get((r[2], r[3]))) is not None and len(days[d]) >= JOINT_TRAVEL_MIN
        ]  # fmt: skip
        return [r for r in rows if r[1] != flight] + keep

    def masked(self, persons: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for p in persons:
            recs = self.records_of.get(p, [])
            self._days([b for b, _ in recs])
            if recs and all(self.booking_day.get(b, (None, "", "masked"))[2] != "active" for b, _ in recs):
                out.add(p)
        return out


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One person of the graph as the table beside the picture shows it."""

    id: str
    depth: int
    label: str  # "SURNAME, Given (date of birth)", or a count for masked people
    masked: bool
    bookings: int
    links: list[
        tuple[str, str, int, dt.date | None, dt.date | None, str]
    ]  # (to, kind label, count, first, last, sources)
    #: the person's bookings that are active (what "add to the case" adds); none if masked
    booking_ids: tuple[str, ...] = ()
    #: shown through a masked booking opened under a decided unmasking (`links_unmasked`)
    unmasked: bool = False


@dataclass(frozen=True, slots=True)
class LinkView:
    basis: str  # "hit:<id>" or "request:<id>"
    purpose: Purpose
    depth: int
    graph: Graph
    rows: list[PersonRow]
    labels: dict[str, str]
    hubs: list[tuple[str, int]]


def _now(clock: Clock | None) -> dt.datetime:
    return clock() if clock is not None else dt.datetime.now(dt.UTC)


def _start_records(conn: Connection, booking_id: str, traveller_ref: str) -> list[Record]:
    """The records of the start traveller: its booking record and the records linked to it
    as the same traveller on that flight (API and PNR)."""
    tid = conn.execute(
        select(traveller_member.c.traveller_id).where(
            traveller_member.c.booking_id == booking_id, traveller_member.c.traveller_ref == traveller_ref
        )
    ).scalar_one_or_none()
    if tid is None:
        return [(booking_id, traveller_ref)]
    rows = conn.execute(select(traveller_member.c.booking_id, traveller_member.c.traveller_ref).where(
        traveller_member.c.traveller_id == tid))  # fmt: skip
    return [(r.booking_id, r.traveller_ref) for r in rows]


def _view(
    conn: Connection,
    keystore: KeyStore,
    *,
    basis: str,
    purpose: Purpose,
    start: list[Record],
    depth: int,
    user: Account,
    log: AuditLog,
    now: dt.datetime,
) -> LinkView:
    # Imported here: the masked bookings' source is a subclass of `IndexSource`.
    from pnrguard.service.links_unmasked import log_opened, open_for, source_for

    if depth not in (1, 2):
        raise InputError(N_("link depth is 1 or 2"))
    opened = open_for(conn, keystore, basis=basis, user=user, purpose=purpose, now=now)
    source = source_for(conn, opened)
    source._resolve(start)
    person = source.person_of[start[0]]
    for rec in start[1:]:  # API and PNR records of the start traveller are one person
        source.person_of[rec] = person
        source.records_of.setdefault(person, []).append(rec)
    graph = neighbourhood(person, source, depth=depth)
    logged = consultation_purpose(user, purpose)
    # One consultation per step of the expansion (depth 1, then depth 2), naming the bookings
    # of every person whose links were looked up at that step: the log shows exactly who was
    # looked at, and a depth-2 query writes two entries, not one per person (each append
    # takes the log's lock and reads its head: on PostgreSQL three round trips).
    steps: dict[int, list[str]] = defaultdict(list)
    for p in graph.expanded:
        steps[graph.persons[p].depth + 1].append(p)
    for level, persons in sorted(steps.items()):
        found = {e.other(p) for p in persons for e in graph.edges if p in (e.a, e.b)}
        log.append(
            actor=user.username, role=user.role.value, operation=Operation.CONSULTATION, purpose=logged,
            record_ids=sorted({b for p in persons for b, _ in source.records_of.get(p, [])}), reference=basis,
            counts={"links.expanded": len(persons), "links.found": len(found - set(persons)),
                    "links.depth": level},
        )  # fmt: skip
    # Labels: the name of each shown person, read from one of its active records, all
    # decrypted in one batch (the page shown is the only thing decrypted).
    labels: dict[str, str] = {}
    chosen: dict[str, Record] = {}
    for pid, node in graph.persons.items():
        if node.masked:
            labels[pid] = "masked traveller"
            continue
        active = [
            r
            for r in source.records_of.get(pid, [])
            if source.booking_day.get(r[0], (None, "", ""))[2] == "active"
        ]
        if active:
            chosen[pid] = active[0]
    # Only the identity part is decrypted, and only its travellers decoded: a label is a name.
    # A booking opened under an unmasking was decrypted already (its sealed key, in memory).
    read = BookingRepository(conn, keystore).travellers_many(
        [bid for bid, _ in chosen.values() if bid not in opened.rows]
    )
    shown: list[str] = []
    for pid, (bid, ref) in chosen.items():
        travellers = read.get(bid)
        t = dict(traveller_pairs(Booking(travellers=travellers))).get(ref) if travellers is not None else None
        if bid in opened.rows:
            t = opened.travellers[bid].get(ref)
        if t is not None:
            dob = f" ({t.date_of_birth.isoformat()})" if t.date_of_birth else ""
            labels[pid] = f"{t.surname}, {t.given_names}{dob}".strip(", ")
            shown.append(bid)
    for pid in graph.persons:
        labels.setdefault(pid, "traveller")
    if opened.rows:
        log_opened(log, opened, user=user, purpose=purpose, basis=basis)
    if shown:
        log.append(
            actor=user.username, role=user.role.value, operation=Operation.CONSULTATION, purpose=logged,
            record_ids=sorted(set(shown)), reference=basis, counts={"links.names_shown": len(shown)},
        )  # fmt: skip
    rows = []
    for pid, node in sorted(graph.persons.items(), key=lambda kv: (kv[1].depth, labels.get(kv[0], ""))):
        links = [
            (labels.get(other, other), e.kind.label, e.count, e.first, e.last,
             ", ".join([*sorted(e.sources), *(["unmasked"] if e.unmasked else [])]))
            for other, e in graph.neighbours(pid)
        ]  # fmt: skip
        recs = source.records_of.get(pid, [])
        visible = {b for b, _ in recs if source.booking_day.get(b, (None, "", ""))[2] == "active"}
        shown_bookings = () if node.masked else tuple(sorted(visible - set(opened.rows)))
        unmasked = chosen.get(pid, ("", ""))[0] in opened.rows
        rows.append(PersonRow(pid, node.depth, labels[pid], node.masked, len(recs), links, shown_bookings,
                              unmasked))  # fmt: skip
    hubs = sorted({(h.kind.label, h.count) for h in graph.hubs})
    return LinkView(basis, purpose, depth, graph, rows, labels, hubs)


def links_for_hit(
    hit_id: str,
    *,
    depth: int,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock | None = None,
) -> LinkView:
    """The neighbourhood of a confirmed hit's traveller, under the hit's purpose. `clock`
    dates the check of a decided unmasking (system time by default)."""
    if user.role not in ANALYSTS:
        raise ForbiddenError(N_("link analysis is for analysts and supervisors"))
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id)
        if h.status is not HitStatus.CONFIRMED:
            raise ConflictError(N_("links are analysed from a confirmed hit only (an open case)"))
        state = conn.execute(select(booking.c.state).where(booking.c.id == h.booking_id)).scalar_one_or_none()
        if state != "active":
            raise ConflictError(N_("the hit's booking is masked or deleted: links need a decided unmasking"))
        start = _start_records(conn, h.booking_id, h.traveller_ref)
        return _view(conn, keystore, basis=f"hit:{hit_id}", purpose=h.purpose, start=start, depth=depth,
                     user=user, log=audit(conn), now=_now(clock))  # fmt: skip


def links_for_request(
    request_id: str,
    booking_id: str,
    traveller_ref: str,
    *,
    depth: int,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock | None = None,
) -> LinkView:
    """The neighbourhood of a traveller found for an open authority request, under its
    purpose (Art. 6(2)(b))."""
    if user.role not in ANALYSTS:
        raise ForbiddenError(N_("link analysis is for analysts and supervisors"))
    with engine.begin() as conn:
        req = requests_store.get_request(conn, request_id)
        if req is None:
            raise NotFoundError(N_("no such request"))
        if req.status != "open":
            raise ConflictError(N_("the request is closed: no further analysis under it"))
        row = conn.execute(select(booking.c.state).where(booking.c.id == booking_id)).scalar_one_or_none()
        if row != "active":
            raise ConflictError(N_("the booking is masked or deleted: links need a decided unmasking"))
        known = conn.execute(
            select(traveller_member.c.traveller_ref).where(
                traveller_member.c.booking_id == booking_id, traveller_member.c.traveller_ref == traveller_ref
            )
        ).first()
        if known is None:
            raise NotFoundError(N_("no such traveller on that booking"))
        start = _start_records(conn, booking_id, traveller_ref)
        return _view(conn, keystore, basis=f"request:{request_id}", purpose=Purpose(req.purpose), start=start,
                     depth=depth, user=user, log=audit(conn), now=_now(clock))  # fmt: skip


def graph_on(
    conn: Connection,
    keystore: KeyStore,
    *,
    basis: str,
    purpose: Purpose,
    start: Record,
    depth: int,
    user: Account,
    log: AuditLog,
    now: dt.datetime,
) -> LinkView:
    """The neighbourhood on the caller's connection, for a use case that has checked its own
    basis (a transmission package rebuilding the graph it was prepared from), logged alike."""
    return _view(conn, keystore, basis=basis, purpose=purpose, start=_start_records(conn, *start),
                 depth=depth, user=user, log=log, now=now)  # fmt: skip


TABLE_COLUMNS = ("traveller", "step", "linked_to", "link", "times", "first", "last", "source")


def table_csv(view: LinkView) -> bytes:
    """The table beside the picture as a CSV (formula-safe): the graph's export, with its
    SVG, for a case file or a disclosure package. Masked people stay counts ("masked
    traveller"), as on the page."""
    out = io.StringIO()
    w = safe_writer(out, lineterminator="\r\n")
    w.writerow(TABLE_COLUMNS)
    for r in view.rows:
        step = "start" if r.depth == 0 else r.depth
        if not r.links:
            w.writerow([r.label, step, "", "", "", "", "", ""])
        for to, kind, n, first, last, src in r.links:
            w.writerow([r.label, step, to, kind, n, first.isoformat() if first else "",
                        last.isoformat() if last else "", src])  # fmt: skip
    return out.getvalue().encode("utf-8")


def addable(view: LinkView, person: str) -> PersonRow:
    """The person of `view` (not its start) whose active bookings may be added to a case:
    `NotFoundError` when the neighbourhood does not show them, `ConflictError` when none of
    their bookings is active (masked, or shown only under an unmasking)."""
    row = next((r for r in view.rows if r.id == person and r.depth > 0), None)
    if row is None:
        raise NotFoundError(N_("no such linked traveller in this neighbourhood"))
    if row.masked or not row.booking_ids:
        raise ConflictError(N_("only a traveller's active bookings are added to a case"))
    return row


def add_linked_to_request(
    request_id: str,
    booking_id: str,
    traveller_ref: str,
    person: str,
    *,
    depth: int,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
) -> list[str]:
    """Add a linked person's active bookings to the request's results (the case), so they
    can be opened and transmitted under the request like any booking its searches found.

    Only a person the neighbourhood shows (recomputed here, so logged again) and never a
    masked one: nothing outside what the purpose allowed to be seen enters the case."""
    view = links_for_request(request_id, booking_id, traveller_ref, depth=depth, user=user, engine=engine,
                             keystore=keystore, audit=audit, clock=clock)  # fmt: skip
    row = addable(view, person)
    now = clock()
    with engine.begin() as conn:
        requests_store.add_results(conn, request_id, list(row.booking_ids), at=now)
        requests_store.add_links(conn, view.basis, row.booking_ids, start=(booking_id, traveller_ref),
                                 depth=depth, by=user.username, at=now)  # fmt: skip
        audit(conn).append(
            actor=user.username, role=user.role.value, operation=Operation.ALTERATION,
            purpose=consultation_purpose(user, view.purpose), record_ids=list(row.booking_ids),
            reference=f"request:{request_id}", counts={"links.added_to_case": len(row.booking_ids)},
        )  # fmt: skip
    return list(row.booking_ids)
