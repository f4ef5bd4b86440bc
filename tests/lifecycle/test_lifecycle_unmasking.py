"""Unmasking after 6 months: refused without a prior judicial approval, refused outside the
approval's records, requester, purpose and window; allowed inside, audited, DPO notified."""

from __future__ import annotations

import datetime as dt

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation
from pnrguard.errors import ConflictError, ForbiddenError, InputError
from pnrguard.protection.retention import EU_US_2012
from pnrguard.service.dpo import approvals, approvals_csv, notifications
from pnrguard.service.unmasking import (
    Principal,
    approve_unmasking,
    can_see_identity,
    request_unmasking,
    unmask_view,
)

pytestmark = pytest.mark.storage

ANALYST = Principal("analyst7", frozenset({"analyst"}))
OTHER = Principal("analyst8", frozenset({"analyst"}))
JUDGE = Principal("judge1", frozenset({"judicial"}))
SENIOR = Principal("judge2", frozenset({"judicial_senior"}))
PURPOSE = "illicit_trafficking_in_drugs"
REASON = "Courier pattern on route FRA-JFK; case file 2026/118 names this booking."
MASKED_AT = T0 + dt.timedelta(days=200)


def _masked(w: World, n: int = 2) -> list[str]:
    ids = [w.save(pnr(f"UNM{i:03d}", [person("1", f"SURNAME{i}", doc=f"D{i:06d}")])) for i in range(n)]
    w.clock.set(MASKED_AT)
    assert w.run().masked == n
    return ids


def _request(w: World, ids: list[str], **kw: object) -> str:
    args: dict[str, object] = {
        "requester": ANALYST,
        "purpose": PURPOSE,
        "case_reference": "CASE-2026-118",
        "reason": REASON,
        "booking_ids": ids,
        "valid_from": MASKED_AT + dt.timedelta(days=1),
        "valid_until": MASKED_AT + dt.timedelta(days=8),
    }
    args.update(kw)
    return request_unmasking(engine=w.engine, keystore=w.ks, clock=w.clock, **args)  # type: ignore[arg-type]


def _view(w: World, bid: str, user: Principal = ANALYST, purpose: str = PURPOSE) -> object:
    return unmask_view(
        bid, user=user, purpose=purpose, engine=w.engine, keystore=w.ks, audit=w.audit, clock=w.clock
    )


def test_refused_without_approval_then_allowed_only_within_scope_and_window(engine: Engine) -> None:
    w = World(engine)
    a, b = _masked(w)
    with pytest.raises(ForbiddenError):  # no request at all
        _view(w, a)
    rid = _request(w, [a])
    w.clock.set(MASKED_AT + dt.timedelta(days=2))
    with pytest.raises(ForbiddenError):  # requested, not yet approved
        _view(w, a)
    assert not can_see_identity(a, user=ANALYST, purpose=PURPOSE, engine=engine, clock=w.clock)

    approve_unmasking(
        rid,
        judge=JUDGE,
        decision="approved",
        reason="Necessary and proportionate.",
        engine=engine, keystore=w.ks,
        audit=w.audit,
        clock=w.clock,
    )
    full = _view(w, a)
    assert full.travellers[0].surname == "SURNAME0"  # type: ignore[attr-defined]
    assert can_see_identity(a, user=ANALYST, purpose=PURPOSE, engine=engine, clock=w.clock)
    for bid, user, purpose in (
        (b, ANALYST, PURPOSE),  # a booking the approval does not name
        (a, OTHER, PURPOSE),  # another user
        (a, ANALYST, "fraud"),  # another purpose
    ):
        assert not can_see_identity(bid, user=user, purpose=purpose, engine=engine, clock=w.clock)
        with pytest.raises(ForbiddenError):
            _view(w, bid, user, purpose)
    w.clock.set(MASKED_AT + dt.timedelta(days=8))  # window ended (valid_until is exclusive)
    with pytest.raises(ForbiddenError):
        _view(w, a)

    unm = [e for e in w.entries(Operation.UNMASKING) if "unmasking.view" in e.counts]
    cons = [e for e in w.entries(Operation.CONSULTATION) if e.reference == rid]
    assert [(e.actor, e.record_ids, e.reference) for e in unm] == [("analyst7", (a,), rid)]
    assert [(e.actor, e.record_ids) for e in cons] == [("analyst7", (a,))]
    refusals = w.entries(Operation.REFUSAL)
    assert len(refusals) == 6
    assert all(e.counts == {"unmasking.refused": 1} for e in refusals)
    decisions = [e for e in w.entries(Operation.UNMASKING) if "unmasking.approved" in e.counts]
    assert [(e.actor, e.role, e.reference) for e in decisions] == [("judge1", "judicial", rid)]
    for e in w.entries():  # no personal data in the log
        assert "SURNAME" not in repr(e)
        assert "D00000" not in repr(e)
        assert "Courier" not in repr(e)

    notes = notifications(engine, pending_only=True)
    assert [(n.kind, n.reference) for n in notes] == [("unmasking_approved", rid)]
    [rec] = approvals(engine)
    assert (rec.request_id, rec.status, rec.judge, rec.bookings, rec.views) == (
        rid,
        "approved",
        "judge1",
        1,
        1,
    )
    csv_text = approvals_csv([rec])
    assert rid in csv_text
    assert REASON not in csv_text


