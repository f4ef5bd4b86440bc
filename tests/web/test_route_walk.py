"""Every route of the app, as every role and as nobody: who is let in and who is refused.

`ACCESS` declares each route's roles. The test walks the app's real route table, so a new
route that is not declared here fails `test_every_route_is_declared`, and a declared route
whose guard disagrees with the declaration fails the walk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from workspace_env import Env

from pnrguard.service.accounts import Role

pytestmark = pytest.mark.storage

A, S, D, J, JS, ADM, C, P = (
    Role.ANALYST, Role.SUPERVISOR, Role.DPO, Role.JUDICIAL, Role.JUDICIAL_SENIOR, Role.ADMIN,
    Role.CARRIER, Role.PEER,
)  # fmt: skip
HUMANS = frozenset({A, S, D, J, JS, ADM})
JUDGES = frozenset({J, JS})
READERS = frozenset({A, S, D})
REVIEWERS = frozenset({A, S})
PUBLIC = "public"
#: Routes of other parts of the node with their own authentication (carrier bearer tokens,
#: the metrics scrape): listed so nothing goes undeclared, walked elsewhere.
OWN_AUTH = "own-auth"

ACCESS: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    # The second step and enrolment answer to their own stage session or one-time link.
    ("GET", "/login/totp"): PUBLIC,
    ("POST", "/login/totp"): PUBLIC,
    ("GET", "/enrol/{link}"): PUBLIC,
    ("POST", "/enrol/{link}"): PUBLIC,
    ("GET", "/account/password"): HUMANS,
    ("POST", "/account/password"): HUMANS,
    ("POST", "/account/locale"): HUMANS,
    ("GET", "/auth/oidc/start"): PUBLIC,
    ("GET", "/auth/oidc/callback"): PUBLIC,
    ("GET", "/metrics"): OWN_AUTH,
    ("POST", "/carrier/v1/messages"): OWN_AUTH,
    ("GET", "/carrier/v1/messages/{receipt}"): OWN_AUTH,
    ("GET", "/carrier/v1/quality"): OWN_AUTH,
    ("GET", "/health/gateway"): OWN_AUTH,
    ("POST", "/logout"): HUMANS,
    ("GET", "/"): HUMANS,
    ("GET", "/api/overview"): HUMANS,
    ("GET", "/hits"): READERS,
    ("GET", "/api/hits"): READERS,
    ("GET", "/hits/{hit_id}"): READERS,
    ("GET", "/api/hits/{hit_id}"): READERS,
    ("POST", "/hits/{hit_id}/decision"): REVIEWERS,
    ("POST", "/hits/{hit_id}/transmissions"): REVIEWERS,
    ("POST", "/hits/{hit_id}/assign"): REVIEWERS,
    ("POST", "/hits/{hit_id}/priority"): REVIEWERS,
    ("POST", "/hits/{hit_id}/notes"): REVIEWERS,
    ("POST", "/hits/{hit_id}/reopen"): frozenset({S}),
    ("GET", "/suppressions"): READERS,
    ("POST", "/suppressions/{hit_id}/lift"): frozenset({S}),
    ("POST", "/transmissions/{transmission_id}/withdraw"): REVIEWERS,
    ("GET", "/flights/{flight}/{date}"): READERS,
    ("GET", "/dpo/statistics"): frozenset({D}),
    ("GET", "/quality"): frozenset({Role.ADMIN, Role.SUPERVISOR, D}),
    ("GET", "/quality.csv"): frozenset({Role.ADMIN, Role.SUPERVISOR, D}),
    ("GET", "/dpo/statistics.csv"): frozenset({D}),
    ("GET", "/dpo/audit"): frozenset({D}),
    ("GET", "/dpo/audit.csv"): frozenset({D}),
    ("GET", "/dpo/approvals"): frozenset({D}),
    ("GET", "/dpo/approvals.csv"): frozenset({D}),
    ("GET", "/dpo/rights"): frozenset({D}),
    ("POST", "/dpo/rights/find"): frozenset({D}),
    ("POST", "/dpo/rights/act"): frozenset({D}),
    ("POST", "/dpo/rights/rectify"): frozenset({D}),
    ("GET", "/exchange"): READERS,
    ("GET", "/exchange/{exchange_id}"): READERS,
    ("POST", "/exchange/{exchange_id}/answer"): REVIEWERS,
    ("POST", "/exchange/{exchange_id}/refuse"): REVIEWERS,
    ("POST", "/exchange/{exchange_id}/search"): REVIEWERS,
    ("GET", "/exchange/{exchange_id}/bookings/{booking_id}"): READERS,
    ("POST", "/exchange/{exchange_id}/forward"): REVIEWERS,
    ("POST", "/exchange/{exchange_id}/permission"): frozenset({S}),
    ("POST", "/exchange/{exchange_id}/second-approval"): frozenset({S}),
    ("POST", "/exchange/{exchange_id}/retry"): REVIEWERS,
    ("GET", "/exchange/new/request"): REVIEWERS,
    ("POST", "/exchange/requests"): REVIEWERS,
    ("GET", "/exchange/new/transfer"): REVIEWERS,
    ("POST", "/exchange/transfers"): REVIEWERS,
    ("GET", "/transmissions"): READERS,
    ("GET", "/transmissions/{transmission_id}"): READERS,
    ("POST", "/transmissions/{transmission_id}/decision"): frozenset({S}),
    ("GET", "/transmissions/{transmission_id}/package.json"): READERS,
    ("GET", "/transmissions/{transmission_id}/package.pdf"): READERS,
    ("GET", "/requests"): READERS,
    ("GET", "/requests/new"): REVIEWERS,
    ("POST", "/requests"): REVIEWERS,
    ("GET", "/requests/{request_id}"): READERS,
    ("POST", "/requests/{request_id}/search"): REVIEWERS,
    ("POST", "/requests/{request_id}/decision"): REVIEWERS,
    ("GET", "/requests/{request_id}/bookings/{booking_id}"): READERS,
    ("GET", "/api/requests/{request_id}/bookings/{booking_id}"): READERS,
    ("POST", "/requests/{request_id}/bookings/{booking_id}/transmissions"): REVIEWERS,
    ("POST", "/requests/{request_id}/bookings/{booking_id}/history"): REVIEWERS,
    ("GET", "/bookings/{booking_id}"): READERS,
    ("GET", "/unmasking"): frozenset({A, S, D}) | JUDGES,
    ("GET", "/unmasking/new"): REVIEWERS,
    ("POST", "/unmasking"): REVIEWERS,
    ("GET", "/unmasking/{request_id}"): frozenset({A, S, D}) | JUDGES,
    ("POST", "/unmasking/{request_id}/decision"): JUDGES,
    ("GET", "/hits/{hit_id}/links"): REVIEWERS,
    ("GET", "/requests/{request_id}/bookings/{booking_id}/travellers/{ref}/links"): REVIEWERS,
    ("GET", "/hits/{hit_id}/links.{what}"): REVIEWERS,
    ("GET", "/requests/{request_id}/bookings/{booking_id}/travellers/{ref}/links.{what}"): REVIEWERS,
    ("POST", "/requests/{request_id}/bookings/{booking_id}/travellers/{ref}/links/case"): REVIEWERS,
    ("POST", "/hits/{hit_id}/links/disclosure"): REVIEWERS,
    ("GET", "/leads"): REVIEWERS,
    ("POST", "/leads/detect"): REVIEWERS,
    ("GET", "/leads/{lead_id}"): REVIEWERS,
    ("POST", "/leads/{lead_id}/review"): REVIEWERS,
    ("POST", "/leads/{lead_id}/disclosures"): REVIEWERS,
    ("POST", "/lead-disclosures/{disclosure_id}/decision"): frozenset({S}),
    ("GET", "/lead-disclosures/{disclosure_id}/package.json"): REVIEWERS,
    ("GET", "/lead-disclosures/{disclosure_id}/package.csv"): REVIEWERS,
    ("GET", "/criteria"): READERS | {ADM},
    ("GET", "/criteria/new"): frozenset({S, ADM}),
    ("GET", "/criteria/{rule_id}"): frozenset({S, ADM}),
    ("POST", "/criteria"): frozenset({S, ADM}),
    ("GET", "/watchlists"): READERS | {ADM},
    ("POST", "/watchlists/import"): frozenset({S, ADM}),
    ("POST", "/watchlists/{name}/rescreen"): frozenset({S, ADM}),
    ("GET", "/admin/accounts"): frozenset({ADM}),
    ("POST", "/admin/accounts"): frozenset({ADM}),
    ("POST", "/admin/accounts/{account_id}/disable"): frozenset({ADM}),
    ("POST", "/admin/accounts/{account_id}/enable"): frozenset({ADM}),
    ("POST", "/admin/accounts/{account_id}/role"): frozenset({ADM}),
    ("POST", "/admin/accounts/{account_id}/reset"): frozenset({ADM}),
    ("GET", "/admin/approvals"): frozenset({ADM, D}),
    ("POST", "/admin/approvals/{change_id}/approve"): frozenset({ADM, D}),
    ("POST", "/admin/approvals/{change_id}/refuse"): frozenset({ADM, D}),
    ("GET", "/admin/authorities"): frozenset({ADM}),
    ("POST", "/admin/authorities"): frozenset({ADM}),
    ("GET", "/admin/peers"): frozenset({ADM}),
    ("POST", "/admin/peers"): frozenset({ADM}),
    ("POST", "/admin/peers/{name}/revoke"): frozenset({ADM}),
    ("GET", "/admin/carriers"): frozenset({ADM}),
    ("POST", "/admin/carriers"): frozenset({ADM}),
    ("POST", "/admin/carriers/{credential_id}/rotate"): frozenset({ADM}),
    ("POST", "/admin/carriers/{credential_id}/revoke"): frozenset({ADM}),
}


def _walk(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through FastAPI's included routers and mounts."""
    for r in routes:
        if hasattr(r, "effective_candidates"):  # FastAPI's included router
            yield from _walk(r.effective_candidates())
            continue
        original = getattr(r, "original_route", r)
        methods = getattr(original, "methods", None) or {"GET"}
        for m in sorted(set(methods) - {"HEAD"}):
            yield m, r.path


