"""The administrator's pages for machine partners over real HTTP: carrier credentials (a
token shown once, in the answer to the POST that made it; rotation; revocation; audited) and
the peers page (a card that does not match is refused and nothing is stored)."""

from __future__ import annotations

import re

from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation
from pnrguard.service import exchange_peers
from pnrguard.service.accounts import Role

_TOKEN = re.compile(r'id="carrier-token">([^<]+)<')


def test_carrier_credentials_on_the_web(env: Env) -> None:
    with env.client(Role.ADMIN) as c:
        page = c.get("/admin/carriers")
        assert page.status_code == 200
        issued = c.post(
            "/admin/carriers",
            data={"carrier": "lh", "senders": "LHPNR LHAPI", "csrf_token": csrf_from(page.text)},
        )
        assert issued.status_code == 200
        token = _TOKEN.search(issued.text)
        assert token is not None
        again = c.get("/admin/carriers")
        assert token.group(1) not in again.text  # shown once
        assert "LHPNR, LHAPI" in again.text
        (cred_id,) = re.findall(r'action="/admin/carriers/([0-9a-f]{32})/rotate"', again.text)
        rotated = c.post(f"/admin/carriers/{cred_id}/rotate", data={"csrf_token": csrf_from(again.text)})
        new_token = _TOKEN.search(rotated.text)
        assert new_token is not None
        assert new_token.group(1) != token.group(1)
        (new_id,) = re.findall(r'action="/admin/carriers/([0-9a-f]{32})/revoke"', rotated.text)
        assert new_id != cred_id
        gone = c.post(f"/admin/carriers/{new_id}/revoke", data={"csrf_token": csrf_from(rotated.text)})
        assert gone.status_code == 303
        assert "/revoke" not in c.get("/admin/carriers").text  # nothing active is left
        bad = c.post("/admin/carriers", data={"carrier": "x", "csrf_token": csrf_from(rotated.text)})
        assert bad.status_code == 400
    changes = [e for e in env.audit(operation=Operation.ALTERATION) if e.actor == "u-admin"]
    kinds = [k for e in changes for k in e.counts if k.startswith("carrier.credential.")]
    assert kinds == [
        "carrier.credential.issued",
        "carrier.credential.issued",
        "carrier.credential.rotated",
        "carrier.credential.revoked",
    ]
    assert all(token.group(1) not in repr(e) and new_token.group(1) not in repr(e) for e in changes)


def test_a_card_that_does_not_match_is_refused(env: Env) -> None:
    with env.client(Role.ADMIN) as c:
        page = c.get("/admin/peers")
        assert page.status_code == 200
        assert "No peer registered yet" in page.text
        refused = c.post(
            "/admin/peers",
            data={
                "card": '{"format": "nonsense"}',
                "cert_fingerprint": "00" * 32,
                "key_fingerprint": "11" * 32,
                "kind": "member_state",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert refused.status_code == 400
        assert 'role="alert"' in refused.text
        assert "00" * 32 in refused.text  # what was typed is kept
    assert exchange_peers.list_peers(env.node) == []
