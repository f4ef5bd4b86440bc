"""A masked booking identifies nobody, on any page, export or API answer (issue 10, item 4;
Art. 12(2) of Directive (EU) 2016/681).

The world: a watchlist hit confirmed with a reason that names the traveller, a transmission
released with a justification that names them, then the retention run 7 months on. The walk
takes every GET route of the app (the route table `test_route_walk.ACCESS` declares, so a new
page is walked without anyone adding it here), with the ids of this hit, booking and
transmission, as every role that reads the workspace, and looks in every answer (HTML, JSON,
CSV, PDF) for the traveller's names, date of birth, document numbers, e-mail and phone, and
for the list entry's name, dates of birth and documents: a match score of 1.0 next to a
listed name would confirm who the masked traveller is.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from test_route_walk import ACCESS, OWN_AUTH, PUBLIC
from workspace_env import Env, csrf_from

from pnrguard.service.accounts import Role
from pnrguard.service.clock import FixedClock
from pnrguard.service.retention import run_retention
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import HitKind, entries_at, get_hit

pytestmark = pytest.mark.storage


def _identifying(env: Env, hit_id: str) -> tuple[str, set[str]]:
    with env.node.engine.connect() as conn:
        h = get_hit(conn, hit_id)
        b = BookingRepository(conn, env.node.keystore).get(h.booking_id)
        entry = entries_at(conn, h.watchlist_id or 0, [h.entity_id or ""], h.list_version or 0)[
            h.entity_id or ""
        ][0]
    values = {n for t in b.travellers for n in (t.surname, t.given_names)}
    values |= {t.date_of_birth.isoformat() for t in b.travellers if t.date_of_birth}
    values |= {d.number for t in b.travellers for d in t.documents}
    values |= {c.value for c in b.contacts}
    values |= {entry.name, *entry.aliases}
    values |= {d.isoformat() for d in entry.dobs}
    values |= {d.number for d in entry.documents}
    return h.booking_id, {v for v in values if v and len(v) > 3}


def _shown(html: str) -> str:
    """A page's text and attribute values without tag and attribute names: a traveller
    called LANG is not leaked by `<html lang="en">`, but is by `value="LANG"` or in text."""

    def values(tag: re.Match[str]) -> str:
        return " " + " ".join(a or b for a, b in re.findall(r'"([^"]*)"|\'([^\']*)\'', tag.group(0))) + " "

    return re.sub(r"<[^>]*>", values, html)


def _word(value: str) -> re.Pattern[str]:
    """The value as a whole word (not inside a longer one: LANG is not in "language")."""
    return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")


def test_every_page_export_and_api_answer_of_a_masked_booking_names_nobody(env: Env) -> None:
    hit_id = next(h for h in env.hit_ids() if get_hit_kind(env, h) is HitKind.WATCHLIST)
    booking_id, values = _identifying(env, hit_id)
    assert values
    surname = sorted(values, key=len)[-1]
    env.set_policy(four_eyes=False)
    with env.client(Role.ANALYST) as c:
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        r = c.post(
            f"/hits/{hit_id}/decision",
            data={"decision": "confirm", "reason": f"{surname} is the listed person", "csrf_token": token},
        )
        assert r.status_code == 303
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        r = c.post(
            f"/hits/{hit_id}/transmissions",
            data={"authority_id": env.authority_id, "purpose": "terrorist_offences",
                  "justification": f"{surname} travels, see the case", "csrf_token": token},
        )  # fmt: skip
        assert r.status_code == 303, r.text
        tid = r.headers["location"].split("/")[2].split("?")[0]
        before = c.get(f"/hits/{hit_id}").text
    assert any(v in before for v in values)  # positive control: the walk can see them
    later = FixedClock(env.node.clock() + dt.timedelta(days=215))
    run_retention(engine=env.node.engine, keystore=env.node.keystore, audit=env.node.audit, clock=later)
    with env.node.engine.connect() as conn:
        assert BookingRepository(conn, env.node.keystore).summary(booking_id).state == "masked"

    def concrete(path: str) -> str:
        return (
            path.replace("{hit_id}", hit_id)
            .replace("{transmission_id}", tid)
            .replace("{booking_id}", booking_id)
            .replace("{request_id}", "0" * 32)
            .replace("{exchange_id}", "0" * 32)
            .replace("{account_id}", "0" * 32)
            .replace("{receipt}", "0" * 32)
        )

    walked = 0
    for role in (Role.ANALYST, Role.SUPERVISOR, Role.DPO):
        with env.client(role) as c:
            for (method, path), access in ACCESS.items():
                if method != "GET" or access in (OWN_AUTH, PUBLIC) or role not in access:
                    continue
                if path.startswith("/static"):
                    continue
                urls = [concrete(path)]
                if path in ("/hits", "/api/hits"):
                    urls = [f"{path}?status={s}" for s in ("open", "confirmed", "dismissed", "withdrawn")]
                for url in urls:
                    r = c.get(url)
                    body = r.content.decode("latin-1" if url.endswith(".pdf") else "utf-8", errors="replace")
                    if "html" in r.headers.get("content-type", ""):
                        body = _shown(body)
                    low = body.lower()
                    leaked = sorted(v for v in values if _word(v.lower()).search(low))
                    assert leaked == [], (role.value, url, r.status_code, leaked)
                    walked += r.status_code == 200
    assert walked >= 30


def get_hit_kind(env: Env, hit_id: str) -> HitKind:
    with env.node.engine.connect() as conn:
        return get_hit(conn, hit_id).kind
