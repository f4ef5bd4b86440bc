"""One traveller across API and PNR: linking at ingest and the sources of a person.

A *traveller* is one person on one flight. The carrier's PNR (PNRGOV) and its API list
(PAXLST) each describe that person; before this, each record was its own traveller, so a
watchlist match showed up twice and two reviewers could decide it two ways. Now every
(booking, traveller ref) belongs to a traveller id (`traveller_member`), decided at ingest
in the same transaction as the booking, from blind-index tokens only (no clear text):

1. **document number**: a token of the same document on a record of the other source on
   the same flight (carrier, number in any padding, date);
2. else **name and date of birth**: a shared surname part, a shared given-name part when
   both have given names (twins share surname and birth date), and the same birth date;
3. several candidates left (namesakes): the **seat** decides; still several: no link. A
   wrong link would merge two people's hits, a missing one only shows a person twice.

A candidate already linked to a record of our source is taken (one PNR record and one API
record per person per flight). Where the linked sources disagree (a birth date in the API
differing from the PNR's, a different document) the field names are kept on the link
(`conflicts`) and the hit page shows both values: a finding for the analyst, not an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection

from pnrguard.domain.model import Booking, Traveller
from pnrguard.links.tokens import LinkField
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field
from pnrguard.service.search_index import Indexed, flight_condition, index_saved, tokeniser, write_tokens
from pnrguard.store.repository import SaveOutcome, SaveStatus, flight_columns, new_id
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking
from pnrguard.store.traveller import (
    Member,
    delete_members,
    existing_tokens,
    insert_members,
    members_of_bookings,
    members_of_travellers,
    traveller_member,
)

__all__ = ["Discrepancy", "discrepancies", "index_and_link", "link_indexed", "rectify"]

_Tokens = Mapping[int, AbstractSet[bytes]]


#: Seats are compared through link analysis's seat-pair tokens: the same seat on the same
#: flight shares both of its pairs, a neighbour one (`links.tokens`), so no seat token of
#: its own is kept.
_SEAT = int(LinkField.SEAT_PAIR)


_NONE: frozenset[bytes] = frozenset()
_EMPTY: dict[int, frozenset[bytes]] = {}
#: The fields that find the other source's candidates (the rest only confirm).
_NEAR = (int(Field.DOCUMENT), int(Field.DOB))


def _same_seat(a: _Tokens, b: _Tokens) -> bool:
    return len(a.get(_SEAT, _NONE) & b.get(_SEAT, _NONE)) >= 2


#: The fields linking compares (identity, and the seat that tells namesakes apart).
_LINK_FIELDS = [*sorted(int(f) for f in (Field.SURNAME, Field.GIVEN, Field.DOB, Field.DOCUMENT)), _SEAT]
_COMPARED = frozenset(_LINK_FIELDS)


def _conflicts(mine: _Tokens, theirs: _Tokens) -> str:
    found = []
    for field, name in ((Field.DOB, "date_of_birth"), (Field.DOCUMENT, "document"), (Field.SURNAME, "name")):
        a, b = mine.get(field, _NONE), theirs.get(field, _NONE)
        if a and b and not a & b:
            found.append(name)
    return ",".join(found)


def _same_person(mine: _Tokens, theirs: _Tokens) -> bool:
    if not (mine.get(Field.DOB, _NONE) & theirs.get(Field.DOB, _NONE)):
        return False
    if not (mine.get(Field.SURNAME, _NONE) & theirs.get(Field.SURNAME, _NONE)):
        return False
    a, b = mine.get(Field.GIVEN, _NONE), theirs.get(Field.GIVEN, _NONE)
    return not (a and b and not a & b)


class _Flight(NamedTuple):
    """The flight columns of a booking (`store.repository.flight_columns`) and its source."""

    source: str
    flight_carrier: str
    flight_number: str
    flight_date: dt.date | None


class _OtherSide:
    """The records of the other source on one flight that share a document or birth-date
    token with ours: their tokens, traveller ids, and which travellers are already taken
    by a record of our source. `ids` are the other source's records on the flight
    (`_others`); three reads per flight, however many travellers."""

    def __init__(self, conn: Connection, source: str, ids: Sequence[str], tokens: set[bytes]) -> None:
        self.tokens: dict[tuple[str, str], dict[int, set[bytes]]] = {}
        self.members: dict[tuple[str, str], Member] = {}
        self.taken: set[str] = set()
        self.by_token: dict[bytes, list[tuple[str, str]]] = {}
        if not tokens or not ids:
            return
        # Every record of theirs with the fields we compare, in one read per 500 bookings
        # through the driver (SQLAlchemy's row processing was a third of linking).
        rows = existing_tokens(conn, ids, _LINK_FIELDS)
        near = (int(Field.DOCUMENT), int(Field.DOB))
        wanted = {(b, r) for t, f, _, b, r in rows if f in near and t in tokens}
        if not wanted:
            return
        for token, field, _, bid, ref in rows:  # only the records sharing a token with ours
            if (bid, ref) in wanted:
                self.tokens.setdefault((bid, ref), {}).setdefault(field, set()).add(token)
        pairs = sorted(wanted)
        self.members = {
            k: m for k, m in members_of_bookings(conn, {b for b, _ in pairs}).items() if k in wanted
        }
        # Inverted: token -> records, so each of our travellers looks up its own tokens
        # instead of comparing with every record of the flight.
        for pair, toks in self.tokens.items():
            for field in (Field.DOCUMENT, Field.DOB):
                for t in toks.get(field, ()):
                    self.by_token.setdefault(t, []).append(pair)
        ids = sorted({m.traveller_id for m in self.members.values()})
        if ids:
            q2 = select(traveller_member.c.traveller_id).where(
                traveller_member.c.traveller_id.in_(ids), traveller_member.c.source == source
            )
            self.taken = {r.traveller_id for r in conn.execute(q2)}

    def choose(self, mine: _Tokens) -> tuple[Member | None, _Tokens, str]:
        """The one traveller our record joins, how, and its tokens; None when none or
        several fit (namesakes without a seat to tell them apart)."""
        for how in ("document", "name_dob"):
            if how == "document":
                fits = {p for t in mine.get(Field.DOCUMENT, ()) for p in self.by_token.get(t, ())}
            else:
                near = {p for t in mine.get(Field.DOB, ()) for p in self.by_token.get(t, ())}
                fits = {p for p in near if mine.get(Field.SURNAME) and _same_person(mine, self.tokens[p])}
            cands = [self.members[p] for p in sorted(fits) if p in self.members]
            cands = [m for m in cands if m.traveller_id not in self.taken]
            ids = {m.traveller_id for m in cands}
            if len(ids) > 1 and mine.get(_SEAT):
                seated = [m for m in cands if _same_seat(mine, self.tokens[(m.booking_id, m.traveller_ref)])]
                if len({m.traveller_id for m in seated}) == 1:
                    return seated[0], self.tokens[(seated[0].booking_id, seated[0].traveller_ref)], "seat"
            if len(ids) == 1:
                return cands[0], self.tokens[(cands[0].booking_id, cands[0].traveller_ref)], how
            if len(ids) > 1:
                return None, {}, ""  # ambiguous: a weaker key will not do better
        return None, {}, ""


def _lock_flights(conn: Connection, groups: dict[tuple[Any, ...], list[Indexed]]) -> None:
    """Serialise linking per flight across workers (PostgreSQL): the PNR and the API list of
    one flight ingested at the same moment by two workers would otherwise not see each
    other and stay two travellers. A transaction-level advisory lock per flight, taken in
    a fixed order (no deadlock between two messages of several flights), released at
    commit; the second worker then sees the first one's records. SQLite has one writer."""
    if conn.dialect.name != "postgresql":
        return
    keys = sorted(
        {
            int.from_bytes(
                hashlib.sha256(f"link|{c}|{n.lstrip('0')}|{d}".encode()).digest()[:8], "big", signed=True
            )
            for _, c, n, d in groups
        }
    )
    for key in keys:  # flight, number and date are not personal: a plain hash will do
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _others(conn: Connection, flight: _Flight) -> set[str]:
    """The other source's active records on this flight (one indexed query: a flight holds
    a few hundred; none for the first source of a flight, which then links nothing)."""
    q = select(booking.c.id).where(
        booking.c.source != flight.source,
        booking.c.state == "active",
        booking.c.flight_date == flight.flight_date,
        *flight_condition(flight.flight_carrier, flight.flight_number),  # type: ignore[arg-type]
    )
    return set(conn.execute(q).scalars())


