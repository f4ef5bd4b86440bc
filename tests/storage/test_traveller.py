"""One traveller across API and PNR, and the blind index through its lifecycle, on SQLite
and PostgreSQL, through the real ingest (messages written by our writers, read back)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Purpose
from pnrguard.domain.model import TravellerType
from pnrguard.service.screening import ReviewDecision, import_watchlist, review_hit
from pnrguard.service.search_index import find_bookings_for_person
from pnrguard.store.lifecycle import claim_bookings, delete_bookings, mask_bookings
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking
from pnrguard.store.traveller import hit_source, search_token
from traveller_builders import DOB, T0, Node, person

pytestmark = pytest.mark.storage


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


def test_same_person_in_pnr_and_api_is_one_traveller(node: Node) -> None:
    pnr = node.pnr("ABC123", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])  # flight sent as 0103
    members = node.members()
    assert members[(pnr, "1")][0] == members[(api, node.ref_of(api, "WANG", "LEI"))][0]
    assert Counter(how for _, how, _ in members.values()) == {"new": 1, "document": 1}


def test_namesakes_on_one_flight_stay_apart(node: Node) -> None:
    """Father and son with one name (different birth dates), and twins (same surname and
    birth date, different given names): each API record finds its own PNR record."""
    twins_dob = dt.date(2010, 5, 5)
    pnr = node.pnr(
        "NAM001",
        [
            person("1", "CHEN", "WEI", DOB),
            person("2", "CHEN", "WEI", dt.date(2005, 7, 1)),
            person("3", "LI", "NA", twins_dob),
            person("4", "LI", "MEI", twins_dob),
        ],
    )
    apis = node.api(
        [
            person("1", "LI", "MEI", twins_dob),
            person("2", "CHEN", "WEI", dt.date(2005, 7, 1)),
            person("3", "CHEN", "WEI", DOB),
            person("4", "LI", "NA", twins_dob),
        ]
    )
    m = node.members()
    by_pnr = {ref: m[(pnr, ref)][0] for ref in ("1", "2", "3", "4")}
    assert len(set(by_pnr.values())) == 4
    linked = {v[0] for k, v in m.items() if k[0] in apis}
    assert linked == set(by_pnr.values())  # every API record joined one PNR record
    assert {v[1] for k, v in m.items() if k[0] in apis} == {"name_dob"}


def test_identical_namesakes_link_by_seat_or_not_at_all(node: Node) -> None:
    """Two people with the same name and birth date and no document: only the seat tells
    them apart; without it nothing is linked (a wrong link would merge two people)."""
    pnr = node.pnr(
        "SAM001",
        [person("1", "ZHANG", "YU", DOB), person("2", "ZHANG", "YU", DOB)],
        seats={"1": "12A", "2": "30C"},
    )
    [api] = node.api([person("1", "ZHANG", "YU", DOB)])
    m = node.members()
    assert m[(api, node.ref_of(api, "ZHANG", "YU"))][1] == "new"  # PAXLST here has no seat
    assert m[(pnr, "1")][0] != m[(pnr, "2")][0]


def test_infant_links_to_its_own_api_record(node: Node) -> None:
    baby_dob = dt.date(2025, 6, 1)
    pnr = node.pnr(
        "INF001",
        [
            person("1", "WANG", "LEI", DOB, "E1234567"),
            person("2", "WANG", "XIAO", baby_dob, "E7654321", kind=TravellerType.INFANT, with_account="1"),
        ],
    )
    apis = node.api([person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "WANG", "XIAO", baby_dob)])
    m = node.members()
    parent, baby = m[(pnr, "1")][0], m[(pnr, "2")][0]
    assert parent != baby
    api_ids = {v[0] for k, v in m.items() if k[0] in apis}
    assert api_ids == {parent, baby}


def test_conflicting_dates_of_birth_link_by_document_and_are_a_finding(node: Node) -> None:
    pnr = node.pnr("DOB001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [api] = node.api([person("1", "WANG", "LEI", dt.date(1980, 2, 1), "E1234567")])
    m = node.members()
    ref = node.ref_of(api, "WANG", "LEI")
    assert m[(api, ref)][0] == m[(pnr, "1")][0]
    assert m[(api, ref)][1:] == ("document", "date_of_birth")


LIST = b"entity_id,name,aliases,dob,nationality,documents\nE1,WANG Lei,,1980-01-02,CN,\n"


def test_a_match_in_both_sources_is_one_hit_and_one_decision(node: Node) -> None:
    import_watchlist(
        LIST, name="national", fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, actor="operator:test",
    )  # fmt: skip
    pnr = node.pnr("HIT001", [person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", DOB)])
    apis = node.api([person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", DOB)])
    with node.engine.connect() as conn:
        hits = conn.execute(select(hit)).all()
        sources = conn.execute(select(hit_source)).all()
    assert len(hits) == 1
    [h] = hits
    assert h.booking_id == pnr
    assert h.traveller_id == node.traveller(pnr, "1")
    assert [(s.hit_id, s.booking_id) for s in sources] == [(h.id, s.booking_id) for s in sources]
    assert len(sources) == 1
    assert sources[0].booking_id in apis
    review_hit(
        h.id, reviewer="analyst", decision=ReviewDecision.DISMISS, reason="different person, checked",
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip
    # The API record pushed again with a change: still no second hit for this person.
    node.api([person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", dt.date(1981, 1, 1))])
    with node.engine.connect() as conn:
        assert int(conn.execute(select(func.count()).select_from(hit)).scalar_one()) == 1


def test_index_follows_masking_and_deletion(node: Node) -> None:
    pnr = node.pnr("IDX001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    assert node.tokens(pnr) > 0
    assert node.tokens(api) > 0
    assert {b.id for b in find_bookings_for_person(node.engine, node.keystore, "Lei Wang", DOB)} == {pnr, api}
    assert find_bookings_for_person(node.engine, node.keystore, "Lei Wang", dt.date(1980, 1, 3)) == []

    with node.engine.begin() as conn:  # the retention run's masking step
        rows = claim_bookings(conn, booking.c.id == pnr, limit=10)
        assert mask_bookings(conn, rows, keystore=node.keystore, seal_keystore=node.keystore, at=T0) == [pnr]
    assert node.tokens(pnr) == 0
    assert [b.id for b in find_bookings_for_person(node.engine, node.keystore, "WANG LEI", DOB)] == [api]

    with node.engine.begin() as conn:  # the deletion step
        delete_bookings(conn, [pnr, api], at=T0)
    assert node.tokens() == 0
    assert node.members() == {}

    # The repository's own masking and deletion take the tokens too.
    other = node.pnr("IDX002", [person("1", "HU", "BO", DOB)])
    assert node.tokens(other) > 0
    with node.engine.begin() as conn:
        BookingRepository(conn, node.keystore).mark_masked(other, at=T0)
    assert node.tokens(other) == 0


def test_every_token_row_names_a_stored_booking(node: Node) -> None:
    """What `search_token`'s foreign key held until 0029_token_no_fk (dropped: a trigger per
    row on PostgreSQL, ~45% of writing the index): no token row without its booking, through
    ingest, a new version, masking and deletion; and a deleted booking keeps no token."""
    pnr = node.pnr("FK0001", [person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", DOB)])
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    node.pnr("FK0001", [person("1", "WANG", "LEIFENG", DOB, "E1234567"), person("2", "HU", "BO", DOB)])
    kept = node.pnr("FK0002", [person("1", "LI", "NA", DOB)])

    def stray() -> int:
        with node.engine.connect() as conn:
            known = select(booking.c.id).where(booking.c.id == search_token.c.booking_id).exists()
            q = select(func.count()).select_from(search_token).where(~known)
            return int(conn.execute(q).scalar_one())

    assert stray() == 0
    assert node.tokens(pnr) > 0
    assert node.tokens(api) > 0
    with node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.id == pnr, limit=10)
        mask_bookings(conn, rows, keystore=node.keystore, seal_keystore=node.keystore, at=T0)
    with node.engine.begin() as conn:
        delete_bookings(conn, [api], at=T0)
    assert stray() == 0
    assert node.tokens(pnr) == 0
    assert node.tokens(api) == 0
    assert node.tokens(kept) > 0
    assert node.tokens() == node.tokens(kept)


def test_a_new_version_replaces_the_tokens(node: Node) -> None:
    first = node.pnr("VER001", [person("1", "WANG", "LEI", DOB)])
    again = node.pnr("VER001", [person("1", "WANG", "LEIFENG", DOB)])
    assert again == first
    assert find_bookings_for_person(node.engine, node.keystore, "WANG LEI", DOB) == []
    assert [b.id for b in find_bookings_for_person(node.engine, node.keystore, "WANG LEIFENG", DOB)] == [
        first
    ]


def test_tokens_are_keyed_and_hold_no_clear_value(node: Node) -> None:
    """A DB admin without the key store: no token equals an unkeyed digest of the value,
    and the same values under another node's key give other tokens."""
    import hashlib

    node.pnr("KEY001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    with node.engine.connect() as conn:
        tokens = {bytes(t) for t in conn.execute(select(search_token.c.token)).scalars()}
    for value in (b"WANG", b"LEI", b"E1234567", DOB.isoformat().encode()):
        assert all(value not in t for t in tokens)
        assert hashlib.sha256(value).digest()[:16] not in tokens
    other = Node(node.engine)  # same database, another key store: the secret does not open
    with pytest.raises(Exception):  # noqa: B017, PT011 — any failure to unwrap is right
        find_bookings_for_person(other.engine, other.keystore, "WANG LEI", DOB)


def test_flight_pushes_in_any_padding_link(node: Node) -> None:
    pnr = node.pnr("PAD001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")], number="103")
    assert node.traveller(api, node.ref_of(api, "WANG", "LEI")) == node.traveller(pnr, "1")


