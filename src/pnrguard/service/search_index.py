"""The blind index as use cases: kept at ingest, queried by search, linking and the
access report, emptied by the lifecycle.

- **At ingest** (`index_saved`, same transaction as the booking): the tokens of every new
  booking or new version (a new version writes only what changed); a rectification
  (`refresh`) and the backfill and rebuild (`service.index_rebuild`) use the same writer.
- **Queries** resolve (booking id, traveller ref) candidates from tokens and the clear
  booking columns; nothing is decrypted to find. Callers decrypt only what they show.
  `Plan` + `plan_count`/`plan_page` are the one query every look-up runs (the search,
  a traveller's history, a peer's list, the DPO's look-up, the access report): the key
  (token, field, flight day, booking, traveller) keeps one token's rows in flight-date
  order, so a page is one index range, driven by the rarest term.
- **Lifecycle**: masking and deletion call `forget(conn, booking_ids)` (one line in each
  run): a masked name can no longer be searched, a deleted booking leaves no token.

The key is the node secret "blind-index" (created on first use, wrapped by the key store).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, literal, select, union
from sqlalchemy.engine import Connection, Engine

from pnrguard.domain.model import Booking, Traveller, reporting_leg
from pnrguard.links.tokens import contact_rows, link_rows
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field, Tokeniser, flight_number_variants, name_parts
from pnrguard.store.node_secrets import load_node_secret
from pnrguard.store.repository import BookingSummary, SaveOutcome, SaveStatus
from pnrguard.store.tables import booking
from pnrguard.store.traveller import (
    NO_DAY,
    TokenRow,
    day_of,
    delete_token_rows,
    existing_tokens,
    forget_bookings,
    insert_tokens,
    search_token,
)

__all__ = [
    "INDEX_KEY_ROW",
    "Plan",
    "Term",
    "find_bookings_for_person",
    "forget",
    "index_saved",
    "plan_count",
    "plan_page",
    "refresh",
    "tokeniser",
    "traveller_pairs",
]

INDEX_KEY_ROW = "blind-index"  # its row in `node_secret`
#: A term: the traveller (or, for booking-wide fields, the booking) has this token.
Term = tuple[int, bytes]


#: One tokeniser per index key in this process (its memos outlive a message; a new key
#: gets a new one). Keyed by a digest of the key, so the dict holds no key.
_TOKENISERS: dict[bytes, Tokeniser] = {}


def tokeniser(conn: Connection, keystore: KeyStore, *, now: dt.datetime | None = None) -> Tokeniser:
    secret = load_node_secret(conn, keystore, INDEX_KEY_ROW, now=now or dt.datetime.now(dt.UTC))
    ident = hashlib.sha256(b"tokeniser\x00" + secret).digest()
    tok = _TOKENISERS.get(ident)
    if tok is None:
        if len(_TOKENISERS) > 8:
            _TOKENISERS.clear()
        tok = _TOKENISERS[ident] = Tokeniser(secret)
    return tok


def traveller_pairs(b: Booking) -> list[tuple[str, Traveller]]:
    """(ref, traveller) as screening numbers them (refless travellers `#1`, `#2`, ...)."""
    out: list[tuple[str, Traveller]] = []
    seen: set[str] = set()
    for i, t in enumerate(b.travellers, start=1):
        ref = t.ref[:32] if t.ref else f"#{i}"
        if ref in seen:
            ref = f"#{i}"
        seen.add(ref)
        out.append((ref, t))
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Indexed:
    """One booking's token rows, derived once and used three times: stored (search and
    link analysis), diffed against a new version's stored rows, and compared by linking."""

    booking: Booking
    booking_id: str
    pairs: list[tuple[str, Traveller]]
    #: The rows as stored: (token, field, day, booking id, traveller ref), no repeats.
    stored: list[TokenRow]
    day: int = NO_DAY

    @property
    def rows(self) -> list[tuple[bytes, int, str]]:
        """(token, field, traveller ref) of every stored row."""
        return [(t, f, r) for t, f, _, _, r in self.stored]