def _concrete(path: str) -> str:
    # Ids that exist nowhere: an allowed role then gets 404 (or 400), never 401/403.
    return (
        path.replace("{receipt}", "0" * 32)
        .replace("{hit_id}", "0" * 32)
        .replace("{transmission_id}", "0" * 32)
        .replace("{request_id}", "0" * 32)
        .replace("{booking_id}", "0" * 32)
        .replace("{account_id}", "0" * 32)
        .replace("{change_id}", "0" * 32)
        .replace("{link}", "0" * 32)
        .replace("{flight}", "MU103")
        .replace("{date}", "2026-01-01")
        .replace("/static", "/static/workspace.css")
    )


def test_every_route_is_declared(env: Env) -> None:
    routes = set(_walk(env.app.routes))  # type: ignore[attr-defined]
    assert routes - set(ACCESS) == set(), "declare the roles of these new routes in ACCESS"
    assert set(ACCESS) - routes == set(), "these declared routes no longer exist"


def _call(client: httpx.Client, method: str, path: str, csrf: str | None) -> httpx.Response:
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": csrf} if csrf else {})


def test_every_role_is_refused_where_it_must_be(env: Env) -> None:
    checked = 0
    sessions = {role: env.session_client(env.users[role]) for role in Role}
    anonymous = httpx.Client(base_url=env.base, timeout=30)
    # Logout last: it ends the session the rest of the walk uses.
    order = sorted(ACCESS, key=lambda k: k == ("POST", "/logout"))
    for method, path in order:
        access = ACCESS[(method, path)]
        if access == OWN_AUTH:
            continue
        url = _concrete(path)
        r = _call(anonymous, method, url, None)
        if access == PUBLIC:
            # Public forms refuse a post without their CSRF token (403), never ask to log in.
            assert r.status_code not in (401, 403) or path.startswith(("/auth/oidc", "/login", "/enrol")), (
                method, path, r.status_code,
            )  # fmt: skip
            continue
        assert r.status_code == 401, (method, path, "anonymous", r.status_code)
        assert isinstance(access, frozenset)
        for role, (client, csrf) in sessions.items():
            r = _call(client, method, url, csrf)
            code = (
                r.json().get("error")
                if r.headers.get("content-type", "").startswith("application/json")
                else None
            )
            where = (method, path, role.value, r.status_code)
            if role in access:
                assert r.status_code != 401, where
                assert code != "role_refused", where
            else:
                assert r.status_code == 403, where
                assert code == "role_refused", where
            checked += 1
    for client, _ in sessions.values():
        client.close()
    anonymous.close()
    assert set(sessions) == set(Role)  # the walk covers every role, judicial_senior included
    assert checked >= len(Role) * 30


def test_machine_identities_cannot_log_in(env: Env) -> None:
    from workspace_env import PASSWORD, login

    with httpx.Client(base_url=env.base) as c:
        for role in (Role.CARRIER, Role.PEER):
            r = login(c, env.users[role].username, PASSWORD)
            assert r.status_code == 401
