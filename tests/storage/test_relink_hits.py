"""Issue 12 §1, on SQLite and PostgreSQL: one hit per person, flight and list entry also when
records are linked *after* screening. A rectification that moves a record to the traveller
of the other source, or an index backfill that links records stored before linking, leaves
the person one hit: the second open hit attaches to it as a second source does at ingest
(and shows its decision when it has one), the collapse is in the audit log (ids and counts
only), and a later rescreen of the record does not reopen the collapsed hit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Purpose
from pnrguard.service.hit_review import review_hit
from pnrguard.service.index_rebuild import Mode, walk_index
from pnrguard.service.ingest import opaque
from pnrguard.service.rights import apply_rectification, request_rectification
from pnrguard.service.screening import import_watchlist
from pnrguard.service.system_reasons import COLLAPSED, system_reason
from pnrguard.store.audit import audit_entry
from pnrguard.store.screening import hit
from pnrguard.store.traveller import hit_source, search_token, traveller_member
from traveller_builders import DOB, SENSITIVE, Node, person

pytestmark = pytest.mark.storage

WRONG = dt.date(1990, 5, 5)
#: A name-only entry: the PNR and the API record both match it, whatever their birth dates.
LIST = b"entity_id,name,aliases,dob,nationality,documents\nE1,TAVAKOLI Davoud,,,CN,\n"


def _import(node: Node, data: bytes) -> None:
    import_watchlist(
        data, name="national", fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, actor="operator:test",
    )  # fmt: skip


@pytest.fixture
def node(engine: Engine) -> Node:
    n = Node(engine)
    _import(n, LIST)
    return n


def _hits(node: Node) -> dict[str, tuple[str, str, str, str | None]]:
    """hit id -> (booking id, status, traveller id, review reason)."""
    with node.engine.connect() as conn:
        rows = conn.execute(select(hit).where(hit.c.match_key == "list:national:E1")).all()
    return {r.id: (r.booking_id, r.status, r.traveller_id, r.review_reason) for r in rows}


def _sources(node: Node, hit_id: str) -> set[str]:
    with node.engine.connect() as conn:
        q = select(hit_source.c.booking_id).where(hit_source.c.hit_id == hit_id)
        return set(conn.execute(q).scalars())


def _rectify(node: Node, booking_id: str, path: str, value: str) -> str:
    rid = request_rectification(
        dpo="dpo1", booking_id=booking_id, field_path=path, channel="letter", engine=node.engine,
        clock=node.clock,
    )  # fmt: skip
    apply_rectification(
        rid, dpo="dpo1", value=value, reason="The traveller's passport shows it.", engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, sensitive_filter=SENSITIVE,
    )  # fmt: skip
    return rid


def _collapse_entries(node: Node) -> list[tuple[str, str, list[str], dict[str, int], str | None]]:
    with node.engine.connect() as conn:
        rows = conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all()
    return [
        (r.actor, r.purpose, json.loads(r.record_ids), json.loads(r.counts), r.reference)
        for r in rows
        if "hits.collapsed" in json.loads(r.counts)
    ]


def _two_people(node: Node) -> tuple[str, str, str, str]:
    """A PNR and an API record of one person, apart (the PNR's birth date is wrong), each
    with its open hit: (pnr, api, pnr hit, api hit)."""
    pnr = node.pnr("RLH001", [person("1", "TAVAKOLI", "DAVOUD", WRONG)])
    [api] = node.api([person("1", "TAVAKOLI", "DAVOUD", DOB)])
    ref = node.ref_of(api, "TAVAKOLI", "DAVOUD")
    assert node.traveller(pnr, "1") != node.traveller(api, ref)
    by_booking = {b: h for h, (b, status, _, _) in _hits(node).items() if status == "open"}
    assert set(by_booking) == {pnr, api}  # two travellers, two open hits
    return pnr, api, by_booking[pnr], by_booking[api]


def _review(node: Node, hit_id: str, decision: str) -> None:
    review_hit(
        hit_id, reviewer="analyst1", decision=decision, reason="Checked against the file.",
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip


def test_a_rectification_that_links_two_open_hits_leaves_the_person_one(node: Node) -> None:
    pnr, api, pnr_hit, api_hit = _two_people(node)
    rid = _rectify(node, pnr, "travellers.0.date_of_birth", DOB.isoformat())
    person_id = node.traveller(api, node.ref_of(api, "TAVAKOLI", "DAVOUD"))
    assert node.traveller(pnr, "1") == person_id
    hits = _hits(node)
    # The older hit (the PNR's, screened first) is the person's; the API record's match is
    # attached to it as at ingest, and its own hit is closed, naming the host.
    assert [h for h, (_, status, _, _) in hits.items() if status == "open"] == [pnr_hit]
    assert hits[api_hit][1:] == ("withdrawn", person_id, system_reason(COLLAPSED, host=pnr_hit))
    assert {t for _, _, t, _ in hits.values()} == {person_id}
    assert _sources(node, pnr_hit) == {api}
    # Logged: who (the DPO's opaque id), why (the request), which records; counts only.
    [(actor, purpose, ids, counts, reference)] = _collapse_entries(node)
    assert purpose == Purpose.DATA_SUBJECT_REQUEST.value
    assert reference == rid
    assert actor == opaque("dpo1")  # as in the rectification's own entry
    assert set(ids) == {pnr_hit, api_hit, api}
    assert counts == {"hits.collapsed": 1}

    # The entry changes (an alias): the rescreen matches both records again; the API
    # record's match attaches to the person's hit, the collapsed hit is not reopened.
    _import(node, LIST.replace(b"TAVAKOLI Davoud,,", b"TAVAKOLI Davoud,TAVAKOLI Davud,"))
    again = _hits(node)
    assert [h for h, (_, status, _, _) in again.items() if status == "open"] == [pnr_hit]
    assert again[api_hit][1] == "withdrawn"
    assert _sources(node, pnr_hit) == {api}


@pytest.mark.parametrize(("decision", "status"), [("confirm", "confirmed"), ("dismiss", "dismissed")])
def test_an_open_hit_joining_a_decided_one_shows_the_decision(node: Node, decision: str, status: str) -> None:
    pnr, _, pnr_hit, api_hit = _two_people(node)
    _review(node, api_hit, decision)  # the API record's hit was decided before the link
    _rectify(node, pnr, "travellers.0.date_of_birth", DOB.isoformat())
    hits = _hits(node)
    # A decision covers the person: the open hit attaches to the decided one, although
    # that one is younger; nothing of the person is left open.
    assert hits[api_hit][1] == status
    assert hits[pnr_hit][1:] == ("withdrawn", hits[api_hit][2], system_reason(COLLAPSED, host=api_hit))
    assert _sources(node, api_hit) == {pnr}
    [(_, _, ids, counts, _)] = _collapse_entries(node)
    assert set(ids) == {api_hit, pnr_hit, pnr}
    assert counts == {"hits.collapsed": 1}


@pytest.mark.parametrize("rectified", ["pnr", "api"])
@pytest.mark.parametrize("decision", [None, "confirm", "dismiss"])
def test_records_a_rectification_parts_each_get_their_own_hit(
    node: Node, rectified: str, decision: str | None
) -> None:
    pnr = node.pnr("RLH002", [person("1", "TAVAKOLI", "DAVOUD", DOB)])
    [api] = node.api([person("1", "TAVAKOLI", "DAVOUD", DOB)])
    api_ref = node.ref_of(api, "TAVAKOLI", "DAVOUD")
    [(only, (_, status, _, _))] = _hits(node).items()  # linked at ingest: one hit
    assert status == "open"
    assert _sources(node, only) == {api}
    if decision:
        _review(node, only, decision)
    before = _hits(node)[only][1]
    for path in ("travellers.0.date_of_birth", "travellers.0.documents.0.date_of_birth"):
        _rectify(node, pnr if rectified == "pnr" else api, path, WRONG.isoformat())
    pnr_person, api_person = node.traveller(pnr, "1"), node.traveller(api, api_ref)
    assert pnr_person != api_person
    hits = _hits(node)
    # The PNR record's hit keeps its status and is the PNR person's; the API record's match
    # no longer hangs on it (a decision about one person covers no stranger) ...
    assert hits[only][1:3] == (before, pnr_person)
    assert _sources(node, only) == set()
    # ... it is screened again on its own: an open hit of the API person, explained; unless
    # its identity, unchanged, is the very one an analyst dismissed for this entry (the
    # dismissal's suppression covers it, as it would at ingest).
    own = [(h, v) for h, v in hits.items() if v[0] == api]
    if decision == "dismiss" and rectified == "pnr":
        assert own == []
        return
    [(api_hit, (_, status, person_id, _))] = own
    assert (status, person_id) == ("open", api_person)
    with node.engine.connect() as conn:
        features = conn.execute(select(hit.c.features).where(hit.c.id == api_hit)).scalar_one()
    assert features  # its own contributions, shown on its page
    assert _collapse_entries(node) == []


def _as_before_linking(node: Node, booking_id: str) -> None:
    """The state of a booking stored before the index and linking existed (0015)."""
    with node.engine.begin() as conn:
        conn.execute(delete(search_token).where(search_token.c.booking_id == booking_id))
        conn.execute(delete(traveller_member).where(traveller_member.c.booking_id == booking_id))
        conn.execute(update(hit).where(hit.c.booking_id == booking_id).values(traveller_id=None))


def test_an_index_backfill_that_links_two_sources_leaves_one_hit(node: Node) -> None:
    pnr = node.pnr("RLH003", [person("1", "TAVAKOLI", "DAVOUD", DOB)])
    _as_before_linking(node, pnr)  # the API list then finds nobody to link to
    [api] = node.api([person("1", "TAVAKOLI", "DAVOUD", DOB)])
    _as_before_linking(node, api)
    by_booking = {b: h for h, (b, _, _, _) in _hits(node).items()}
    assert set(by_booking) == {pnr, api}

    result = walk_index(
        Mode.BACKFILL, engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock
    )
    assert result.finished
    ref = node.ref_of(api, "TAVAKOLI", "DAVOUD")
    person_id = node.traveller(pnr, "1")
    assert node.traveller(api, ref) == person_id
    hits = _hits(node)
    assert {t for _, _, t, _ in hits.values()} == {person_id}  # the old hits joined the traveller
    assert [h for h, (_, status, _, _) in hits.items() if status == "open"] == [by_booking[pnr]]
    assert _sources(node, by_booking[pnr]) == {api}
    [(actor, purpose, ids, counts, reference)] = _collapse_entries(node)
    assert (actor, purpose, reference) == ("pnrguard-index", Purpose.INGEST.value, "index-backfill")
    assert set(ids) == {by_booking[pnr], by_booking[api], api}
    assert counts == {"hits.collapsed": 1}


def test_rectifying_a_record_stored_before_linking_links_its_hit_too(node: Node) -> None:
    pnr = node.pnr("RLH004", [person("1", "TAVAKOLI", "DAVOUD", DOB)])
    _as_before_linking(node, pnr)
    [api] = node.api([person("1", "TAVAKOLI", "DAVOUD", DOB)])  # nothing to link to: its own hit
    by_booking = {b: h for h, (b, _, _, _) in _hits(node).items()}
    _rectify(node, pnr, "travellers.0.given_names", "DAVOUD")  # re-indexed and linked now
    person_id = node.traveller(api, node.ref_of(api, "TAVAKOLI", "DAVOUD"))
    assert node.traveller(pnr, "1") == person_id
    hits = _hits(node)
    assert {t for _, _, t, _ in hits.values()} == {person_id}
    assert [h for h, (_, status, _, _) in hits.items() if status == "open"] == [by_booking[pnr]]
    assert _sources(node, by_booking[pnr]) == {api}


def test_decisions_that_disagree_are_both_kept(node: Node) -> None:
    pnr, _, pnr_hit, api_hit = _two_people(node)
    _review(node, pnr_hit, "confirm")
    _review(node, api_hit, "dismiss")
    _rectify(node, pnr, "travellers.0.date_of_birth", DOB.isoformat())
    hits = _hits(node)
    assert (hits[pnr_hit][1], hits[api_hit][1]) == ("confirmed", "dismissed")  # records of decisions
    assert _collapse_entries(node) == []


def test_a_dismissal_of_an_entry_that_changed_since_does_not_cover_the_open_hit(node: Node) -> None:
    pnr, _, pnr_hit, api_hit = _two_people(node)
    _review(node, api_hit, "dismiss")
    with node.engine.begin() as conn:  # dismissed under an earlier content of the entry
        conn.execute(update(hit).where(hit.c.id == api_hit).values(fingerprint="0" * 64))
    _rectify(node, pnr, "travellers.0.date_of_birth", DOB.isoformat())
    hits = _hits(node)
    assert (hits[pnr_hit][1], hits[api_hit][1]) == ("open", "dismissed")  # left for a reviewer
    assert _collapse_entries(node) == []