def booking_tokens(tok: Tokeniser, b: Booking, booking_id: str) -> Indexed:
    """Every token row of one booking, search's and link analysis's, in one pass and
    directly in the stored form (each traveller's rows once: `traveller_tokens` is also
    what tells a traveller without a search row)."""
    pairs = traveller_pairs(b)
    leg = reporting_leg(b)
    day = day_of(leg.departure.date() if leg is not None and leg.departure is not None else None)
    stored: list[TokenRow] = []
    bare: list[str] = []  # travellers without a search row (rare: no name, birth date or document)
    for ref, t in pairs:
        if own := tok.traveller_tokens(t):
            stored += [(token, field, day, booking_id, ref) for token, field in own]
        else:
            bare.append(ref)
    if b.payments:  # cards are booking-wide: no traveller ref
        cards = {term for p in b.payments if p.card_number and (term := tok.card_term(p.card_number))}
        stored += [(token, int(field), day, booking_id, "") for field, token in cards]
    if b.contacts or b.addresses:
        stored += [(token, field, day, booking_id, ref) for token, field, ref in contact_rows(tok, b)]
    links = link_rows(tok, b, pairs, bare=bare)
    stored += [(token, field, day, booking_id, ref) for token, field, ref in links]
    return Indexed(b, booking_id, pairs, stored, day)


def write_tokens(
    conn: Connection, tok: Tokeniser, items: Sequence[tuple[str, Booking]], *, renew: Sequence[str] = ()
) -> list[Indexed]:
    """Tokenise `items` (booking id, booking) and store their rows. Bookings in `renew` may
    have rows already (a new version, a rectification, a rebuild): only the difference is
    written, so rerunning is idempotent. The last item of a booking id wins."""
    latest = {bid: booking_tokens(tok, b, bid) for bid, b in items}
    renewing = set(renew)
    # A booking new in this transaction has no rows yet: its rows go in as derived.
    rows = [row for bid, item in latest.items() if bid not in renewing for row in item.stored]
    if renewing:
        # A new version mostly changes seats, check-in or bags: write only what changed.
        mine = {row for bid in renewing if bid in latest for row in latest[bid].stored}
        stored = existing_tokens(conn, sorted(renewing))
        gone = stored - mine
        if gone:
            delete_token_rows(conn, sorted(gone))
        rows += mine - stored
    insert_tokens(conn, rows)
    return list(latest.values())


def index_saved(
    conn: Connection,
    keystore: KeyStore,
    bookings: Sequence[Booking],
    outcomes: Sequence[SaveOutcome],
    *,
    now: dt.datetime,
) -> list[Indexed]:
    """Write the tokens of the bookings ingest just saved (duplicates are skipped: their
    tokens are there). Returns what was indexed, for linking."""
    todo = [
        (o.booking_id, b)
        for b, o in zip(bookings, outcomes, strict=True)
        if o.status is not SaveStatus.DUPLICATE
    ]
    if not todo:
        return []
    renewed = [o.booking_id for o in outcomes if o.status is SaveStatus.NEW_VERSION]
    return write_tokens(conn, tokeniser(conn, keystore, now=now), todo, renew=renewed)


def refresh(
    conn: Connection, keystore: KeyStore, booking_id: str, corrected: Booking, *, now: dt.datetime
) -> int:
    """Bring a booking's tokens in line with a version written outside ingest (a
    rectification): the corrected name or birth date is found, the old one no longer.
    Returns the token rows the booking now has. Traveller links stand (ids, not values)."""
    items = write_tokens(
        conn, tokeniser(conn, keystore, now=now), [(booking_id, corrected)], renew=[booking_id]
    )
    return sum(len(i.rows) for i in items)


