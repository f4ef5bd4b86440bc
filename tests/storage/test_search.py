"""The purpose-bound search over the blind index, on SQLite and PostgreSQL: what it finds,
that it decrypts only the page shown, that every page is a logged consultation, and that
every path refuses without an open request."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Contact
from pnrguard.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.service import accounts, requests
from pnrguard.service.accounts import Account, Role
from pnrguard.service.disclosure import add_authority
from pnrguard.service.search import MASKED, SearchCriteria, SearchOutcome, search, traveller_history
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.lifecycle import claim_bookings, mask_bookings
from pnrguard.store.tables import booking
from traveller_builders import DOB, T0, Node, person

pytestmark = pytest.mark.storage


class Desk:
    """A node with an analyst, a DPO and an open request."""

    def __init__(self, engine: Engine) -> None:
        self.node = Node(engine)
        self.analyst = accounts.create_account(
            engine, username="ana", role=Role.ANALYST, password="x" * 16, now=T0
        )
        self.dpo = accounts.create_account(engine, username="dpo", role=Role.DPO, password="x" * 16, now=T0)
        authority = add_authority(engine, code="POLICE", name="Police", kind="national", now=T0)
        self.request = requests.register_request(
            user=self.analyst, authority_id=authority.id, case_reference="CASE-1",
            purpose=Purpose.TERRORIST_OFFENCES, reason="a duly reasoned request about one person",
            engine=engine, keystore=self.node.keystore, clock=self.node.clock,
        ).id  # fmt: skip

    def search(self, *, user: Account | None = None, page: int = 1, **criteria: object) -> SearchOutcome:
        return search(
            self.request, SearchCriteria(**criteria),  # type: ignore[arg-type]
            user=user or self.analyst, engine=self.node.engine, keystore=self.node.keystore,
            audit=self.node.audit, clock=self.node.clock, page=page,
        )  # fmt: skip

    def looks(self) -> list[object]:
        with self.node.engine.connect() as conn:
            return [
                e
                for e in SqlAuditLog(conn, origin="test.invalid/piu").entries(
                    operation=Operation.CONSULTATION
                )
                if e.reference == self.request
            ]


@pytest.fixture
def desk(engine: Engine) -> Desk:
    return Desk(engine)


def test_name_search_finds_both_sources_and_shows_name_dob_flight_source(desk: Desk) -> None:
    pnr = desk.node.pnr("S00001", [person("1", "WANG", "LEI", DOB, "E1234567"), person("2", "HU", "BO", DOB)])
    [api] = desk.node.api([person("1", "WANG", "LEI", DOB, "E1234567")])
    got = desk.search(surname="wang", given_names="Lei")
    assert got.total == 2
    assert {(r.booking.id, r.booking.source.value) for r in got.rows} == {(pnr, "PNR"), (api, "API")}
    for r in got.rows:
        [p] = r.people  # only the matched traveller, not HU BO
        assert (p.name, p.date_of_birth) == ("WANG, LEI", DOB.isoformat())
        assert r.flight in ("MU103", "MU0103")
    [look] = desk.looks()
    assert set(look.record_ids) == {pnr, api}  # type: ignore[attr-defined]
    assert look.counts["search.results"] == 2  # type: ignore[attr-defined]
    assert look.purpose is Purpose.TERRORIST_OFFENCES  # type: ignore[attr-defined]
    # By birth date and document, and by sound.
    assert desk.search(surname="WANG", date_of_birth=dt.date(1980, 1, 3)).total == 0
    assert desk.search(document_number="e 1234567").total == 2
    assert desk.search(surname="WAANG", sounds_like=True).total == 2


def test_results_are_paged_with_no_hidden_limit_and_each_page_is_logged(desk: Desk) -> None:
    for i in range(30):
        desk.node.pnr(f"P{i:05d}", [person("1", "WANG", f"LEI{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i % 26]}", DOB)])
    first = desk.search(surname="WANG")
    second = desk.search(surname="WANG", page=2)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (30, 2, 25, 5)
    assert first.decrypted == 25  # only the page shown
    assert second.decrypted == 5
    assert not {r.booking.id for r in first.rows} & {r.booking.id for r in second.rows}
    looks = desk.looks()
    assert [len(e.record_ids) for e in looks] == [25, 5]  # type: ignore[attr-defined]


@pytest.mark.parametrize("typed", ["103", "MU103", "MU 103", "0103", "mu0103"])
def test_the_flight_field_takes_any_spelling(desk: Desk, typed: str) -> None:
    pnr = desk.node.pnr("F00001", [person("1", "WANG", "LEI", DOB)])  # stored as 103
    [api] = desk.node.api([person("1", "WANG", "LEI", DOB)])  # stored as 0103
    got = desk.search(flight_number=typed)
    assert {r.booking.id for r in got.rows} == {pnr, api}
    assert desk.search(flight_number="MU104").total == 0


def test_masked_bookings_are_not_found_by_name_and_shown_masked_by_flight(desk: Desk) -> None:
    pnr = desk.node.pnr("M00001", [person("1", "WANG", "LEI", DOB)])
    with desk.node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.id == pnr, limit=1)
        mask_bookings(conn, rows, keystore=desk.node.keystore, seal_keystore=desk.node.keystore, at=T0)
    assert desk.search(surname="WANG").total == 0
    got = desk.search(flight_number="MU103")
    [row] = got.rows
    assert row.booking.state == "masked"
    assert [(p.name, p.date_of_birth) for p in row.people] == [(MASKED, MASKED)]
    assert got.decrypted == 0


def test_contact_search_is_booking_wide(desk: Desk) -> None:
    pnr = desk.node.pnr(
        "C00001",
        [person("1", "WANG", "LEI", DOB)],
        contacts=[Contact(kind="email", value="Lei.Wang@example.org")],
    )
    got = desk.search(contact=" lei.wang@EXAMPLE.org ")
    assert [r.booking.id for r in got.rows] == [pnr]
    assert [p.name for p in got.rows[0].people] == ["WANG, LEI"]


def test_every_search_path_is_purpose_bound(desk: Desk) -> None:
    pnr = desk.node.pnr("B00001", [person("1", "WANG", "LEI", DOB, "E1234567")])
    later = desk.node.pnr("B00002", [person("1", "WANG", "LEI", DOB, "E1234567")], day=20)
    node = desk.node
    kw = {"engine": node.engine, "keystore": node.keystore, "audit": node.audit, "clock": node.clock}
    with pytest.raises(ForbiddenError):  # the DPO supervises, it does not search
        desk.search(user=desk.dpo, surname="WANG")
    with pytest.raises(InputError):  # a given name alone lists strangers
        desk.search(given_names="LEI")
    with pytest.raises(ForbiddenError):  # history only of a traveller this request found
        traveller_history(desk.request, pnr, "1", user=desk.analyst, **kw)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        search("0" * 32, SearchCriteria(surname="WANG"), user=desk.analyst, **kw)  # type: ignore[arg-type]
    assert desk.looks() == []  # refused searches neither found nor logged anything

    desk.search(locator="B00001")
    history = traveller_history(desk.request, pnr, "1", user=desk.analyst, **kw)  # type: ignore[arg-type]
    assert {r.booking.id for r in history.rows} == {pnr, later}
    *_, look = desk.looks()
    assert look.counts["history.results"] == 2  # type: ignore[attr-defined]
    assert later in look.record_ids  # type: ignore[attr-defined]
    # Found by the history, so it opens under the request; once closed, nothing more.
    requests.open_record(
        desk.request, later, user=desk.analyst, engine=node.engine, keystore=node.keystore, audit=node.audit
    )
    requests.decide_request(
        desk.request,
        user=desk.analyst,
        answered=True,
        reason="answered",
        engine=node.engine, keystore=node.keystore,
        clock=node.clock,
    )
    with pytest.raises(ConflictError):
        desk.search(surname="WANG")
    with pytest.raises(ConflictError):
        traveller_history(desk.request, pnr, "1", user=desk.analyst, **kw)  # type: ignore[arg-type]