def _flight_of(item: Indexed) -> _Flight:
    cols = flight_columns(item.booking)
    return _Flight(
        item.booking.source.value, cols["flight_carrier"], cols["flight_number"], cols["flight_date"]
    )


def link_indexed(conn: Connection, items: Sequence[Indexed], *, new: Collection[str] = ()) -> list[Member]:
    """Give every traveller of the bookings just indexed its traveller id (see the module
    docstring). A traveller linked by an earlier push of the same booking keeps its id;
    bookings in `new` were created in this transaction and have no links to look up.
    Batched by flight: a PNRGOV or PAXLST message is one flight."""
    known = members_of_bookings(conn, [i.booking_id for i in items if i.booking_id not in new])
    # The flight columns as the repository stored them, from the bookings in hand.
    flights = {i.booking_id: _flight_of(i) for i in items}
    groups: dict[tuple[Any, ...], list[Indexed]] = {}
    for item in items:
        f = flights[item.booking_id]
        groups.setdefault((f.source, f.flight_carrier, f.flight_number, f.flight_date), []).append(item)
    _lock_flights(conn, groups)
    created: list[Member] = []
    for group in groups.values():
        flight = flights[group[0].booking_id]
        linkable = bool(flight.flight_number and flight.flight_date)
        todo = [(item, ref) for item in group for ref, _ in item.pairs if (item.booking_id, ref) not in known]
        if not todo:
            continue  # a new version of known travellers: their links stand
        ours = {i.booking_id for i in group}
        others = sorted(_others(conn, flight) - ours) if linkable else []
        linkable = bool(others)  # the first source of a flight has nothing to link to yet
        # The fields linking compares, from the rows tokenising derived (not the whole rows).
        by_pair: dict[tuple[str, str], dict[int, set[bytes]]] = {}
        if linkable:
            for item in {id(i): i for i, _ in todo}.values():
                for token, field, _, bid, ref in item.stored:
                    if field in _COMPARED:
                        by_pair.setdefault((bid, ref), {}).setdefault(field, set()).add(token)
        wanted = {
            t
            for item, ref in todo
            for f in _NEAR
            for t in by_pair.get((item.booking_id, ref), _EMPTY).get(f, _NONE)
        }
        other = _OtherSide(conn, flight.source, others, wanted)
        members: list[Member] = []
        for item, ref in todo:
            mine = by_pair.get((item.booking_id, ref), {})
            partner, theirs, how = other.choose(mine)
            if partner is not None:
                other.taken.add(partner.traveller_id)  # one record of our source per person
            members.append(
                Member(
                    booking_id=item.booking_id,
                    traveller_ref=ref,
                    traveller_id=partner.traveller_id if partner else new_id(),
                    source=flight.source,
                    linked_by=how if partner else "new",
                    conflicts=_conflicts(mine, theirs) if partner else "",
                )
            )
        insert_members(conn, members)
        created += members
    return created


