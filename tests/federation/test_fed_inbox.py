"""The exchange inbox between two real nodes (each its own `pnrguard peers serve` process):
counts of what waits, the purpose-bound search under a peer's request, choosing records,
the answer shown at the requester like a booking, read marks, receipts; and the
administrator's carrier credentials (issued, rotated, revoked; audited; token shown once)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fed_env import Member, make_member, start, stop, trust, wait_ready
from markupsafe import escape

from live_server import live_server
from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import ForbiddenError
from pnrguard.exchange.messages import Evaluation, Subject
from pnrguard.formats.synth import generate
from pnrguard.service import accounts, carrier_admin, peer_answers
from pnrguard.service import exchange as svc
from pnrguard.service import exchange_inbox as inbox
from pnrguard.service.accounts import Role
from pnrguard.service.exchange_payload import shown_reason
from pnrguard.service.review import ReviewPolicy
from pnrguard.store import exchange as store
from pnrguard.store import exchange_inbox as inbox_store
from pnrguard.store.repository import BookingRepository
from pnrguard.store.texts import is_sealed
from pnrguard.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from workspace_env import ENGINES, csrf_from, login

pytestmark = [pytest.mark.storage, pytest.mark.e2e]

REASONING = "Ticket paid with a card reported stolen; same itinerary as two seized couriers."
REASON = "The traveller's booking matches the subject's name and flight date."


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Member, Member]]:
    base = tmp_path_factory.mktemp("inbox")
    a = make_member(base, "a.piu", f"sqlite:///{base / 'a.db'}", country="AT")
    b = make_member(base, "b.piu", f"sqlite:///{base / 'b.db'}", country="BE")
    try:
        trust(a, b)
        trust(b, a)
        for push in generate(7, flights=1, base_date=dt.date.today() + dt.timedelta(days=3)):
            a.node.ingest(push.pnrgov.encode("utf-8"))
        start(a)
        start(b)
        wait_ready(a)
        wait_ready(b)
        yield a, b
    finally:
        for m in (a, b):
            stop(m)
            m.close()


def _a_traveller(m: Member) -> tuple[str, str, dt.date]:
    """(booking id, surname, flight date) of a booking on `m` with a named traveller."""
    with m.node.engine.connect() as conn:
        repo = BookingRepository(conn, m.node.keystore)
        for bid in conn.exec_driver_sql("SELECT id FROM booking ORDER BY id").scalars():
            b = repo.get(bid)
            if b.travellers and b.travellers[0].surname and b.itinerary and b.itinerary[0].departure:
                return bid, b.travellers[0].surname, b.itinerary[0].departure.date()
    raise AssertionError("no named traveller")


def test_request_searched_chosen_answered_and_shown_like_a_booking(pair: tuple[Member, Member]) -> None:
    a, b = pair
    booking_id, surname, day = _a_traveller(a)
    before = inbox.inbox_counts(a.node)
    sent = svc.send_request(
        user=b.users[Role.ANALYST],
        peer_name="a.piu",
        subject=Subject(kind="person", surname=surname, flight_date=day),
        purpose=Purpose.TERRORIST_OFFENCES,
        case_ref="BE-INBOX-1",
        legal_basis="Art. 9(2)",
        reasoning=REASONING,
        node=b.node,
        client=b.client(),
    )
    assert sent.status == "sent"
    assert sent.peer_message_id is not None  # the peer's signed receipt
    request_id = sent.peer_message_id

    # A: one more request waits; the folder lists it from metadata only.
    counts = inbox.inbox_counts(a.node)
    assert counts.requests == before.requests + 1
    assert counts.waiting_for(Role.ANALYST) >= 1
    assert counts.waiting_for(Role.DPO) == 0
    rows, total = inbox.list_folder(a.node, inbox.Folder.REQUESTS)
    assert request_id in [r.id for r, _ in rows]
    assert total >= 1

    # The search starts from the subject and shows people to choose from; the page is logged.
    analyst = a.users[Role.ANALYST]
    _, _, env = svc.open_message(request_id, user=analyst, node=a.node)
    criteria = peer_answers.criteria_from_subject(env.subject)
    assert criteria.surname == surname
    outcome = peer_answers.search_request_page(request_id, criteria, user=analyst, node=a.node)
    assert booking_id in {r.booking.id for r in outcome.rows}
    assert any(surname.upper() in p.name.upper() for r in outcome.rows for p in r.people)
    with a.node.engine.connect() as conn:
        looks = a.node.audit(conn).entries(operation=Operation.CONSULTATION, reference=request_id)
    page_entry = next(e for e in looks if "search.shown" in e.counts)
    assert page_entry.purpose is Purpose.TERRORIST_OFFENCES
    assert booking_id in page_entry.record_ids
    assert surname not in " ".join(page_entry.record_ids)

    # A found booking opens whole under the request; another booking is refused (and logged).
    rec, view = peer_answers.open_found(request_id, booking_id, user=analyst, node=a.node)
    assert view.identity_visible
    assert rec.id == request_id
    found = {s.id for s in peer_answers.found_summaries(a.node, request_id)}
    with a.node.engine.connect() as conn:
        other = next(i for i in conn.exec_driver_sql("SELECT id FROM booking").scalars() if i not in found)
    with pytest.raises(ForbiddenError):
        peer_answers.open_found(request_id, other, user=analyst, node=a.node)
    with pytest.raises(ForbiddenError):  # an answer may name only what the searches found
        svc.approve_answer(
            request_id,
            user=analyst,
            reason=REASON,
            booking_ids=[other],
            evaluation=Evaluation(source="B", accuracy="2"),
            node=a.node,
            client=a.client(),
            policy=ReviewPolicy(four_eyes=False),
        )

    # The chosen record leaves; B's request is answered, the answer waits unread in B's inbox.
    b_before = inbox.inbox_counts(b.node)
    out = svc.approve_answer(
        request_id,
        user=analyst,
        reason=REASON,
        booking_ids=[booking_id],
        evaluation=Evaluation(source="B", accuracy="2"),
        node=a.node,
        client=a.client(),
        policy=ReviewPolicy(four_eyes=False),
    )
    assert out.status == "sent"
    # The decider's reason is encrypted at write (issue 10, item 1) and opens for the page.
    with a.node.engine.connect() as conn:
        decided = store.get_message(conn, request_id)
        assert decided is not None
        assert is_sealed(decided.decision_reason)
        assert "subject's name" not in (decided.decision_reason or "")
        assert shown_reason(conn, a.node.keystore, decided) == REASON
    with b.node.engine.connect() as conn:
        mine = store.get_message(conn, sent.id)
        (reply,) = inbox_store.replies(conn, sent.id)
    assert mine is not None
    assert mine.status == "answered"
    assert reply.records == 1
    assert inbox.inbox_counts(b.node).answers == b_before.answers + 1

    # Opening it (a consultation) marks it read; the booking is shown like one of ours.
    reader = b.users[Role.SUPERVISOR]
    got, _, answer_env = svc.open_message(reply.id, user=reader, node=b.node)
    assert got.decided_by == reader.username
    assert inbox.inbox_counts(b.node).answers == b_before.answers
    (shown,) = [inbox.received_view(r) for r in answer_env.records]
    assert shown.identity_visible
    assert shown.summary.id == booking_id  # the sender's opaque ref
    assert surname in [t["surname"] for t in shown.travellers()]
    assert shown.itinerary
    # The DPO's look is supervision and marks nothing read.
    svc.open_message(reply.id, user=b.users[Role.DPO], node=b.node)
    with b.node.engine.connect() as conn:
        looks = b.node.audit(conn).entries(operation=Operation.CONSULTATION, reference=reply.id)
    assert [e.purpose for e in looks] == [Purpose.TERRORIST_OFFENCES, Purpose.DPO_SUPERVISION]

    # On B's workspace the answer offers a forward to another registered peer (C never
    # listens here: the forward is filed, not delivered, and offered for a retry).
    c = make_member(
        b.node.settings.key_file.parent.parent,
        "c.piu",
        f"sqlite:///{b.node.settings.key_file.parent.parent / 'c.db'}",
        country="CY",
    )
    try:
        trust(b, c)
        app = create_app(b.node)
        app.state.review_policy = ReviewPolicy(four_eyes=False)
        with (
            live_server(app) as base,
            httpx.Client(base_url=base, headers={"accept": "text/html"}, timeout=30) as http,
        ):
            ENGINES[base] = b.node.engine
            assert login(http, b.users[Role.ANALYST].username, "x" * 16).status_code == 303
            page = http.get(f"/exchange/{reply.id}")
            assert "Forward to another peer" in page.text
            # The booking itself, rendered: escaped as the templates escape (D'ANGELO is
            # D&#39;ANGELO there; `html.escape` would give D&#x27;ANGELO).
            assert str(escape(surname)) in page.text
            r = http.post(
                f"/exchange/{reply.id}/forward",
                data={
                    "peer": "c.piu", "case_ref": "BE-INBOX-1", "reason": REASON, "source": "B",
                    "accuracy": "2", "handling": ["H0"], "csrf_token": csrf_from(page.text),
                },
            )  # fmt: skip
            assert r.status_code == 303
            assert r.headers["location"].endswith("?done=failed")
            inbox_page = http.get("/exchange?folder=sent")
            assert "not delivered" in inbox_page.text
        peer_client = getattr(app.state, "peer_client", None)
        if peer_client is not None:
            peer_client.close()
    finally:
        c.close()


def test_a_record_the_sender_masked_shows_masked() -> None:
    from pnrguard.domain.model import Booking, Traveller, to_dict
    from pnrguard.exchange.messages import Record

    b = Booking(carrier="LH", locator="ABC123", travellers=[Traveller(ref="1", surname="QUIRINUS")])
    view = inbox.received_view(Record(ref="f" * 32, masked=True, booking=to_dict(b)))
    assert not view.identity_visible
    assert view.sections["travellers"] == "masked"
    assert view.party_size is None


def test_carrier_credentials_issued_rotated_revoked_and_audited(tmp_path: Path) -> None:
    m = make_member(tmp_path, "c.piu", f"sqlite:///{tmp_path / 'c.db'}", country="CY")
    try:
        admin = accounts.create_account(
            m.node.engine, username="c-admin", role=Role.ADMIN, password="x" * 16, now=m.node.clock()
        )
        with pytest.raises(ForbiddenError):
            carrier_admin.issue(m.node, actor=m.users[Role.SUPERVISOR], carrier="LH")
        cred, token = carrier_admin.issue(m.node, actor=admin, carrier="lh", senders=["LHPNR"])
        assert cred.carrier == "LH"
        new, token2 = carrier_admin.rotate(m.node, actor=admin, credential_id=cred.id)
        assert token2 != token
        assert new.senders == ("LHPNR",)
        listed = {c.id: c for c in carrier_admin.list_all(m.node)}
        assert listed[cred.id].revoked_at is not None
        assert listed[new.id].revoked_at is None
        assert carrier_admin.revoke(m.node, actor=admin, credential_id=new.id)
        with m.node.engine.connect() as conn:
            entries = m.node.audit(conn).entries(operation=Operation.ALTERATION, actor="c-admin")
        assert [next(iter(e.counts)) for e in entries] == [
            "carrier.credential.issued",
            "carrier.credential.issued",
            "carrier.credential.rotated",
            "carrier.credential.revoked",
        ]
        text = repr([e for e in entries])
        assert token not in text
        assert token2 not in text
    finally:
        m.close()
