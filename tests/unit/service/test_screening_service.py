"""Screening use cases on SQLite and PostgreSQL: hits at ingest, list versions, incremental
rescreen, withdrawal, review and suppression (Art. 12(5)), criteria rules and statistics,
and what the hit rows and the audit log hold (ids and numbers, no personal content)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.domain.model import Booking, Document, Leg, Remark, Source, Traveller
from pnrguard.errors import ConflictError, InputError
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.screening.criteria import CriteriaError, Rule
from pnrguard.service.clock import FixedClock
from pnrguard.service.screening import (
    HitKind,
    HitRecord,
    HitStatus,
    ImportResult,
    ReviewDecision,
    ScreeningCache,
    ScreenResult,
    import_watchlist,
    list_watchlists,
    open_hit,
    review_hit,
    rule_statistics,
    save_rule,
    screen_saved,
)
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, SaveOutcome, new_id
from pnrguard.store.screening import hit, suppression, watchlist_version

pytestmark = pytest.mark.storage

ORIGIN = "test.invalid/piu"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
ACTOR = "operator:test"
PURPOSE = Purpose.TERRORIST_OFFENCES

HEADER = "entity_id,name,aliases,dob,nationality,documents\n"
W1 = 'W1,"KOWALSKI, Jan",,1970-05-04,PL,\n'
W1_ALIAS = 'W1,"KOWALSKI, Jan",Johann Kowalsky,1970-05-04,PL,\n'
W1_OTHER = 'W1,"NOWAK, Piotr",,1950-01-01,PL,\n'
W2 = "W2,Maria Testowa,,1985-01-01,,\n"
W2_CHANGED = "W2,Maria Testowa,Marysia Testowa,1985-01-01,,\n"
W3 = "W3,Omar Example,,1960,,\n"
W4 = "W4,Lars Beispiel,,1990-09-09,,\n"


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode()


def traveller(
    surname: str = "KOWALSKI",
    given: str = "JAN MR",
    dob: dt.date | None = dt.date(1970, 5, 4),
    doc: str = "EA1234567",
    ref: str = "1",
) -> Traveller:
    docs = [Document(doc_type="P", number=doc, issuing_country="POL", date_of_birth=dob)] if doc else []
    return Traveller(ref=ref, surname=surname, given_names=given, date_of_birth=dob, documents=docs)


def pnr(locator: str, *travellers: Traveller, remark: str = "", carrier: str = "XY") -> Booking:
    flight = Leg(carrier=carrier, flight_number="123", origin="FRA", destination="JFK",
                 departure=dt.datetime(2026, 3, 3, 9, 15))  # fmt: skip
    return Booking(
        source=Source.PNR,
        carrier=carrier,
        locator=locator,
        created=dt.datetime(2026, 2, 1, 10, 10),
        reported_flight=flight,
        itinerary=[dataclasses.replace(flight)],
        travellers=list(travellers) or [traveller()],
        remarks=[Remark(kind="OSI", text=remark)] if remark else [],
    )


class Node:
    """The use cases' adapters on one test database: real store, crypto and audit log."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(T0)
        self.cache = ScreeningCache()

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin=ORIGIN, clock=self.clock)

    def save(self, *bookings: Booking) -> tuple[list[SaveOutcome], ScreenResult]:
        """What ingest does after parsing: save the bookings and screen them, one transaction."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            mid = new_id()
            MessageRepository(conn, self.keystore).add(
                message_id=mid, received_at=now, sha256=mid.encode(), size=1, channel="test",
                status=MessageStatus.ACCEPTED,
            )  # fmt: skip
            outcomes = BookingRepository(conn, self.keystore, now=now).save_versions(
                list(bookings), message_id=mid, received_at=now
            )
            result = screen_saved(
                conn, list(bookings), outcomes, keystore=self.keystore, audit=self.audit, now=now,
                reference=mid, cache=self.cache,
            )  # fmt: skip
        return outcomes, result

    def import_list(self, data: bytes | Path, name: str = "test-list", **kw: object) -> ImportResult:
        self.clock.advance(dt.timedelta(minutes=1))
        kw.setdefault("purpose", PURPOSE)
        return import_watchlist(
            data, name=name, engine=self.engine, keystore=self.keystore, audit=self.audit,
            clock=self.clock, actor=ACTOR, cache=self.cache, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    def review(self, hit_id: str, decision: ReviewDecision, reason: str = "checked passport") -> HitRecord:
        return review_hit(
            hit_id, reviewer="analyst:ana", decision=decision, reason=reason, engine=self.engine,
            keystore=self.keystore,
            audit=self.audit, clock=self.clock,
        )  # fmt: skip

    def save_rule(self, rule: Rule) -> Rule:
        return save_rule(rule, actor="analyst:owner", engine=self.engine, audit=self.audit, clock=self.clock)

    def hits(self, **where: object) -> list[HitRecord]:
        q = select(hit).order_by(hit.c.booking_id, hit.c.traveller_ref, hit.c.match_key)
        for name, value in where.items():
            q = q.where(hit.c[name] == value)
        with self.engine.connect() as conn:
            return [HitRecord.from_row(r) for r in conn.execute(q)]

    def count(self, table: object) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]

    def entries(self) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            return list(SqlAuditLog(conn, origin=ORIGIN).entries())


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


def one(items: Sequence[HitRecord]) -> HitRecord:
    assert len(items) == 1, items
    return items[0]


# --- lists, versions, rescreen ---------------------------------------------------------------


def test_import_rescreens_stored_travellers_into_a_hit_with_the_list_version(node: Node) -> None:
    node.save(pnr("AAA111"), pnr("BBB222", traveller("SMITH", "ANNA MRS", dt.date(1980, 1, 2), "X1")))
    result = node.import_list(csv(W1, W2, W3))
    assert (result.version, result.created, result.added, result.total) == (1, True, 3, 3)
    assert result.rescreen is not None
    assert (result.rescreen.entries, result.rescreen.bookings, result.rescreen.travellers) == (3, 2, 2)
    assert result.rescreen.hits_new == 1
    h = one(node.hits())
    assert (h.kind, h.list_version, h.entity_id, h.status) == (HitKind.WATCHLIST, 1, "W1", HitStatus.OPEN)
    assert h.match_key == "list:test-list:W1"
    assert h.booking_version == 1
    assert h.purpose is PURPOSE
    assert h.person_digest is not None
    assert len(h.person_digest) == 32
    assert h.score >= 0.85
    assert {f for f, _ in h.features} >= {"name", "dob"}
    # Running the same rescreen again (a resumed run) creates nothing twice.
    again = node.import_list(csv(W1, W2, W3))
    assert (again.created, again.version, again.rescreen) == (False, 1, None)
    assert node.count(hit) == 1


def test_identical_or_reordered_reimport_creates_no_version(node: Node) -> None:
    node.import_list(csv(W1, W2, W3))
    same = node.import_list(csv(W1, W2, W3))
    reordered = node.import_list(csv(W3, W1, W2))
    assert (same.created, same.version) == (False, 1)
    assert (reordered.created, reordered.version, reordered.added, reordered.changed) == (False, 1, 0, 0)
    assert node.count(watchlist_version) == 1
    [(wl, versions)] = list_watchlists(engine=node.engine)
    assert (wl.name, wl.format, wl.purpose) == ("test-list", "csv", PURPOSE)
    assert [v.version for v in versions] == [1]
    assert versions[0].rescreened_at is not None


def test_changed_entry_rescreens_only_the_delta_and_refreshes_the_open_hit(node: Node) -> None:
    node.save(pnr("AAA111"), pnr("BBB222", traveller("SMITH", "ANNA", dt.date(1980, 1, 2), "X1")))
    node.import_list(csv(W1, W2, W3))
    result = node.import_list(csv(W1_ALIAS, W2, W3, W4))
    assert (result.version, result.added, result.changed, result.removed, result.total) == (2, 1, 1, 0, 4)
    assert result.rescreen is not None
    assert result.rescreen.entries == 2  # W1 (changed) and W4 (added), not the whole list
    assert result.rescreen.travellers == 2
    assert (result.rescreen.hits_new, result.rescreen.hits_refreshed, result.rescreen.withdrawn) == (0, 1, 0)
    h = one(node.hits())
    assert (h.list_version, h.status) == (2, HitStatus.OPEN)
    combos = [e for e in node.entries() if e.operation is Operation.COMBINATION]
    assert combos[-1].reference == "watchlist:test-list:2"
    assert combos[-1].counts["entries.screened"] == 2
    # Only removals: nothing to screen, the rescreen does not touch a single booking.
    shrink = node.import_list(csv(W1_ALIAS, W2, W3))
    assert shrink.rescreen is not None
    assert (shrink.removed, shrink.rescreen.entries, shrink.rescreen.bookings) == (1, 0, 0)


def test_entry_changed_so_it_no_longer_matches_withdraws_the_open_hit(node: Node) -> None:
    node.save(pnr("AAA111"))
    node.import_list(csv(W1, W2))
    result = node.import_list(csv(W1_OTHER, W2))
    assert result.rescreen is not None
    assert (result.changed, result.rescreen.withdrawn) == (1, 1)
    h = one(node.hits())
    assert (h.status, h.list_version, h.reviewed_by) == (HitStatus.WITHDRAWN, 1, ACTOR)


def test_removed_entry_withdraws_its_open_hit_and_readding_reopens_it(node: Node) -> None:
    node.save(pnr("AAA111"))
    node.import_list(csv(W1, W2))
    removed = node.import_list(csv(W2))
    assert (removed.version, removed.removed, removed.withdrawn) == (2, 1, 1)
    h = one(node.hits())
    assert h.status is HitStatus.WITHDRAWN
    assert h.review_reason == "entry removed from list version 2"
    withdrawals = [e for e in node.entries() if e.counts.get("hits.withdrawn")]
    assert [e.record_ids for e in withdrawals] == [(h.id,)]
    assert withdrawals[0].operation is Operation.ALTERATION
    back = node.import_list(csv(W1, W2))
    assert back.rescreen is not None
    assert back.rescreen.hits_new == 1
    h = one(node.hits())
    assert (h.status, h.list_version, h.reviewed_by) == (HitStatus.OPEN, 3, None)


def test_screening_at_ingest_uses_the_current_version_and_skips_duplicates(node: Node) -> None:
    node.import_list(csv(W1, W2))
    outcomes, result = node.save(pnr("AAA111"))
    assert (result.bookings, result.travellers) == (1, 1)
    h = one(result.hits)
    assert (h.list_version, h.booking_id, h.booking_version) == (1, outcomes[0].booking_id, 1)
    _, dup = node.save(pnr("AAA111"))
    assert dup.bookings == 0  # identical push: screened when first stored
    node.import_list(csv(W1_ALIAS, W2))  # the cached screener must be rebuilt
    _, result = node.save(pnr("CCC333"))
    assert one(result.hits).list_version == 2
    _, newer = node.save(pnr("AAA111", remark="NEW VERSION"))
    assert newer.hits == ()  # same match on the same booking: the open hit is refreshed
    assert newer.refreshed == 1
    refreshed = one(node.hits(booking_id=outcomes[0].booking_id))
    assert (refreshed.booking_version, refreshed.list_version) == (2, 2)


# --- review and suppression ----------------------------------------------------------------


def test_dismissal_suppresses_the_same_person_and_entry(node: Node) -> None:
    node.import_list(csv(W1, W2))
    _, first = node.save(pnr("AAA111"))
    dismissed = node.review(one(first.hits).id, ReviewDecision.DISMISS, "different person: checked DOB")
    assert dismissed.status is HitStatus.DISMISSED
    assert node.count(suppression) == 1
    # The same person again: a new version of the booking, another booking, a rescreen.
    _, again = node.save(pnr("AAA111", remark="CHANGED"))
    _, other = node.save(pnr("DDD444"))
    assert (again.hits, again.suppressed, other.hits, other.suppressed) == ((), 1, (), 1)
    unrelated = node.import_list(csv(W1, W2_CHANGED))
    assert unrelated.rescreen is not None
    assert unrelated.rescreen.hits_new == 0
    # Another person with the same name and date of birth (another passport) still hits.
    _, namesake = node.save(pnr("EEE555", traveller(doc="ZZ9999999")))
    assert len(namesake.hits) == 1
    assert node.count(hit) == 2
    # A changed entry says something new about the person: the suppression no longer holds.
    changed = node.import_list(csv(W1_ALIAS, W2_CHANGED))
    assert changed.rescreen is not None
    assert changed.rescreen.hits_new == 2  # DDD444 new, AAA111's dismissed hit reopened
    reopened = one([h for h in node.hits() if h.id == dismissed.id])
    assert (reopened.status, reopened.list_version) == (HitStatus.OPEN, 3)


def test_review_needs_a_reason_and_an_open_hit(node: Node) -> None:
    node.import_list(csv(W1))
    _, result = node.save(pnr("AAA111"))
    hit_id = one(result.hits).id
    with pytest.raises(InputError):
        node.review(hit_id, ReviewDecision.CONFIRM, "   ")
    confirmed = node.review(hit_id, ReviewDecision.CONFIRM, "passport number matches")
    assert (confirmed.status, confirmed.reviewed_by) == (HitStatus.CONFIRMED, "analyst:ana")
    with pytest.raises(ConflictError):
        node.review(hit_id, ReviewDecision.DISMISS)
    assert node.count(suppression) == 0
    # A confirmed hit is a person's decision: a changed entry does not reopen it.
    node.import_list(csv(W1_ALIAS))
    assert one(node.hits()).status is HitStatus.CONFIRMED


def test_traveller_without_birth_date_or_document_gets_no_suppression(node: Node) -> None:
    node.import_list(csv("W9,Jan Kowalski,,,,\n"))
    _, result = node.save(pnr("AAA111", traveller(dob=None, doc="")))
    h = one(result.hits)
    assert h.person_digest is None
    node.review(h.id, ReviewDecision.DISMISS, "no further identifiers; not the listed person")
    assert node.count(suppression) == 0
    review = [e for e in node.entries() if e.reference == h.id]
    assert review[-1].counts == {"hits.dismissed": 1, "suppressions.created": 0}


# --- criteria rules --------------------------------------------------------------------------


def rule(rule_id: str = "R1", **kw: object) -> Rule:
    values: dict[str, object] = {
        "rule_id": rule_id, "version": 0, "name": "cash one-way on XY",
        "expression": 'booking.carrier == "XY" && traveller.type == "A"',
        "purpose": Purpose.ILLICIT_TRAFFICKING_IN_DRUGS, "owner": "unit-drugs",
        "review_date": dt.date(2026, 6, 1), "expires": dt.date(2026, 12, 31),
    }  # fmt: skip
    values.update(kw)
    return Rule(**values)  # type: ignore[arg-type]


def test_rules_are_versioned_and_expired_rules_produce_no_hit(node: Node) -> None:
    assert node.save_rule(rule()).version == 1
    assert node.save_rule(rule()).version == 1  # nothing changed: no new version
    assert node.save_rule(rule(name="renamed")).version == 2
    node.save_rule(rule("OLD", expires=dt.date(2026, 2, 1), review_date=dt.date(2026, 1, 1)))
    with pytest.raises(CriteriaError):
        node.save_rule(rule("BAD", expression='traveller.nationality == "PL"'))
    _, result = node.save(pnr("AAA111", traveller(), traveller("SMITH", "ANNA", ref="2")))
    found = {(h.rule_id, h.rule_version, h.traveller_ref) for h in result.hits}
    assert found == {("R1", 2, "1"), ("R1", 2, "2")}
    assert all(h.kind is HitKind.RULE and h.match_key == "rule:R1" for h in result.hits)
    assert all(h.purpose is Purpose.ILLICIT_TRAFFICKING_IN_DRUGS for h in result.hits)
    _, other = node.save(pnr("BBB222", carrier="ZZ"))
    assert other.hits == ()


def test_rule_statistics_count_hits_and_decisions(node: Node) -> None:
    node.save_rule(rule())
    node.save_rule(rule("OLD", expires=dt.date(2026, 2, 1), review_date=dt.date(2026, 1, 1)))
    _, result = node.save(
        pnr("AAA111", traveller(), traveller("SMITH", "ANNA", ref="2"), traveller("ROE", "JO", ref="3"))
    )
    a, b, _ = sorted(result.hits, key=lambda h: h.traveller_ref)
    node.review(a.id, ReviewDecision.CONFIRM, "known courier pattern")
    node.review(b.id, ReviewDecision.DISMISS, "business traveller, explained")
    stats = {s.rule.rule_id: s for s in rule_statistics(dt.date(2026, 3, 1), engine=node.engine)}
    r1 = stats["R1"]
    assert (r1.hits, r1.open, r1.confirmed, r1.dismissed) == (3, 1, 1, 1)
    assert (r1.active, r1.needs_review, r1.confirmed_rate) == (True, False, 0.5)
    old = stats["OLD"]
    assert (old.active, old.needs_review, old.hits) == (False, True, 0)
    later = {s.rule.rule_id: s for s in rule_statistics(dt.date(2026, 6, 1), engine=node.engine)}
    assert later["R1"].needs_review


# --- what is stored and logged --------------------------------------------------------------


def test_hit_rows_and_audit_entries_hold_no_personal_content(node: Node) -> None:
    node.save_rule(rule())
    node.save(pnr("AAA111", traveller(surname="KOWALSKI", given="JAN", doc="EA1234567")))
    result = node.import_list(csv(W1, W2))
    assert result.rescreen is not None
    _, _screened = node.save(pnr("BBB222", traveller(surname="KOWALSKI", given="JAN", doc="EB7654321")))
    hits = node.hits()
    assert {h.kind for h in hits} == {HitKind.WATCHLIST, HitKind.RULE}
    node.review(hits[0].id, ReviewDecision.DISMISS, "checked")
    open_hit(hits[1].id, actor="analyst:ana", engine=node.engine, keystore=node.keystore, audit=node.audit)
    personal = ["KOWALSKI", "Kowalski", "JAN", "Jan ", "1970-05-04", "19700504", "EA1234567", "EB7654321"]
    with node.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(hit))]
        sup = [dict(r._mapping) for r in conn.execute(select(suppression))]
    assert rows
    assert sup
    for row in rows + sup:
        for column, value in row.items():
            text = value.hex() if isinstance(value, bytes) else repr(value)
            for word in personal:
                assert word not in text, (column, word)
    for entry in node.entries():
        blob = entry.canonical_bytes().decode()
        for word in personal:
            assert word not in blob, (entry.operation, word)


def test_every_operation_is_audited_under_the_purpose_it_served(node: Node) -> None:
    node.save_rule(rule())
    node.import_list(csv(W1))
    _, result = node.save(pnr("AAA111"))
    list_hit = one([h for h in result.hits if h.kind is HitKind.WATCHLIST])
    node.review(list_hit.id, ReviewDecision.CONFIRM, "confirmed")
    view = open_hit(
        list_hit.id, actor="analyst:ana", engine=node.engine, keystore=node.keystore, audit=node.audit
    )
    assert view.entry is not None
    assert view.entry.entity_id == "W1"
    entries = node.entries()
    drugs = Purpose.ILLICIT_TRAFFICKING_IN_DRUGS
    seen = {(e.operation, e.purpose, e.actor) for e in entries}
    assert (Operation.ALTERATION, drugs, "analyst:owner") in seen  # rule saved
    assert (Operation.ALTERATION, PURPOSE, ACTOR) in seen  # list version imported
    assert (Operation.COMBINATION, PURPOSE, "system:screening") in seen  # screened at ingest
    assert (Operation.COMBINATION, drugs, "system:screening") in seen
    assert (Operation.ALTERATION, PURPOSE, "analyst:ana") in seen  # review
    assert (Operation.CONSULTATION, PURPOSE, "analyst:ana") in seen  # hit opened
    imported = next(
        e for e in entries if e.reference == "watchlist:test-list:1" and e.operation is Operation.ALTERATION
    )
    assert imported.counts == {
        "entries.added": 1, "entries.changed": 0, "entries.removed": 0, "entries.total": 1
    }  # fmt: skip
    ingest_combination = next(
        e
        for e in entries
        if e.operation is Operation.COMBINATION and e.purpose is PURPOSE and e.actor == "system:screening"
    )
    assert list_hit.id in ingest_combination.record_ids
    assert list_hit.booking_id in ingest_combination.record_ids


def test_interrupted_rescreen_is_resumed_by_importing_the_same_file(node: Node) -> None:
    node.save(pnr("AAA111"))
    first = node.import_list(csv(W1))
    assert first.rescreen is not None
    with node.engine.begin() as conn:
        conn.execute(update(watchlist_version).values(rescreened_at=None))
        conn.execute(hit.delete())
    resumed = node.import_list(csv(W1))
    assert (resumed.created, resumed.version) == (False, 1)
    assert resumed.rescreen is not None
    assert resumed.rescreen.hits_new == 1


def test_list_format_and_purpose_are_fixed_at_creation(node: Node) -> None:
    with pytest.raises(InputError):
        node.import_list(csv(W1), purpose=None)
    with pytest.raises(InputError):
        node.import_list(csv(W1), name="Bad Name")
    node.import_list(csv(W1))
    with pytest.raises(ConflictError):
        node.import_list(csv(W1), purpose=Purpose.CYBERCRIME)
    with pytest.raises(ConflictError):
        node.import_list(b'{"id": "x", "schema": "Person", "properties": {"name": ["A B"]}}\n')
    assert node.import_list(csv(W1, W2), purpose=None).version == 2  # purpose kept


# --- a real list -----------------------------------------------------------------------------


def test_ofac_end_to_end(node: Node, shared_dir: Path) -> None:
    listed = traveller("ALZAWAHIRI", "AYMAN DR", dt.date(1951, 6, 19), "1084010")
    innocent = traveller("MUELLER", "ANNA", dt.date(1988, 3, 3), "C01X00T47", ref="2")
    node.save(pnr("AAA111", listed, innocent))  # stored before the list: found by the rescreen
    result = node.import_list(shared_dir / "data" / "ofac-sdn-2024-05-03.csv", name="ofac-sdn", fmt="ofac")
    assert result.total > 5000
    assert result.rescreen is not None
    assert result.rescreen.hits_new == 1
    by_rescreen = one(node.hits())
    assert (by_rescreen.entity_id, by_rescreen.list_version, by_rescreen.traveller_ref) == ("2676", 1, "1")
    _, at_ingest = node.save(pnr("BBB222", dataclasses.replace(listed, given_names="AIMAN")))
    h = one(at_ingest.hits)  # a spelling variant, found at ingest
    assert (h.entity_id, h.match_key) == ("2676", "list:ofac-sdn:2676")
    features = dict(h.features)
    assert features["document"] > 0
    assert features["dob"] > 0
    view = open_hit(h.id, actor="analyst:ana", engine=node.engine, keystore=node.keystore, audit=node.audit)
    assert view.traveller.given_names == "AIMAN"
    assert view.entry is not None
    assert "ZAWAHIRI" in view.entry.name
    assert view.explanation.startswith("ofac-sdn 2676: ")
    assert "passport" in view.explanation or "document" in view.explanation


# --- command line --------------------------------------------------------------------------


def test_cli_watchlist_and_criteria(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from pnrguard.cli import app

    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'pnrguard.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "var" / "keys.json"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    listed = tmp_path / "list.csv"
    listed.write_bytes(csv(W1, W2))

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    code, _, err = run("watchlist", "import", str(listed), "--name", "local")
    assert (code, "give the purpose" in err) == (2, True)
    code, out, _ = run(
        "watchlist", "import", str(listed), "--name", "local", "--purpose", "terrorist_offences"
    )
    assert code == 0
    assert "entries added" in out
    code, out, _ = run("watchlist", "import", str(listed), "--name", "local", "--format", "csv")
    assert (code, "no (nothing changed)" in out) == (0, True)
    code, out, _ = run("watchlist", "list", "--format", "csv")
    assert code == 0
    assert out.splitlines()[1].startswith("local,csv,terrorist_offences,1,")

    rule_file = tmp_path / "r1.toml"
    rule_file.write_text(
        'rule_id = "R1"\nname = "one way on XY"\nexpression = \'booking.carrier == "XY"\'\n'
        'purpose = "illicit_trafficking_in_drugs"\nowner = "drugs-unit"\n'
        "review_date = 2026-06-01\nexpires = 2027-01-01\n"
    )
    code, out, _ = run("criteria", "add", str(rule_file))
    assert (code, out.strip()) == (0, "rule R1 version 1")
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"rule_id": "R2", "name": "n", "expression": "traveller.nationality == \\"PL\\"", "owner": "o",'
        ' "purpose": "illicit_trafficking_in_drugs", "review_date": "2026-06-01", "expires": "2027-01-01"}'
    )
    code, _, err = run("criteria", "add", str(bad))
    assert (code, "not in the criteria view" in err) == (2, True)
    code, out, _ = run("criteria", "disable", "R1")
    assert (code, out.strip()) == (0, "rule R1 version 2 disabled")
    code, out, _ = run("criteria", "stats", "--today", "2026-07-01", "--format", "csv")
    assert code == 0
    assert out.splitlines()[1] == "R1,2,drugs-unit,illicit_trafficking_in_drugs,disabled,yes,0,0,0,0,"
    code, out, _ = run("criteria", "list")
    assert (code, "disabled" in out) == (0, True)


# --- a new rule version and the stored bookings ----------------------------------------------


def departing(b: Booking, day: dt.date) -> Booking:
    assert b.reported_flight is not None
    leg = dataclasses.replace(b.reported_flight, departure=dt.datetime.combine(day, dt.time(9, 15)))
    return dataclasses.replace(b, reported_flight=leg, itinerary=[dataclasses.replace(leg)])


ACTOR_OWNER = "analyst:owner"


def save_rule_rescreening(node: Node, r: Rule) -> Rule:
    return save_rule(
        r, actor=ACTOR_OWNER, engine=node.engine, audit=node.audit, clock=node.clock,
        keystore=node.keystore, batch_size=2,
    )  # fmt: skip


def test_new_rule_screens_stored_bookings_whose_flight_has_not_departed(node: Node) -> None:
    today = T0.date()
    outcomes, _ = node.save(
        departing(pnr("FUT111"), today + dt.timedelta(days=2)),
        departing(pnr("TOD222"), today),  # departs today: still before departure
        departing(pnr("PST333"), today - dt.timedelta(days=1)),  # departed: not re-assessed
        departing(pnr("OTH444", carrier="ZZ"), today + dt.timedelta(days=2)),
    )
    future, same_day, past, other = (o.booking_id for o in outcomes)
    assert node.hits() == []
    stored = save_rule_rescreening(node, rule())
    hits = node.hits()
    assert {h.booking_id for h in hits} == {future, same_day}
    assert all((h.rule_id, h.rule_version, h.status) == ("R1", 1, HitStatus.OPEN) for h in hits)
    combos = [e for e in node.entries() if e.operation is Operation.COMBINATION]
    assert len(combos) == 2  # batches of 2 over the 3 bookings not departed
    assert {(e.purpose, e.reference, e.actor) for e in combos} == {(stored.purpose, "rule:R1:1", ACTOR_OWNER)}
    screened = {i for e in combos for i in e.record_ids}
    assert {future, same_day, other} <= screened
    assert past not in screened
    assert sum(e.counts["bookings.screened"] for e in combos) == 3
    assert sum(e.counts["hits.new"] for e in combos) == 2

    # Only the review date changes: the open hits are brought up to the new version, not doubled.
    assert save_rule_rescreening(node, rule(review_date=dt.date(2026, 5, 1))).version == 2
    again = node.hits()
    assert [h.id for h in again] == [h.id for h in hits]
    assert {(h.rule_version, h.status) for h in again} == {(2, HitStatus.OPEN)}
    # Saving the same version again stores nothing and screens nothing.
    entries = len(node.entries())
    save_rule_rescreening(node, rule(review_date=dt.date(2026, 5, 1)))
    assert len(node.entries()) == entries


def test_rule_rescreen_keeps_decisions_and_skips_inactive_versions(node: Node) -> None:
    node.save(pnr("AAA111"), pnr("BBB222", traveller("SMITH", "ANNA", dt.date(1980, 1, 2), "X1")))
    save_rule_rescreening(node, rule())
    first, second = node.hits()
    node.review(first.id, ReviewDecision.CONFIRM, "known pattern")
    node.review(second.id, ReviewDecision.DISMISS, "explained")
    save_rule_rescreening(node, rule(name="renamed"))
    assert {(h.id, h.status, h.rule_version) for h in node.hits()} == {
        (first.id, HitStatus.CONFIRMED, 1), (second.id, HitStatus.DISMISSED, 1)
    }  # fmt: skip
    entries = len(node.entries())
    save_rule_rescreening(node, rule(name="renamed", enabled=False))  # a disabled version: no run
    assert [e.operation for e in node.entries()[entries:]] == [Operation.ALTERATION]
