"""OpenID Connect login (authorization-code flow with PKCE), for production deployments.

How it is used: set PNRGUARD_OIDC_ISSUER, PNRGUARD_OIDC_CLIENT_ID and
PNRGUARD_OIDC_CLIENT_SECRET (and PNRGUARD_OIDC_REDIRECT_URI when the node sits behind a
proxy), register `<node>/auth/oidc/callback` at the provider, and give each person an
account with `pnrguard users add NAME --role ROLE --oidc-subject "<issuer> <sub>"`.

Why it is built this way:

- The provider only *authenticates*. The account, its role and whether it is enabled are
  the node's (a token claim never makes anyone an analyst), so a provider compromise
  cannot grant access to personal data by itself.
- `state` (in an HttpOnly cookie and the URL) stops login CSRF, `nonce` ties the ID token
  to this login, and PKCE (S256) makes a stolen authorization code useless. The flow
  cookie is SameSite=Lax because the provider's redirect back is a cross-site top-level
  navigation; it holds nothing reusable and is deleted at the callback.
- The ID token is checked here with `cryptography` (RS256 or ES256 against the provider's
  JWKS; issuer, audience, expiry, nonce), not trusted because it came over TLS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pnrguard.errors import N_, ForbiddenError, NotFoundError
from pnrguard.service import accounts
from pnrguard.web.auth import cookie_secure, landing, node_of, safe_next, settings_of, start_session

__all__ = ["OidcError", "router", "verify_id_token"]

FLOW_COOKIE = "pnrguard_oidc"
_LEEWAY = 60
_TIMEOUT = 10.0

router = APIRouter(prefix="/auth/oidc")


class OidcError(ForbiddenError):
    code = "oidc"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64int(part: str) -> int:
    return int.from_bytes(_b64decode(part), "big")


def _public_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    if jwk.get("kty") == "RSA":
        return rsa.RSAPublicNumbers(_b64int(jwk["e"]), _b64int(jwk["n"])).public_key()
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(
            _b64int(jwk["x"]), _b64int(jwk["y"]), ec.SECP256R1()
        ).public_key()
    raise OidcError(N_("unsupported key type in the provider's JWKS"))


def verify_id_token(
    token: str, *, jwks: dict[str, Any], issuer: str, client_id: str, nonce: str, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid ID token; raises `OidcError` otherwise (signature, issuer,
    audience, expiry, nonce)."""
    try:
        head_b64, body_b64, sig_b64 = token.split(".")
        header = json.loads(_b64decode(head_b64))
        claims: dict[str, Any] = json.loads(_b64decode(body_b64))
        signature = _b64decode(sig_b64)
    except (ValueError, TypeError) as exc:
        raise OidcError(N_("malformed ID token")) from exc
    alg = header.get("alg")
    keys = [k for k in jwks.get("keys", []) if header.get("kid") in (None, k.get("kid"))]
    signed = f"{head_b64}.{body_b64}".encode("ascii")
    for jwk in keys:
        key = _public_key(jwk)
        try:
            if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed, padding.PKCS1v15(), SHA256())
            elif alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                key.verify(der, signed, ec.ECDSA(SHA256()))
            else:
                continue
            break
        except InvalidSignature:
            continue
    else:
        raise OidcError(N_("the ID token's signature does not verify"))
    now = time.time() if now is None else now
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != issuer:
        raise OidcError(N_("the ID token is from another issuer"))
    if client_id not in audiences:
        raise OidcError(N_("the ID token is for another client"))
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] + _LEEWAY < now:
        raise OidcError(N_("the ID token has expired"))
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OidcError(N_("the ID token's nonce does not match this login"))
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError(N_("the ID token names no subject"))
    return claims


def _discovery(request: Request) -> dict[str, Any]:
    cache: dict[str, Any] | None = getattr(request.app.state, "oidc_discovery", None)
    if not cache:
        cache = {}
        issuer = (settings_of(request).oidc_issuer or "").rstrip("/")
        doc = (
            httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=_TIMEOUT)
            .raise_for_status()
            .json()
        )
        jwks = httpx.get(doc["jwks_uri"], timeout=_TIMEOUT).raise_for_status().json()
        cache.update(doc=doc, jwks=jwks)
        request.app.state.oidc_discovery = cache
    return cache


def _redirect_uri(request: Request) -> str:
    return settings_of(request).oidc_redirect_uri or str(request.url_for("oidc_callback"))


@router.get("/start", include_in_schema=False)
def oidc_start(request: Request, next: str = "") -> Response:
    s = settings_of(request)
    if not s.oidc_enabled:
        raise NotFoundError(N_("OIDC login is not configured on this node"))
    doc = _discovery(request)["doc"]
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": s.oidc_client_id,
            "redirect_uri": _redirect_uri(request),
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{doc['authorization_endpoint']}?{query}", status_code=303)
    flow = json.dumps({"state": state, "nonce": nonce, "verifier": verifier, "next": safe_next(next, "")})
    response.set_cookie(
        FLOW_COOKIE,
        base64.urlsafe_b64encode(flow.encode()).decode(),
        max_age=600,
        path="/auth/oidc",
        httponly=True,
        secure=cookie_secure(request),
        samesite="lax",
    )
    return response


@router.get("/callback", name="oidc_callback", include_in_schema=False)
def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
    s = settings_of(request)
    if not s.oidc_enabled:
        raise NotFoundError(N_("OIDC login is not configured on this node"))
    try:
        flow = json.loads(base64.urlsafe_b64decode(request.cookies.get(FLOW_COOKIE, "")))
    except ValueError:
        raise OidcError(N_("the login expired: start again")) from None
    if not code or not state or not secrets.compare_digest(state, str(flow.get("state", ""))):
        raise OidcError(N_("the login's state does not match: start again"))
    cache = _discovery(request)
    assert s.oidc_client_id is not None
    assert s.oidc_client_secret is not None
    token = httpx.post(
        cache["doc"]["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _redirect_uri(request),
            "code_verifier": flow["verifier"],
        },
        auth=(s.oidc_client_id, s.oidc_client_secret.get_secret_value()),
        timeout=_TIMEOUT,
    )
    if token.status_code != 200 or "id_token" not in token.json():
        raise OidcError(N_("the provider refused the authorization code"))
    claims = verify_id_token(
        token.json()["id_token"],
        jwks=cache["jwks"],
        issuer=cache["doc"].get("issuer", s.oidc_issuer),
        client_id=s.oidc_client_id,
        nonce=str(flow["nonce"]),
    )
    node = node_of(request)
    account = accounts.account_for_oidc(
        node.engine, subject=f"{claims['iss']} {claims['sub']}", now=node.clock()
    )
    if account is None:
        raise OidcError(N_("no enabled account is registered for this identity: ask the administrator"))
    response = start_session(request, account, safe_next(flow.get("next"), landing(account)))
    response.delete_cookie(FLOW_COOKIE, path="/auth/oidc")
    return response