def test_a_transmitted_hit_carries_the_persons_other_source(node: Node) -> None:
    from pnrguard.audit.models import Operation
    from pnrguard.service import accounts
    from pnrguard.service.accounts import Role
    from pnrguard.service.disclosure import add_authority, package, propose_transmission
    from pnrguard.service.review import ReviewPolicy
    from pnrguard.store.audit import SqlAuditLog

    import_watchlist(
        LIST, name="national", fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, actor="operator:test",
    )  # fmt: skip
    node.pnr("TRX001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    with node.engine.connect() as conn:
        [h] = conn.execute(select(hit)).all()
    review_hit(
        h.id, reviewer="analyst", decision=ReviewDecision.CONFIRM, reason="same person as the entry, checked",
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip
    analyst = accounts.create_account(
        node.engine, username="ana", role=Role.ANALYST, password="x" * 16, now=T0
    )
    authority = add_authority(node.engine, code="POLICE", name="Police", kind="national", now=T0)
    t = propose_transmission(
        user=analyst, authority_id=authority.id, purpose=Purpose.TERRORIST_OFFENCES,
        justification="alert for the national counter-terrorism case", hit_id=h.id, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, node_name="test",
        policy=ReviewPolicy(four_eyes=False),
    )  # fmt: skip
    pkg = package(
        t.id, user=analyst, engine=node.engine, keystore=node.keystore, audit=node.audit, node_name="test"
    )
    [linked] = pkg.data["linked_sources"]
    assert linked["booking_id"] == api
    assert pkg.sha256 == t.package_sha256  # rebuilt identically
    with node.engine.connect() as conn:
        [disclosure] = SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=Operation.DISCLOSURE)
    assert api in disclosure.record_ids
    assert disclosure.counts["bookings.disclosed"] == 2
    from pnrguard.service.dpo import statistics

    day = dt.timedelta(days=1)
    report = statistics(node.engine, start=T0 - day, end=T0 + day)
    assert report.identified_for_further_examination == 1  # one person, two records


def test_pnr_and_api_ingested_at_once_by_two_workers_still_link(node: Node) -> None:
    """Two workers take the PNR and the API list of one flight at the same moment: the
    person is still one traveller, and neither ingest fails. (Whether the two transactions
    overlap at the linking step depends on timing: this does not prove the per-flight lock
    by itself, it shows concurrent ingest stays correct with it.)"""
    import threading

    from pnrguard.domain.model import Booking, Source
    from pnrguard.formats.paxlst import write_paxlst
    from pnrguard.formats.pnrgov import write_pnrgov
    from traveller_builders import leg

    f, g = leg("103"), leg("0103")
    people = [person(str(i), "WANG", f"LEI{'ABCDEFGHIJ'[i]}", DOB, f"E{i:07d}") for i in range(10)]
    pnr = write_pnrgov(
        [Booking(source=Source.PNR, carrier="MU", locator="RACE01", created=dt.datetime(2026, 2, 1, 10, 0),
                 reported_flight=f, itinerary=[f], travellers=people)],
        flight=f, prepared=dt.datetime(2026, 3, 1, 9, 0),
    )  # fmt: skip
    api = write_paxlst(
        [Booking(source=Source.API, carrier="MU", reported_flight=g, itinerary=[g], travellers=people)],
        flight=g, prepared=dt.datetime(2026, 3, 2, 8, 0),
    )  # fmt: skip
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(text: str) -> None:
        try:
            start.wait()
            node.ingest(text)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in (pnr, api)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    per_traveller = Counter(tid for tid, _, _ in node.members().values())
    assert sorted(per_traveller.values()) == [2] * 10
