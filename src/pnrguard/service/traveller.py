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

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pnrguard.domain.model import Booking, Traveller
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field
from pnrguard.service.search_index import Indexed, flight_condition, index_saved
from pnrguard.store.repository import SaveOutcome, new_id
from pnrguard.store.tables import booking
from pnrguard.store.traveller import (
    Member,
    insert_members,
    members_of_bookings,
    search_token,
    traveller_member,
)

__all__ = ["Discrepancy", "discrepancies", "index_and_link", "link_indexed"]

_Tokens = dict[int, set[bytes]]


def _tokens_of(conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], _Tokens]:
    out: dict[tuple[str, str], _Tokens] = {}
    ids = sorted({b for b, _ in pairs})
    if not ids:
        return out
    wanted = set(pairs)
    fields = [int(f) for f in (Field.SURNAME, Field.GIVEN, Field.DOB, Field.DOCUMENT, Field.SEAT)]
    q = select(search_token).where(search_token.c.booking_id.in_(ids), search_token.c.field.in_(fields))
    for r in conn.execute(q):
        key = (r.booking_id, r.traveller_ref)
        if key in wanted:
            out.setdefault(key, {}).setdefault(r.field, set()).add(bytes(r.token))
    return out


def _conflicts(mine: _Tokens, theirs: _Tokens) -> str:
    found = []
    for field, name in ((Field.DOB, "date_of_birth"), (Field.DOCUMENT, "document"), (Field.SURNAME, "name")):
        a, b = mine.get(field, set()), theirs.get(field, set())
        if a and b and not a & b:
            found.append(name)
    return ",".join(found)


def _same_person(mine: _Tokens, theirs: _Tokens) -> bool:
    if not (mine.get(Field.DOB, set()) & theirs.get(Field.DOB, set())):
        return False
    if not (mine.get(Field.SURNAME, set()) & theirs.get(Field.SURNAME, set())):
        return False
    a, b = mine.get(Field.GIVEN, set()), theirs.get(Field.GIVEN, set())
    return not (a and b and not a & b)


def _flight_of(conn: Connection, booking_id: str) -> Any:
    return conn.execute(
        select(
            booking.c.source, booking.c.flight_carrier, booking.c.flight_number, booking.c.flight_date
        ).where(booking.c.id == booking_id)
    ).one()


def _candidates(
    conn: Connection, booking_id: str, row: Any, field: Field, tokens: set[bytes]
) -> list[tuple[str, str]]:
    q = (
        select(search_token.c.booking_id, search_token.c.traveller_ref)
        .select_from(search_token.join(booking, booking.c.id == search_token.c.booking_id))
        .where(
            search_token.c.field == int(field),
            search_token.c.token.in_(sorted(tokens)),
            booking.c.id != booking_id,
            booking.c.source != row.source,
            booking.c.state == "active",
            booking.c.flight_date == row.flight_date,
            *flight_condition(row.flight_carrier, row.flight_number),  # type: ignore[arg-type]
        )
    )
    return sorted({(r.booking_id, r.traveller_ref) for r in conn.execute(q)})


def _choose(
    conn: Connection, source: str, found: list[tuple[str, str]], mine: _Tokens, *, by: str
) -> tuple[Member | None, _Tokens, str]:
    """The one traveller `found` points to, or None when none or several do."""
    members = members_of_bookings(conn, {b for b, _ in found})
    tokens = _tokens_of(conn, found)
    if by == "name_dob":
        found = [p for p in found if _same_person(mine, tokens.get(p, {}))]
    cands = [members[p] for p in found if p in members]
    # A traveller that already has a record of our source is another person.
    taken = _taken(conn, {m.traveller_id for m in cands}, source)
    cands = [m for m in cands if m.traveller_id not in taken]
    ids = {m.traveller_id for m in cands}
    if len(ids) > 1 and mine.get(Field.SEAT):
        seated = [
            m
            for m in cands
            if mine[Field.SEAT] & tokens.get((m.booking_id, m.traveller_ref), {}).get(Field.SEAT, set())
        ]
        if len({m.traveller_id for m in seated}) == 1:
            m = seated[0]
            return m, tokens.get((m.booking_id, m.traveller_ref), {}), "seat"
    if len(ids) != 1:
        return None, {}, ""
    m = cands[0]
    return m, tokens.get((m.booking_id, m.traveller_ref), {}), by


def _taken(conn: Connection, traveller_ids: set[str], source: str) -> set[str]:
    tm = traveller_member
    if not traveller_ids:
        return set()
    q = select(tm.c.traveller_id).where(tm.c.traveller_id.in_(sorted(traveller_ids)), tm.c.source == source)
    return {r.traveller_id for r in conn.execute(q)}


def link_indexed(conn: Connection, items: Sequence[Indexed]) -> list[Member]:
    """Give every traveller of the bookings just indexed its traveller id (see the module
    docstring). A traveller linked by an earlier push of the same booking keeps its id."""
    known = members_of_bookings(conn, [i.booking_id for i in items])
    created: list[Member] = []
    for item in items:
        row = _flight_of(conn, item.booking_id)
        linkable = bool(row.flight_number and row.flight_date)
        by_ref: dict[str, _Tokens] = {}
        for token, field, ref in item.rows:
            by_ref.setdefault(ref, {}).setdefault(field, set()).add(token)
        for ref, _t in item.pairs:
            if (item.booking_id, ref) in known:
                continue
            mine = by_ref.get(ref, {})
            partner: Member | None = None
            theirs: _Tokens = {}
            how = "new"
            if linkable and mine.get(Field.DOCUMENT):
                found = _candidates(conn, item.booking_id, row, Field.DOCUMENT, mine[Field.DOCUMENT])
                partner, theirs, how = _choose(conn, row.source, found, mine, by="document")
            if partner is None and linkable and mine.get(Field.DOB) and mine.get(Field.SURNAME):
                found = _candidates(conn, item.booking_id, row, Field.DOB, mine[Field.DOB])
                partner, theirs, how = _choose(conn, row.source, found, mine, by="name_dob")
            member = Member(
                booking_id=item.booking_id,
                traveller_ref=ref,
                traveller_id=partner.traveller_id if partner else new_id(),
                source=row.source,
                linked_by=how if partner else "new",
                conflicts=_conflicts(mine, theirs) if partner else "",
            )
            insert_members(conn, [member])  # at once: the next traveller sees it taken
            known[(item.booking_id, ref)] = member
            created.append(member)
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
    return link_indexed(conn, index_saved(conn, keystore, bookings, outcomes, now=now))


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
