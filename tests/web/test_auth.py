"""Login, session cookies and CSRF protection, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from workspace_env import PASSWORD, Env, csrf_from, login, second_factor

from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.web.auth import AuthSettings

pytestmark = pytest.mark.storage


def _set_cookie(r: httpx.Response, name: str) -> str:
    for header in r.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}")


def test_login_sets_a_strict_httponly_session_cookie(env: Env) -> None:
    with env.client() as c:
        r = login(c, "u-analyst", PASSWORD)
    assert r.status_code == 303
    assert r.headers["location"] == "/hits"
    cookie = _set_cookie(r, "pnrguard_session").lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    # Served over http: Secure follows the scheme unless forced (see the next test).
    assert "secure" not in cookie.replace("samesite", "")


def test_secure_cookie_option(env: Env) -> None:
    env.app.state.auth_settings = AuthSettings(cookie_secure=True)  # type: ignore[attr-defined]
    with httpx.Client(base_url=env.base) as c:
        form = c.get("/login")
        login_cookie = _set_cookie(form, "pnrguard_login_csrf")
        assert "; secure" in login_cookie.lower()
        # A client over plain http does not send a Secure cookie back; send it by hand.
        token = csrf_from(form.text)
        r = c.post(
            "/login",
            data={"username": "u-analyst", "password": PASSWORD, "csrf_token": token},
            headers={"cookie": f"pnrguard_login_csrf={token}"},
        )
    assert r.status_code == 303
    assert "; secure" in _set_cookie(r, "pnrguard_session").lower()


def test_wrong_password_and_unknown_user_get_the_same_answer(env: Env) -> None:
    with env.client() as c:
        wrong = login(c, "u-analyst", "not the password at all")
        unknown = login(c, "nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert "Wrong username or password." in unknown.text
    assert "pnrguard_session" not in wrong.headers.get("set-cookie", "")


def test_login_form_needs_its_csrf_token(env: Env) -> None:
    with httpx.Client(base_url=env.base) as c:
        r = c.post("/login", data={"username": "u-analyst", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    assert "pnrguard_session" not in r.headers.get("set-cookie", "")


def test_post_without_or_with_a_wrong_csrf_token_is_refused(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        c.headers["accept"] = "application/json"
        missing = c.post(
            f"/hits/{hit_id}/decision", data={"decision": "dismiss", "reason": "not the same person"}
        )
        wrong = c.post(
            f"/hits/{hit_id}/decision",
            data={"decision": "dismiss", "reason": "not the same person", "csrf_token": "x" * 43},
        )
        token = csrf_from(c.get("/hits", headers={"accept": "text/html"}).text)
        cross = c.post(
            f"/hits/{hit_id}/decision",
            data={"decision": "dismiss", "reason": "not the same person", "csrf_token": token},
            headers={"origin": "https://evil.example"},
        )
    for r in (missing, wrong, cross):
        assert r.status_code == 403
        assert r.json()["error"] == "csrf"
    assert hit_id in env.hit_ids("open")  # nothing happened


def test_logout_ends_the_session(env: Env) -> None:
    with env.client(Role.ANALYST) as c:
        token = csrf_from(c.get("/hits").text)
        assert c.post("/logout", data={"csrf_token": token}).status_code == 303
        assert c.get("/hits").status_code == 401


def test_disabling_an_account_ends_its_sessions(env: Env) -> None:
    with env.client(Role.ANALYST) as c:
        assert c.get("/hits").status_code == 200
        accounts.set_disabled(env.node.engine, "u-analyst")
        assert c.get("/hits").status_code == 401
        assert login(c, "u-analyst", PASSWORD).status_code == 401


def test_anonymous_page_asks_to_log_in_and_keeps_only_the_path(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client() as c:
        r = c.get(f"/hits/{hit_id}?status=open")
    assert r.status_code == 401
    assert f'href="/login?next=/hits/{hit_id}"' in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_login_redirects_only_to_local_paths(env: Env) -> None:
    with env.client() as c:
        token = csrf_from(c.get("/login").text)
        r = c.post(
            "/login",
            data={"username": "u-dpo", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/login/totp?next=%2F"  # the DPO lands on what waits
        done = second_factor(c, "u-dpo", r.headers["location"])
    assert done.status_code == 303
    assert done.headers["location"] == "/"
