"""A copy sent to a peer follows its booking (issue 10, item 1): `retry_delivery` refuses to
resend, and a person cannot open, a copy whose booking was masked; once the booking is
deleted the copy is gone (key and ciphertext erased).

The peer (z.piu) is registered but never listens, so the transfer fails and waits for a
retry: the case where an unchecked resend would disclose a masked booking.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fed_env import make_member, trust
from sqlalchemy import select

from pnrguard.audit.models import Purpose
from pnrguard.cli.users import synthetic_watchlist
from pnrguard.errors import ForbiddenError, NotFoundError
from pnrguard.exchange.client import PeerUnreachable
from pnrguard.exchange.messages import Evaluation, HandlingCode
from pnrguard.formats.synth import generate
from pnrguard.service import exchange as svc
from pnrguard.service.accounts import Role
from pnrguard.service.clock import FixedClock
from pnrguard.service.retention import run_retention
from pnrguard.service.review import ReviewPolicy
from pnrguard.service.screening import ReviewDecision, import_watchlist, review_hit
from pnrguard.store.exchange import exchange_message
from pnrguard.store.repository import new_id
from pnrguard.store.screening import hit

pytestmark = pytest.mark.storage

REASON = "Reasoned decision recorded for the test case file."
DRUGS = Purpose.ILLICIT_TRAFFICKING_IN_DRUGS


def test_retry_refuses_a_copy_of_a_masked_booking_and_deletion_erases_it(tmp_path: Path) -> None:
    a = make_member(tmp_path, "a.piu", f"sqlite:///{tmp_path / 'a.db'}", country="AT")
    z = make_member(tmp_path, "z.piu", f"sqlite:///{tmp_path / 'z.db'}", country="LU")
    try:
        trust(a, z)
        for push in generate(3, flights=1, base_date=dt.date(2025, 6, 1)):
            a.node.ingest(push.pnrgov.encode("utf-8"))
        import_watchlist(
            synthetic_watchlist(a.node, people=4), name="l", fmt="csv", purpose=DRUGS, engine=a.node.engine,
            keystore=a.node.keystore, audit=a.node.audit, clock=a.node.clock, actor="t", role="admin",
        )  # fmt: skip
        with a.node.engine.connect() as conn:
            hit_id = conn.execute(select(hit.c.id).where(hit.c.status == "open").limit(1)).scalar_one()
        review_hit(
            hit_id, reviewer=a.users[Role.ANALYST].username, decision=ReviewDecision.CONFIRM, reason=REASON,
            engine=a.node.engine, keystore=a.node.keystore, audit=a.node.audit, clock=a.node.clock,
        )  # fmt: skip
        local = new_id()
        with pytest.raises(PeerUnreachable):
            svc.send_transfer(
                user=a.users[Role.ANALYST], peer_name="z.piu", case_ref="AT-1", reason=REASON,
                evaluation=Evaluation(source="B", accuracy="2"), hit_id=hit_id,
                handling=[HandlingCode.H0], node=a.node, client=a.client(), local_id=local,
                policy=ReviewPolicy(four_eyes=False),  # one person: four eyes is tested in test_fed_e2e
            )  # fmt: skip
        _, _, env = svc.open_message(local, user=a.users[Role.ANALYST], node=a.node)
        assert env.records  # positive control: the failed copy opens and would be resent

        later = FixedClock(a.node.clock() + dt.timedelta(days=215))
        run_retention(engine=a.node.engine, keystore=a.node.keystore, audit=a.node.audit, clock=later)
        with pytest.raises(ForbiddenError, match="masked"):
            svc.retry_delivery(local, user=a.users[Role.ANALYST], node=a.node, client=a.client())
        with pytest.raises(ForbiddenError, match="masked"):
            svc.open_message(local, user=a.users[Role.ANALYST], node=a.node)

        gone = FixedClock(a.node.clock() + dt.timedelta(days=5 * 366 + 30))
        run_retention(engine=a.node.engine, keystore=a.node.keystore, audit=a.node.audit, clock=gone)
        with pytest.raises(NotFoundError):
            svc.retry_delivery(local, user=a.users[Role.ANALYST], node=a.node, client=a.client())
        with a.node.engine.connect() as conn:
            row = conn.execute(select(exchange_message).where(exchange_message.c.id == local)).one()
        assert (row.lifecycle, bytes(row.payload), bytes(row.wrapped_key)) == ("deleted", b"", b"")
    finally:
        a.close()
        z.close()
