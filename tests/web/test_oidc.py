"""OIDC login against a small identity provider served on a real socket (a fake of a port
whose real adapter is outside our control: the organisation's provider)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse
from workspace_env import Env, second_factor

from live_server import live_server
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.web.auth import AuthSettings
from pnrguard.web.oidc import OidcError, verify_id_token

pytestmark = pytest.mark.storage

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwks() -> dict[str, Any]:
    n = KEY.public_key().public_numbers()
    return {
        "keys": [{"kty": "RSA", "kid": "k1", "n": _b64(n.n.to_bytes(256, "big")), "e": _b64(b"\x01\x00\x01")}]
    }


def _token(claims: dict[str, Any]) -> str:
    head = _b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = KEY.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(sig)}"


def _provider(issuer_box: list[str], subject: str) -> FastAPI:
    idp = FastAPI()
    codes: dict[str, dict[str, str]] = {}

    @idp.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, str]:
        iss = issuer_box[0]
        return {"issuer": iss, "authorization_endpoint": f"{iss}/authorize",
                "token_endpoint": f"{iss}/token", "jwks_uri": f"{iss}/jwks"}  # fmt: skip

    @idp.get("/jwks")
    def jwks() -> dict[str, Any]:
        return _jwks()

    @idp.get("/authorize")
    def authorize(request: Request) -> RedirectResponse:
        q = request.query_params
        codes["c1"] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "client": q["client_id"]}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': 'c1', 'state': q['state']})}", 303)

    @idp.post("/token")
    def token(code: str = Form(""), code_verifier: str = Form("")) -> dict[str, str]:
        import hashlib

        grant = codes.pop(code)
        assert _b64(hashlib.sha256(code_verifier.encode()).digest()) == grant["challenge"]  # PKCE
        now = int(time.time())
        claims = {"iss": issuer_box[0], "sub": subject, "aud": grant["client"], "exp": now + 300,
                  "iat": now, "nonce": grant["nonce"]}  # fmt: skip
        return {"id_token": _token(claims), "token_type": "Bearer", "access_token": "unused"}

    return idp


def test_oidc_login_maps_the_subject_to_the_nodes_account(env: Env) -> None:
    issuer_box: list[str] = []
    with live_server(_provider(issuer_box, "alice-123")) as issuer:
        issuer_box.append(issuer)
        accounts.create_account(
            env.node.engine, username="alice", role=Role.SUPERVISOR, oidc_subject=f"{issuer} alice-123",
            now=env.node.clock(),
        )  # fmt: skip
        env.app.state.auth_settings = AuthSettings(  # type: ignore[attr-defined]
            oidc_issuer=issuer, oidc_client_id="pnrguard", oidc_client_secret="s3cret"
        )
        with httpx.Client(base_url=env.base, follow_redirects=True) as c:
            assert "Log in with your organisation" in c.get("/login").text
            r = c.get("/auth/oidc/start")
            assert r.status_code == 200
            # The node's second factor follows the provider's login (enrolled on first use).
            assert "/login/totp" in str(r.url)
            assert "alice" not in r.text.split("<main")[0]  # no session yet
            r = second_factor(c, "alice", str(r.url.raw_path, "ascii"))
            assert r.status_code == 200
            assert str(r.url).endswith("/")  # a supervisor lands on what waits (issue 15)
            assert "alice · Supervisor" in r.text
            forged = c.get("/auth/oidc/callback", params={"code": "c1", "state": "forged"})
            assert forged.status_code == 403


def test_id_token_checks() -> None:
    now = time.time()
    good = {"iss": "https://idp", "sub": "s", "aud": "pnrguard", "exp": now + 60, "nonce": "n1"}
    assert verify_id_token(_token(good), jwks=_jwks(), issuer="https://idp", client_id="pnrguard", nonce="n1")
    for bad in ({"iss": "https://other"}, {"aud": "someone-else"}, {"exp": now - 3600}, {"nonce": "n2"}):
        with pytest.raises(OidcError):
            verify_id_token(
                _token({**good, **bad}), jwks=_jwks(), issuer="https://idp", client_id="pnrguard", nonce="n1"
            )
    head, _body, sig = _token(good).split(".")
    tampered = _b64(json.dumps({**good, "sub": "admin"}).encode())
    with pytest.raises(OidcError):
        verify_id_token(f"{head}.{tampered}.{sig}", jwks=_jwks(), issuer="https://idp", client_id="pnrguard",
                        nonce="n1")  # fmt: skip
