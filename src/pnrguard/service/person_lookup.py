"""Finding a traveller's bookings by name and date of birth, for their rights (LED Art. 14-16).

One function, `find_bookings_for_person`, the DPO's pages and CLI call. It resolves the
candidates from the **blind index** (keyed tokens of every surname part and the date of
birth, `service/search_index.py`), then decrypts only those candidates and confirms the
match (`traveller_matches`), so it costs the same on ten thousand or ten million bookings.
Bookings stored before the index existed (migration 0015) have no tokens and are not found
this way. `MAX_SCAN` still bounds how many candidates one look-up decrypts. Masked
bookings are not searched (their tokens go at masking and their identity key is sealed,
Art. 12(3)); they are counted, so the answer can say that more may be held.
Restricted bookings are searched: the DPO must find them to answer or lift the
restriction. The caller audits the consultation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.domain.model import Traveller
from pnrguard.errors import N_, InputError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field, name_parts
from pnrguard.screening.names import normalise
from pnrguard.service.search_index import Plan, plan_count, plan_page, tokeniser
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking
from pnrguard.store.traveller import day_of

__all__ = ["MAX_SCAN", "LookupResult", "PersonMatch", "find_bookings_for_person", "traveller_matches"]

#: The most bookings one look-up decrypts: about 0.2 s per thousand on the shared test
#: machine (bench/rights_lookup.py, docs/performance.md), so a full window answers in ~4 s.
MAX_SCAN = 20_000
_PAGE = 500


def _norm(text: str) -> str:
    """Screening's name normalisation (transliteration, case, accents: Ł = L, Ø = O), then
    spaces and punctuation out: how carriers and travellers spell the same name."""
    return "".join(c for c in normalise(text) if c.isalnum())


def traveller_matches(t: Traveller, *, surname: str, date_of_birth: dt.date, given_names: str = "") -> bool:
    """The traveller's surname (as booked or on a document) and date of birth (as booked or
    on a document) equal the ones given, ignoring case, script, accents, spaces and punctuation;
    given names, when given, must be contained in the booked ones."""
    names = {_norm(t.surname)} | {_norm(d.surname) for d in t.documents if d.surname}
    if _norm(surname) not in names:
        return False
    dobs = {t.date_of_birth} | {d.date_of_birth for d in t.documents}
    if date_of_birth not in dobs:
        return False
    if given_names:
        booked = {_norm(t.given_names)} | {_norm(d.given_names) for d in t.documents if d.given_names}
        return any(_norm(given_names) in b for b in booked)
    return True


@dataclass(frozen=True, slots=True)
class PersonMatch:
    booking_id: str
    traveller_refs: frozenset[str]
    restricted: bool


@dataclass(slots=True)
class LookupResult:
    matches: list[PersonMatch] = field(default_factory=list)
    scanned: int = 0
    masked_not_searched: int = 0

    @property
    def booking_ids(self) -> list[str]:
        return [m.booking_id for m in self.matches]


def find_bookings_for_person(
    conn: Connection,
    keystore: KeyStore,
    *,
    surname: str,
    date_of_birth: dt.date,
    given_names: str = "",
    carrier: str | None = None,
    flight_from: dt.date | None = None,
    flight_to: dt.date | None = None,
    max_scan: int = MAX_SCAN,
) -> LookupResult:
    """The active bookings holding a traveller with this surname and date of birth (module
    docstring). Reads only; the caller audits."""
    if not _norm(surname):
        raise InputError(N_("the traveller's surname is needed"))
    window: list[ColumnElement[bool]] = []
    if carrier:
        window.append(booking.c.carrier == carrier.strip().upper())
    if flight_from:
        window.append(booking.c.flight_date >= flight_from)
    if flight_to:
        window.append(booking.c.flight_date <= flight_to)
    out = LookupResult()
    tok = tokeniser(conn, keystore)
    terms = [(Field.SURNAME, tok.token(Field.SURNAME, p)) for p in name_parts(surname)]
    terms.append((Field.DOB, tok.token(Field.DOB, date_of_birth.isoformat())))
    # The search's query (`search_index.Plan`): one index range driven by the rarest term,
    # the flight dates bounding it; restricted bookings are kept (the DPO must find them).
    plan = Plan(
        person=tuple((t,) for t in terms),
        day_from=day_of(flight_from) if flight_from else None,
        day_to=day_of(flight_to) if flight_to else None,
        booking_where=(booking.c.state == "active", *window),
        skip_restricted=False,
    )
    total = plan_count(conn, plan)  # (booking, traveller) pairs: at least the bookings
    if total > max_scan:
        raise InputError(
            N_(
                "%(total)s candidate bookings (at most %(max_scan)s are read): narrow by carrier or flight "
                "dates"
            ),
            total=total,
            max_scan=max_scan,
        )
    out.masked_not_searched = int(
        conn.execute(
            select(func.count()).select_from(booking).where(booking.c.state == "masked", *window)
        ).scalar_one()
    )
    repo = BookingRepository(conn, keystore)
    ids = sorted({b for b, _ in plan_page(conn, plan, offset=0, limit=max(total, 1))})
    for i in range(0, len(ids), _PAGE):
        chunk = ids[i : i + _PAGE]
        page = conn.execute(
            select(booking.c.id, booking.c.restricted_at)
            .where(booking.c.id.in_(chunk))
            .order_by(booking.c.id)
        ).all()
        found = repo.get_many([(r.id, None) for r in page])
        out.scanned += len(page)
        for r in page:
            b = found.get(r.id)
            if b is None:
                continue
            refs = frozenset(
                t.ref
                for t in b.travellers
                if traveller_matches(t, surname=surname, date_of_birth=date_of_birth, given_names=given_names)
            )
            if refs:
                out.matches.append(PersonMatch(r.id, refs, r.restricted_at is not None))
    return out