def test_approval_rules(engine: Engine) -> None:
    w = World(engine)
    (a,) = _masked(w, 1)
    rid = _request(w, [a])
    with pytest.raises(ForbiddenError):  # an analyst is no judicial authority
        approve_unmasking(
            rid, judge=OTHER, decision="approved", reason="ok", engine=engine,
            keystore=w.ks, audit=w.audit, clock=w.clock
        )
    selfish = Principal("analyst7", frozenset({"judicial"}))
    with pytest.raises(ForbiddenError):  # nobody approves their own request
        approve_unmasking(
            rid, judge=selfish, decision="approved", reason="ok", engine=engine,
            keystore=w.ks, audit=w.audit, clock=w.clock
        )
    approve_unmasking(
        rid,
        judge=JUDGE,
        decision="rejected",
        reason="Not necessary.",
        engine=engine, keystore=w.ks,
        audit=w.audit,
        clock=w.clock,
    )
    with pytest.raises(ConflictError):
        approve_unmasking(
            rid,
            judge=JUDGE,
            decision="approved",
            reason="changed my mind",
            engine=engine, keystore=w.ks,
            audit=w.audit,
            clock=w.clock,
        )
    w.clock.set(MASKED_AT + dt.timedelta(days=2))
    with pytest.raises(ForbiddenError):  # rejected
        _view(w, a)
    assert [n.kind for n in notifications(engine)] == ["unmasking_rejected"]
    # Requests that are not duly reasoned, or not for a masked booking, are refused up front.
    with pytest.raises(InputError):
        _request(w, [a], reason="because")
    with pytest.raises(InputError):
        _request(w, [a], purpose="ingest")
    with pytest.raises(InputError):
        _request(w, [a], valid_until=MASKED_AT + dt.timedelta(days=200))
    active = w.save(pnr("ACT001", [person("1", "ACTIVE")]))
    with pytest.raises(InputError):
        _request(w, [active])


def test_dormant_bookings_need_a_senior_approval(engine: Engine) -> None:
    w = World(engine)
    a = w.save(pnr("DORM01", [person("1", "DORMANT")]))
    w.clock.set(T0.replace(year=T0.year + 5, month=2))
    s = w.run(EU_US_2012)
    assert s.dormant == 1
    start = w.clock.now()
    rid = _request(w, [a], valid_from=start, valid_until=start + dt.timedelta(days=5))
    with pytest.raises(ForbiddenError):
        approve_unmasking(
            rid, judge=JUDGE, decision="approved", reason="ok", engine=engine,
            keystore=w.ks, audit=w.audit, clock=w.clock
        )
    approve_unmasking(
        rid,
        judge=SENIOR,
        decision="approved",
        reason="Exceptional necessity.",
        engine=engine, keystore=w.ks,
        audit=w.audit,
        clock=w.clock,
    )
    assert _view(w, a).travellers[0].surname == "DORMANT"  # type: ignore[attr-defined]


def test_the_workspace_seam_takes_an_account_with_one_role(engine: Engine) -> None:
    """`service.review.can_see_identity` delegates to `can_see_identity_on` with its
    `Account` (one `role`); `read_visible` then returns the full booking and the request."""
    from types import SimpleNamespace

    from pnrguard.service.unmasking import can_see_identity_on, read_visible

    w = World(engine)
    (a,) = _masked(w, 1)
    account = SimpleNamespace(id="analyst7", role="analyst")
    judge = SimpleNamespace(id="judge9", role="judicial")
    rid = _request(w, [a])
    approve_unmasking(
        rid, judge=judge, decision="approved", reason="ok", engine=engine,
        keystore=w.ks, audit=w.audit, clock=w.clock
    )
    inside = MASKED_AT + dt.timedelta(days=3)
    with engine.connect() as conn:
        assert can_see_identity_on(a, user=account, purpose=PURPOSE, conn=conn, now=inside)
        assert not can_see_identity_on(a, user=account, purpose=PURPOSE, conn=conn, now=MASKED_AT)
        b, covering = read_visible(conn, w.ks, a, user=account, purpose=PURPOSE, now=inside)
        assert (b.travellers[0].surname, covering) == ("SURNAME0", rid)
        with pytest.raises(ForbiddenError):
            read_visible(conn, w.ks, a, user=account, purpose=PURPOSE, now=MASKED_AT)