def forget(conn: Connection, booking_ids: Sequence[str], *, deleted: bool = False) -> int:
    """The lifecycle hook: drop the tokens of masked or deleted bookings (and, at deletion,
    which traveller they belonged to). Returns the token rows removed."""
    return forget_bookings(conn, booking_ids, deleted=deleted)


# --- queries -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """A token search as one range of the index: `person` groups must all hold on one
    traveller, `wide` groups on the booking (each group: any of its terms). Built by
    `search.search`; run by `plan_page` and `plan_count`."""

    person: tuple[tuple[Term, ...], ...] = ()
    wide: tuple[tuple[Term, ...], ...] = ()
    day_from: int | None = None
    day_to: int | None = None
    #: Conditions on `booking` (carrier, locator, flight): checked per candidate, by key.
    booking_where: tuple[Any, ...] = ()
    #: Leave out restricted bookings (LED Art. 16(3)); the DPO's look-ups keep them.
    skip_restricted: bool = True


def _group_where(t: Any, group: Sequence[Term]) -> list[Any]:
    tokens = sorted({tok for _, tok in group})
    fields = sorted({int(f) for f, _ in group})
    return [
        t.c.token.in_(tokens) if len(tokens) > 1 else t.c.token == tokens[0],
        t.c.field.in_(fields) if len(fields) > 1 else t.c.field == fields[0],
    ]


def _driver(conn: Connection, plan: Plan) -> tuple[tuple[Term, ...], bool]:
    """The most selective group (fewest index entries: one index-only count each, capped),
    and whether it is a person group. Every other group is then a key look-up per row of
    it, so a rare given name does the work, not the common surname next to it."""
    groups = [(g, True) for g in plan.person] or [(g, False) for g in plan.wide]
    if len(groups) == 1:
        return groups[0]
    best: tuple[int, int] | None = None
    chosen = groups[0]
    cap = 50_000
    for i, (g, is_person) in enumerate(groups):
        t = search_token.alias("c")
        inner = select(literal(1)).select_from(t).where(*_group_where(t, g)).limit(cap).subquery()
        n = int(conn.execute(select(func.count()).select_from(inner)).scalar_one())
        if best is None or (n, i) < best:
            best, chosen, cap = (n, i), (g, is_person), max(n, 1)
    return chosen


def _plan_select(conn: Connection, plan: Plan, *cols: Any) -> tuple[Any, Any]:
    """(select of `cols` over the driving range with every other condition, the driving
    alias)."""
    group, is_person = _driver(conn, plan)
    d = search_token.alias("d")
    where: list[Any] = _group_where(d, group)
    if plan.day_from is not None:
        where.append(d.c.day >= plan.day_from)
    if plan.day_to is not None:
        where.append(d.c.day <= plan.day_to)
    others = [(g, True) for g in plan.person] + [(g, False) for g in plan.wide]
    for g, person in others:
        if g is group:
            continue
        o = search_token.alias()
        cond = [*_group_where(o, g), o.c.day == d.c.day, o.c.booking_id == d.c.booking_id]
        if person:
            cond.append(o.c.traveller_ref == d.c.traveller_ref)
        else:
            cond.append(o.c.traveller_ref == "")
        where.append(exists().where(*cond))
    if plan.skip_restricted:
        restricted = select(booking.c.id).where(booking.c.restricted_at.is_not(None))
        where.append(d.c.booking_id.not_in(restricted))
    if plan.booking_where:
        where.append(exists().where(booking.c.id == d.c.booking_id, *plan.booking_where))
    q = select(*(c(d) for c in cols)).where(*where)
    if not is_person:
        q = q.where(d.c.traveller_ref == "")
    if len(group) > 1:
        q = q.distinct()  # one traveller may hold two of the group's tokens
    return q, d


def _day(d: Any) -> Any:
    return d.c.day


def _booking_id(d: Any) -> Any:
    return d.c.booking_id


def _ref(d: Any) -> Any:
    return d.c.traveller_ref


_PAIR_COLS = (_day, _booking_id, _ref)


def _pairs(conn: Connection, plans: Sequence[Plan]) -> Any:
    """(day, booking id, traveller ref) of every plan, as one subquery (a union when several:
    a traveller's history is a document *or* a name with a date of birth)."""
    selects: list[Any] = [_plan_select(conn, p, *_PAIR_COLS)[0] for p in plans]
    q: Any = selects[0] if len(selects) == 1 else union(*selects)
    return q.subquery()


def plan_count(conn: Connection, plan: Plan | Sequence[Plan]) -> int:
    """How many (booking, traveller) the plan (or any of the plans) finds: an index-only
    count of the range."""
    plans = [plan] if isinstance(plan, Plan) else list(plan)
    if not plans:
        return 0
    if len(plans) == 1:
        q, _ = _plan_select(conn, plans[0], _booking_id, _ref)
        return int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
    return int(conn.execute(select(func.count()).select_from(_pairs(conn, plans))).scalar_one())


def plan_page(
    conn: Connection, plan: Plan | Sequence[Plan], *, offset: int, limit: int
) -> list[tuple[str, str]]:
    """(booking id, traveller ref) of one page, in flight-date order (the key's order:
    the database reads `offset + limit` index entries, not every match). Several plans:
    their union, in the same order."""
    plans = [plan] if isinstance(plan, Plan) else list(plan)
    if not plans:
        return []
    sub = _pairs(conn, plans)
    page = select(sub.c.booking_id, sub.c.traveller_ref).order_by(
        sub.c.day, sub.c.booking_id, sub.c.traveller_ref
    )
    return [(r.booking_id, r.traveller_ref) for r in conn.execute(page.offset(offset).limit(limit))]


def flight_condition(carrier: str, number: str) -> list[object]:
    """Where-terms for a flight typed as `parse_flight` reads it, whatever padding the
    carrier stored."""
    cond: list[object] = [booking.c.flight_number.in_(flight_number_variants(number))]
    if carrier:
        cond.append(booking.c.flight_carrier == carrier)
    return cond


def find_bookings_for_person(
    engine: Engine, keystore: KeyStore, name: str, dob: dt.date
) -> list[BookingSummary]:
    """Bookings holding a traveller with every part of `name` (surname or given, in any
    order) and date of birth `dob`, for the access report of a traveller's request.

    Resolved from the blind index: nothing is decrypted and nothing is logged here (the
    caller logs the access request under its own purpose). Masked bookings have no tokens,
    so they are not found by name: the caller reaches them through the sealed path."""
    with engine.begin() as conn:
        tok = tokeniser(conn, keystore)
        parts = name_parts(name)
        if not parts:
            return []
        # A part may be a surname or a given name: each part is a group of both tokens (any
        # of a group's terms holds), the date of birth another group: one Plan, like search.
        plan = Plan(
            person=(
                *(((Field.SURNAME, tok.token(Field.SURNAME, p)), (Field.GIVEN, tok.token(Field.GIVEN, p)))
                  for p in parts),
                ((Field.DOB, tok.token(Field.DOB, dob.isoformat())),),
            ),
            skip_restricted=False,
        )  # fmt: skip
        ids = sorted({b for b, _ in plan_page(conn, plan, offset=0, limit=max(plan_count(conn, plan), 1))})
        rows = conn.execute(
            select(booking)
            .where(booking.c.id.in_(ids), booking.c.state != "deleted")
            .order_by(booking.c.flight_date, booking.c.id)
        ).all()
    return [BookingSummary.from_row(r) for r in rows]


def count_tokens(conn: Connection, booking_ids: Sequence[str] | None = None) -> int:
    q = select(func.count()).select_from(search_token)
    if booking_ids is not None:
        q = q.where(search_token.c.booking_id.in_(list(booking_ids)))
    return int(conn.execute(q).scalar_one())
