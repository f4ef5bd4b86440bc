"""Issue 12 §2/§3, on SQLite and PostgreSQL: the blind index written at ingest writes only
what changed (a re-pushed booking with the same values leaves its rows as they are, a new
seat adds exactly its rows); a rectification re-links the API and PNR records of a person;
the lookups that list bookings (a peer's request, the DPO's look-up, a traveller's history)
run the search's index query."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Purpose
from pnrguard.domain.model import Booking, Seat, Source
from pnrguard.formats.pnrgov import write_pnrgov
from pnrguard.links.tokens import LinkField
from pnrguard.service import accounts, requests
from pnrguard.service.accounts import Role
from pnrguard.service.disclosure import add_authority
from pnrguard.service.person_lookup import find_bookings_for_person
from pnrguard.service.rights import apply_rectification, request_rectification
from pnrguard.service.search import SearchCriteria, find_summaries, search, traveller_history
from pnrguard.store.tables import booking
from pnrguard.store.traveller import search_token
from traveller_builders import DOB, SENSITIVE, T0, Node, leg, person

pytestmark = pytest.mark.storage

Row = tuple[bytes, int, int, str, str]


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


def _rows(node: Node, booking_id: str) -> set[Row]:
    with node.engine.connect() as conn:
        q = select(search_token).where(search_token.c.booking_id == booking_id)
        return {(bytes(r.token), r.field, r.day, r.booking_id, r.traveller_ref) for r in conn.execute(q)}


def _push(node: Node, *, seats: dict[str, str], ticketed_day: int, prepared_hour: int) -> str:
    """The same PNR pushed again by the carrier: what changes is up to the caller."""
    f = leg("103")
    b = Booking(
        source=Source.PNR, carrier="MU", locator="UPK001",
        created=dt.datetime(2026, 2, 1, 10, 0), ticketed=dt.date(2026, 2, ticketed_day),
        reported_flight=f, itinerary=[f],
        travellers=[person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", DOB)],
        seats=[Seat(seat=s, traveller_ref=r) for r, s in seats.items()],
    )  # fmt: skip
    r = node.ingest(write_pnrgov([b], flight=f, prepared=dt.datetime(2026, 3, 1, prepared_hour, 0)))
    assert prepared_hour == 8 or r.bookings_new_version == 1  # a new version each time
    [bid] = r.booking_ids
    return bid


def test_a_new_version_writes_only_the_tokens_that_changed(node: Node) -> None:
    bid = _push(node, seats={"1": "12C"}, ticketed_day=1, prepared_hour=8)
    first = _rows(node, bid)
    assert first
    # A new version whose indexed values are the same (only the ticketing date moved): the
    # token rows are the same rows, none removed, none added.
    assert _push(node, seats={"1": "12C"}, ticketed_day=2, prepared_hour=9) == bid
    assert _rows(node, bid) == first
    # A seat for the second traveller: exactly its two seat-pair rows come in.
    assert _push(node, seats={"1": "12C", "2": "12D"}, ticketed_day=2, prepared_hour=10) == bid
    now = _rows(node, bid)
    assert first < now
    added = now - first
    assert {(f, ref) for _, f, _, _, ref in added} == {(int(LinkField.SEAT_PAIR), "2")}
    assert len(added) == 2
    # The first traveller's seat moves: its pairs are replaced, nothing else moves.
    assert _push(node, seats={"1": "30A", "2": "12D"}, ticketed_day=2, prepared_hour=11) == bid
    moved = _rows(node, bid)
    assert {(f, ref) for _, f, _, _, ref in now - moved} == {(int(LinkField.SEAT_PAIR), "1")}
    assert {(f, ref) for _, f, _, _, ref in moved - now} == {(int(LinkField.SEAT_PAIR), "1")}
    assert len(moved) == len(now)


# --- rectification re-links ------------------------------------------------------------------


def _rectify(node: Node, booking_id: str, path: str, value: str) -> None:
    rid = request_rectification(
        dpo="dpo1", booking_id=booking_id, field_path=path, channel="letter", engine=node.engine,
        clock=node.clock,
    )  # fmt: skip
    apply_rectification(
        rid, dpo="dpo1", value=value, reason="The traveller's passport shows it.", engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, sensitive_filter=SENSITIVE,
    )  # fmt: skip


def test_a_rectified_birth_date_links_the_two_sources_and_a_wrong_one_parts_them(node: Node) -> None:
    wrong = "1990-05-05"
    pnr = node.pnr("REL001", [person("1", "WANG", "LEI", dt.date.fromisoformat(wrong))])
    [api] = node.api([person("1", "WANG", "LEI", DOB)])
    ref = node.ref_of(api, "WANG", "LEI")
    before = node.members()
    assert before[(pnr, "1")][0] != before[(api, ref)][0]  # the same name, another birth date
    api_traveller = before[(api, ref)][0]

    _rectify(node, pnr, "travellers.0.date_of_birth", DOB.isoformat())
    m = node.members()
    assert m[(pnr, "1")][:2] == (api_traveller, "name_dob")  # joined the API record's traveller
    assert m[(api, ref)] == before[(api, ref)]

    _rectify(node, pnr, "travellers.0.date_of_birth", wrong)
    m = node.members()
    assert m[(pnr, "1")][0] not in {api_traveller, before[(pnr, "1")][0]}
    assert m[(pnr, "1")][1:] == ("new", "")
    assert m[(api, ref)] == (api_traveller, "new", "")  # the API record keeps its traveller


def test_a_rectification_keeps_a_link_that_still_holds_and_updates_its_conflicts(node: Node) -> None:
    pnr = node.pnr("REL002", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [api] = node.api([person("1", "WANG", "LEI", dt.date(1980, 2, 1), "E1234567")])
    ref = node.ref_of(api, "WANG", "LEI")
    before = node.members()
    assert before[(api, ref)][1:] == ("document", "date_of_birth")
    # The PNR's birth date corrected to the API's: same traveller, no conflict left.
    _rectify(node, pnr, "travellers.0.date_of_birth", "1980-02-01")
    _rectify(node, pnr, "travellers.0.documents.0.date_of_birth", "1980-02-01")
    m = node.members()
    assert m[(pnr, "1")] == before[(pnr, "1")]  # the record that opened the traveller
    assert m[(api, ref)] == (before[(api, ref)][0], "document", "")


# --- the lookups that list bookings run the search's query ----------------------------------

_DESKS = itertools.count()


def _desk(node: Node) -> tuple[accounts.Account, str]:
    n = next(_DESKS)
    analyst = accounts.create_account(
        node.engine, username=f"upk{n}", role=Role.ANALYST, password="x" * 16, now=T0
    )
    authority = add_authority(node.engine, code=f"UPK{n}", name="Police", kind="national", now=T0)
    req = requests.register_request(
        user=analyst, authority_id=authority.id, case_reference="CASE-1", purpose=Purpose.TERRORIST_OFFENCES,
        reason="a duly reasoned request about one person", engine=node.engine, keystore=node.keystore,
        clock=node.clock,
    )  # fmt: skip
    return analyst, req.id


def _restrict(node: Node, booking_id: str) -> None:
    with node.engine.begin() as conn:
        conn.execute(update(booking).where(booking.c.id == booking_id).values(restricted_at=T0))


def test_find_summaries_lists_bookings_in_flight_date_order_and_says_when_cut(node: Node) -> None:
    late = node.pnr("SUM003", [person("1", "WANG", "LEI", DOB)], day=9)
    early = node.pnr("SUM001", [person("1", "WANG", "LEI", DOB), person("2", "WANG", "BO", DOB)], day=3)
    middle = node.pnr("SUM002", [person("1", "WANG", "MIN", DOB)], day=5)
    hidden = node.pnr("SUM004", [person("1", "WANG", "YU", DOB)], day=4)
    _restrict(node, hidden)
    with node.engine.connect() as conn:
        found, cut = find_summaries(conn, node.keystore, SearchCriteria(surname="WANG"), limit=10)
        assert ([s.id for s in found], cut) == ([early, middle, late], False)  # one row a booking
        found, cut = find_summaries(conn, node.keystore, SearchCriteria(surname="WANG"), limit=2)
        assert ([s.id for s in found], cut) == ([early, middle], True)
        found, _ = find_summaries(
            conn, node.keystore,
            SearchCriteria(surname="WANG", date_from=dt.date(2026, 3, 4), date_to=dt.date(2026, 3, 6)),
            limit=10,
        )  # fmt: skip
        assert [s.id for s in found] == [middle]


def test_the_dpo_lookup_finds_restricted_bookings_within_the_window(node: Node) -> None:
    a = node.pnr("DPO001", [person("1", "WANG", "LEI", DOB)], day=3)
    b = node.pnr("DPO002", [person("1", "WANG", "LEI", DOB)], day=9)
    node.pnr("DPO003", [person("1", "WANG", "LEI", dt.date(1990, 1, 1))], day=5)
    _restrict(node, b)
    with node.engine.connect() as conn:
        found = find_bookings_for_person(conn, node.keystore, surname="Wang", date_of_birth=DOB)
        assert {m.booking_id: m.restricted for m in found.matches} == {a: False, b: True}
        assert found.scanned == 2
        window = find_bookings_for_person(
            conn, node.keystore, surname="WANG", date_of_birth=DOB, flight_from=dt.date(2026, 3, 4)
        )
        assert window.booking_ids == [b]


def test_a_travellers_history_is_the_union_of_document_and_name_in_date_order(node: Node) -> None:
    first = node.pnr("HIS001", [person("1", "WANG", "LEI", DOB, "E1234567")], day=3)
    by_doc = node.pnr("HIS002", [person("1", "WANG", "LEIFENG", dt.date(1980, 2, 1), "E1234567")], day=4)
    by_name = node.pnr("HIS003", [person("1", "WANG", "LEI", DOB)], day=6)
    both = node.pnr("HIS004", [person("1", "WANG", "LEI", DOB, "E1234567")], day=8)
    node.pnr("HIS005", [person("1", "WANG", "LEI", dt.date(1991, 1, 1))], day=7)  # a namesake
    hidden = node.pnr("HIS006", [person("1", "WANG", "LEI", DOB, "E1234567")], day=5)
    _restrict(node, hidden)
    analyst, rid = _desk(node)
    kw = {"engine": node.engine, "keystore": node.keystore, "audit": node.audit, "clock": node.clock}
    search(rid, SearchCriteria(locator="HIS001"), user=analyst, **kw)  # type: ignore[arg-type]
    history = traveller_history(rid, first, "1", user=analyst, page_size=3, **kw)  # type: ignore[arg-type]
    assert history.total == 4  # each booking once, though two of them match both ways
    assert [r.booking.id for r in history.rows] == [first, by_doc, by_name]
    page2 = traveller_history(rid, first, "1", user=analyst, page=2, page_size=3, **kw)  # type: ignore[arg-type]
    assert [r.booking.id for r in page2.rows] == [both]


def test_a_relinked_records_hits_follow_it_to_the_persons_traveller(node: Node) -> None:
    from pnrguard.service.screening import import_watchlist
    from pnrguard.store.screening import hit

    import_watchlist(
        b"entity_id,name,aliases,dob,nationality,documents\nE1,WANG Lei,,1980-01-02,CN,\n",
        name="national", fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, actor="operator:test",
    )  # fmt: skip
    pnr = node.pnr("REL003", [person("1", "WANG", "LEI", DOB)])
    [api] = node.api([person("1", "WANG", "LEI", dt.date(1990, 5, 5))])
    ref = node.ref_of(api, "WANG", "LEI")
    assert node.traveller(api, ref) != node.traveller(pnr, "1")
    _rectify(node, api, "travellers.0.date_of_birth", DOB.isoformat())
    person_id = node.traveller(pnr, "1")
    assert node.traveller(api, ref) == person_id
    with node.engine.connect() as conn:
        hits = conn.execute(select(hit.c.booking_id, hit.c.traveller_id)).all()
    assert pnr in {b for b, _ in hits}
    assert {t for _, t in hits} == {person_id}  # the API record's hits, if any, moved with it