def index_and_link(
    conn: Connection,
    keystore: KeyStore,
    bookings: Sequence[Booking],
    outcomes: Sequence[SaveOutcome],
    *,
    now: dt.datetime,
) -> list[Member]:
    """The ingest hook: blind-index the saved bookings, then link their travellers. Runs in
    the ingest transaction before screening, so screening sees the traveller."""
    new = {o.booking_id for o in outcomes if o.status is SaveStatus.NEW}
    return link_indexed(conn, index_saved(conn, keystore, bookings, outcomes, now=now), new=new)


def rectify(
    conn: Connection, keystore: KeyStore, booking_id: str, corrected: Booking, *, now: dt.datetime
) -> list[Member]:
    """Bring a rectified booking's tokens and traveller links in line with the corrected
    version (same transaction as the rectification): a corrected birth date or document
    may now link the record to the other source's one, or no longer.

    The record's links are decided again as at ingest. A traveller id that still fits is
    kept (so its hits stay with it): the record rejoins the same partner, or, alone before
    and after, keeps its own id. A record that leaves a partner gets a new id; the partner
    keeps the old one and, left alone, is marked as its own (``new``, no conflict). Where
    the partner stays, the conflicts between the two are computed again. The record's hits
    follow it to its new traveller (`_move_hits`)."""
    tok = tokeniser(conn, keystore, now=now)
    items = write_tokens(conn, tok, [(booking_id, corrected)], renew=[booking_id])
    old = members_of_bookings(conn, [booking_id])
    delete_members(conn, [booking_id])
    created = link_indexed(conn, items, new={booking_id})
    out: list[Member] = []
    for m in created:
        before = old.get((m.booking_id, m.traveller_ref))
        if before is None:
            out.append(m)
            continue
        rest = [
            x for x in members_of_travellers(conn, [before.traveller_id]).get(before.traveller_id, [])
            if x.booking_id != booking_id
        ]  # fmt: skip
        if m.traveller_id == before.traveller_id:
            # Same traveller as before: the record that opened it stays "new", and the
            # partner's conflicts follow the corrected values (the comparison is symmetric).
            if before.linked_by == "new":
                for x in rest:
                    if x.linked_by != "new":
                        _set_member(conn, x, conflicts=m.conflicts)
                m = dataclasses.replace(m, linked_by="new", conflicts="")
        elif m.linked_by == "new" and not rest:
            m = dataclasses.replace(m, traveller_id=before.traveller_id)  # alone before and after
        elif len(rest) == 1 and rest[0].linked_by != "new":
            _set_member(conn, rest[0], linked_by="new", conflicts="")  # the partner left behind
        _set_member(conn, m, traveller_id=m.traveller_id, linked_by=m.linked_by, conflicts=m.conflicts)
        if m.traveller_id != before.traveller_id:
            _move_hits(conn, before.traveller_id, m, everything=not rest)
        out.append(m)
    return out


