"""Issue 12, the remaining parts, on SQLite and PostgreSQL: search pages as ranges of the
index (flight-date order, no hidden limit, restricted bookings out of count and pages);
an unmasking follows the traveller link to the same people's other source and no further;
a rectification refreshes the index; the index backfill and rebuild (resumable,
idempotent, logged) and their command line."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import ForbiddenError
from pnrguard.service import accounts, requests
from pnrguard.service.accounts import Role
from pnrguard.service.disclosure import add_authority
from pnrguard.service.index_rebuild import Mode, walk_index, walk_status
from pnrguard.service.rights import apply_rectification, request_rectification
from pnrguard.service.search import SearchCriteria, SearchOutcome, search
from pnrguard.service.search_index import find_bookings_for_person
from pnrguard.service.unmasking import (
    Principal,
    approve_unmasking,
    can_see_identity,
    request_unmasking,
    unmask_view,
)
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.lifecycle import claim_bookings, mask_bookings
from pnrguard.store.tables import booking
from pnrguard.store.traveller import search_token, traveller_member
from traveller_builders import DOB, SENSITIVE, T0, Node, person

pytestmark = pytest.mark.storage

ANALYST = Principal("analyst1", frozenset({"analyst"}))
JUDGE = Principal("judge1", frozenset({"judicial"}))


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


def _tokens(node: Node) -> set[tuple[bytes, int, int, str, str]]:
    with node.engine.connect() as conn:
        return {
            (bytes(r.token), r.field, r.day, r.booking_id, r.traveller_ref)
            for r in conn.execute(select(search_token))
        }


_DESKS = itertools.count()


def _search(node: Node, page: int = 1, **criteria: object) -> SearchOutcome:
    """One search under a fresh open request by a fresh analyst."""
    n = next(_DESKS)
    analyst = accounts.create_account(
        node.engine, username=f"ana{n}", role=Role.ANALYST, password="x" * 16, now=T0
    )
    authority = add_authority(node.engine, code=f"POLICE{n}", name="Police", kind="national", now=T0)
    req = requests.register_request(
        user=analyst, authority_id=authority.id, case_reference="CASE-1", purpose=Purpose.TERRORIST_OFFENCES,
        reason="a duly reasoned request about one person", engine=node.engine, keystore=node.keystore,
        clock=node.clock,
    )  # fmt: skip
    return search(
        req.id, SearchCriteria(**criteria),  # type: ignore[arg-type]
        user=analyst, engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
        page=page,
    )  # fmt: skip


# --- search pages ---------------------------------------------------------------------------


def _given(i: int) -> str:
    """A distinct given name per number (digits are not part of a name)."""
    return "LEI" + chr(65 + i % 26) + chr(65 + i // 26)


def test_a_page_is_a_range_in_flight_date_order_without_restricted_bookings(node: Node) -> None:
    ids = [node.pnr(f"K{i:05d}", [person("1", "WANG", _given(i), DOB)], day=1 + i % 27) for i in range(30)]
    node.pnr("K99999", [person("1", "HU", "BO", DOB)])
    hidden = ids[4]
    with node.engine.begin() as conn:  # a traveller's restriction (LED Art. 16(3))
        conn.execute(update(booking).where(booking.c.id == hidden).values(restricted_at=T0))
    first, second = _search(node, surname="wang"), _search(node, page=2, surname="wang")
    assert (first.total, len(first.rows), len(second.rows)) == (29, 25, 4)
    shown = [r.booking for r in first.rows + second.rows]
    assert hidden not in {b.id for b in shown}
    assert {b.id for b in shown} == set(ids) - {hidden}
    keys = [(b.flight_date, b.id) for b in shown]
    assert keys == sorted(keys)  # flight date, then id: the index's own order
    assert first.decrypted == 25
    # A date window narrows the range; a rare given name next to a common surname.
    week = _search(node, surname="WANG", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 7))
    assert week.total == sum(1 for i in range(30) if 1 <= 1 + i % 27 <= 7 and ids[i] != hidden)
    [row] = _search(node, surname="WANG", given_names=_given(7)).rows
    assert row.booking.id == ids[7]
    assert _search(node, surname="WANG", given_names=_given(7), date_of_birth=dt.date(1999, 1, 1)).total == 0


def test_a_flight_typed_without_its_carrier_and_a_contact_search_still_find(node: Node) -> None:
    pnr = node.pnr("F00001", [person("1", "WANG", "LEI", DOB)])
    [api] = node.api([person("1", "WANG", "LEI", DOB)])
    got = _search(node, flight_number="103", date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2))
    assert {r.booking.id for r in got.rows} == {pnr, api}
    assert _search(node, flight_number="103", date_from=dt.date(2026, 3, 3)).total == 0


# --- unmasking follows the traveller link ---------------------------------------------------


def _mask_all(node: Node) -> None:
    with node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.state == "active", limit=100)
        mask_bookings(conn, rows, keystore=node.keystore, seal_keystore=node.keystore, at=T0)


def _approved(node: Node, booking_ids: list[str]) -> str:
    rid = request_unmasking(
        requester=ANALYST, purpose=Purpose.TERRORIST_OFFENCES, case_reference="CASE-9",
        reason="the person is named in a judicial order of today", booking_ids=booking_ids,
        valid_from=T0 - dt.timedelta(hours=1), valid_until=T0 + dt.timedelta(days=2),
        engine=node.engine, keystore=node.keystore, clock=node.clock,
    )  # fmt: skip
    approve_unmasking(
        rid, judge=JUDGE, decision="approved", reason="order checked", engine=node.engine,
        keystore=node.keystore, audit=node.audit,
        clock=node.clock,
    )  # fmt: skip
    return rid


def _sees(node: Node, booking_id: str) -> bool:
    return can_see_identity(
        booking_id, user=ANALYST, purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine, clock=node.clock
    )


def test_an_unmasking_covers_the_same_persons_other_source_and_nothing_else(node: Node) -> None:
    wang_pnr = node.pnr("UNM001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    [wang_api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    family = node.pnr(
        "UNM002", [person("1", "HU", "BO", DOB, "E7654321"), person("2", "HU", "MEI", DOB, "E1111111")]
    )
    hu_bo, hu_mei = node.api(
        [person("1", "HU", "BO", DOB, "E7654321"), person("2", "HU", "MEI", DOB, "E1111111")]
    )
    wang_later = node.pnr("UNM003", [person("1", "WANG", "LEI", DOB, "E1234567")], day=9)  # another flight
    assert node.traveller(wang_pnr, "1") == node.traveller(wang_api, node.ref_of(wang_api, "WANG", "LEI"))
    _mask_all(node)

    rid = _approved(node, [wang_api])
    assert _sees(node, wang_api)
    assert _sees(node, wang_pnr)  # the same person's PNR on that flight
    assert not _sees(node, wang_later)  # not the person's other flights
    assert not any(_sees(node, b) for b in (family, hu_bo, hu_mei))
    seen = unmask_view(
        wang_pnr, user=ANALYST, purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip
    assert seen.travellers[0].surname == "WANG"
    with node.engine.connect() as conn:
        log = SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=Operation.UNMASKING)
    assert any(e.record_ids == (wang_pnr,) and e.reference == rid for e in log)

    _approved(node, [hu_bo])  # one of a family: her record and the family's PNR stay closed
    assert _sees(node, hu_bo)
    assert not _sees(node, family)
    assert not _sees(node, hu_mei)
    _approved(node, [family])  # the PNR named: both API records of its people
    assert _sees(node, hu_mei)
    with pytest.raises(ForbiddenError):
        unmask_view(
            wang_later, user=ANALYST, purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
            keystore=node.keystore, audit=node.audit, clock=node.clock,
        )  # fmt: skip


# --- rectification ------------------------------------------------------------------------


def test_a_rectification_refreshes_the_index(node: Node) -> None:
    bid = node.pnr("RECT01", [person("1", "MUELLLER", "JOHANN", None)])  # no document: one name
    assert _search(node, surname="MUELLLER").total == 1
    rid = request_rectification(
        dpo="dpo1", booking_id=bid, field_path="travellers.0.surname", channel="letter", engine=node.engine,
        clock=node.clock,
    )  # fmt: skip
    apply_rectification(
        rid, dpo="dpo1", value="MUELLER", reason="Passport copy shows MUELLER.", engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, sensitive_filter=SENSITIVE,
    )  # fmt: skip
    assert [r.booking.id for r in _search(node, surname="MUELLER", given_names="JOHANN").rows] == [bid]
    assert _search(node, surname="MUELLLER").total == 0


# --- backfill and rebuild -----------------------------------------------------------------


def _forget_everything(node: Node) -> None:
    """What a booking stored before migration 0015 looks like: no token, no link."""
    with node.engine.begin() as conn:
        conn.execute(delete(search_token))
        conn.execute(delete(traveller_member))


def _walk(node: Node, mode: Mode, **kw: object) -> object:
    return walk_index(
        mode,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        clock=node.clock,
        **kw,  # type: ignore[arg-type]
    )


def test_backfill_indexes_and_links_what_was_stored_before_the_index(node: Node) -> None:
    pnr = node.pnr("BKF001", [person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", DOB)])
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    before, members = _tokens(node), node.members()
    _forget_everything(node)
    assert walk_status(node.engine)["without_tokens"] == 2
    assert find_bookings_for_person(node.engine, node.keystore, "WANG LEI", DOB) == []

    done = _walk(node, Mode.BACKFILL, batch_size=1)
    assert (done.bookings, done.finished) == (2, True)  # type: ignore[attr-defined]
    assert _tokens(node) == before
    assert {b.id for b in find_bookings_for_person(node.engine, node.keystore, "WANG LEI", DOB)} == {pnr, api}
    # Linked again as ingest linked them: the same person's two sources share one traveller.
    assert len(node.members()) == len(members)
    assert node.traveller(pnr, "1") == node.traveller(api, node.ref_of(api, "WANG", "LEI"))
    again = _walk(node, Mode.BACKFILL)
    assert again.bookings == 0  # type: ignore[attr-defined]
    assert _tokens(node) == before
    with node.engine.connect() as conn:
        entries = [
            e
            for e in SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=Operation.ALTERATION)
            if "index.backfill.bookings" in e.counts
        ]
    assert sorted(i for e in entries for i in e.record_ids) == sorted([pnr, api])
    assert all(e.purpose is Purpose.INGEST for e in entries)


def test_a_stopped_rebuild_resumes_and_a_new_key_retokenises_everything(node: Node) -> None:
    ids = [node.pnr(f"RBL{i:03d}", [person("1", "WANG", _given(i), DOB)]) for i in range(5)]
    before = _tokens(node)
    first = _walk(node, Mode.REBUILD, batch_size=2, limit=1)
    assert (first.bookings, first.finished) == (2, False)  # type: ignore[attr-defined]
    assert walk_status(node.engine)["walk"] == "rebuild unfinished"
    rest = _walk(node, Mode.REBUILD, batch_size=2)
    assert (rest.resumed, rest.bookings, rest.finished) == (True, 3, True)  # type: ignore[attr-defined]
    assert _tokens(node) == before  # same key: nothing changed

    _walk(node, Mode.REBUILD, new_key=True)
    after = _tokens(node)
    assert len(after) == len(before)
    assert not {t for t, *_ in after} & {t for t, *_ in before}  # every token under the new key
    assert [b.id for b in find_bookings_for_person(node.engine, node.keystore, f"WANG {_given(3)}", DOB)] == [
        ids[3]
    ]


def test_the_index_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from pnrguard.cli import app
    from pnrguard.protection.keystore import LocalKeyFileStore
    from pnrguard.service.bootstrap import Node as Booted

    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'node.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "keys.json"))
    with Booted.from_settings() as booted:
        assert isinstance(booted.keystore, LocalKeyFileStore)
        n = Node(booted.engine)
        n.keystore = booted.keystore  # type: ignore[assignment]
        n.pnr("CLI001", [person("1", "WANG", "LEI", DOB)])
        _forget_everything(n)
    runner = CliRunner()
    status = runner.invoke(app, ["index", "status"])
    assert status.exit_code == 0, status.output
    assert "1" in status.output
    done = runner.invoke(app, ["index", "backfill", "--batch-size", "10"])
    assert done.exit_code == 0, done.output
    assert "1 bookings" in done.output
    assert "finished" in done.output
    assert runner.invoke(app, ["index", "rebuild", "--limit", "1"]).exit_code == 0
    assert runner.invoke(app, ["index", "backfill", "--batch-size", "0"]).exit_code == 2


def test_migration_0018_fills_the_day_of_tokens_stored_before_it(node: Node) -> None:
    from alembic import command

    from pnrguard.store.db import alembic_config, upgrade

    node.pnr("MIG001", [person("1", "WANG", "LEI", DOB, "E1234567")], day=7)
    [api] = node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    before = _tokens(node)
    api_days = {d for _, _, d, b, _ in before if b == api}
    assert api_days == {(dt.date(2026, 3, 2) - dt.date(1970, 1, 1)).days}
    command.downgrade(alembic_config(node.engine), "0014_acct_power")  # the 0015 table, no day
    upgrade(node.engine)
    assert _tokens(node) == before