def _move_hits(conn: Connection, old_id: str, m: Member, *, everything: bool) -> None:
    """Hits follow the record to its new traveller: the record's own hits, and, when its
    old traveller has nobody left, every hit of that traveller (it was this person's)."""
    q = update(hit).where(hit.c.traveller_id == old_id)
    if not everything:
        q = q.where(hit.c.booking_id == m.booking_id, hit.c.traveller_ref == m.traveller_ref)
    conn.execute(q.values(traveller_id=m.traveller_id))


def _set_member(conn: Connection, m: Member, **values: str) -> None:
    conn.execute(
        update(traveller_member)
        .where(
            traveller_member.c.booking_id == m.booking_id,
            traveller_member.c.traveller_ref == m.traveller_ref,
        )
        .values(**values)
    )


# --- where the sources disagree ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A field on which two sources of one traveller differ, with both values (shown to
    the analyst on the hit page; never stored or logged)."""

    field: str
    values: tuple[tuple[str, str], ...]  # (source, value)


def _facts(t: Traveller) -> dict[str, str]:
    doc = t.documents[0] if t.documents else None
    dob: dt.date | None = t.date_of_birth or (doc.date_of_birth if doc else None)
    return {
        "surname": (t.surname or (doc.surname if doc else "")).upper(),
        "date_of_birth": dob.isoformat() if dob else "",
        "document": doc.number.upper() if doc else "",
        "nationality": (t.nationality or (doc.nationality if doc else "")).upper(),
        "gender": (t.gender or (doc.gender if doc else "")).upper()[:1],
    }


def discrepancies(sources: Sequence[tuple[str, Traveller]]) -> list[Discrepancy]:
    """Fields given by more than one source with different values."""
    facts = [(s, _facts(t)) for s, t in sources]
    out: list[Discrepancy] = []
    for field in ("surname", "date_of_birth", "document", "nationality", "gender"):
        given = [(s, f[field]) for s, f in facts if f[field]]
        if len({v for _, v in given}) > 1:
            out.append(Discrepancy(field, tuple(given)))
    return out
