"""Calling a peer: mutual TLS (httpx with an `ssl.SSLContext`), every request signed and every
response's signature verified, with the wire profile both ends share.

The profile (docs/federation.md, "On the wire"):

- one endpoint, ``POST /peer/v1/messages``, body an `Envelope` as JSON;
- request signature ``pnrguard`` (RFC 9421, Ed25519, tag ``pnrguard-exchange/1``) covering
  ``@method @target-uri @authority content-digest content-type pnrguard-message-id`` with
  ``created``, ``expires`` (created + window) and a random 128-bit ``nonce``;
- response signature covering ``@status content-digest content-type pnrguard-message-id
  pnrguard-in-reply-to``: the receiver's receipt id and the request's message id, so a
  response cannot be replayed as the answer to another request;
- `Content-Digest` (RFC 9530) sha-256 on both.

A retry of the same envelope is signed afresh (new nonce) and keeps its message id; the
receiver is idempotent on it and answers with the original receipt.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pnrguard.errors import N_, ConfigError, PnrguardError
from pnrguard.exchange import signatures as sig
from pnrguard.exchange.identity import client_context, key_fingerprint, load_certificate, public_key_from_raw
from pnrguard.exchange.messages import Envelope
from pnrguard.exchange.peers import Peer

__all__ = [
    "LABEL",
    "MESSAGE_PATH",
    "REQUEST_COMPONENTS",
    "RESPONSE_COMPONENTS",
    "TAG",
    "PeerClient",
    "PeerRefused",
    "PeerUnreachable",
    "Receipt",
    "sign_request",
    "sign_response",
]

LABEL = "pnrguard"
TAG = "pnrguard-exchange/1"
MESSAGE_PATH = "/peer/v1/messages"
CONTENT_TYPE = "application/json"
MESSAGE_ID_HEADER = "pnrguard-message-id"
IN_REPLY_TO_HEADER = "pnrguard-in-reply-to"
REQUEST_COMPONENTS = (
    "@method",
    "@target-uri",
    "@authority",
    "content-digest",
    "content-type",
    MESSAGE_ID_HEADER,
)
RESPONSE_COMPONENTS = ("@status", "content-digest", "content-type", MESSAGE_ID_HEADER, IN_REPLY_TO_HEADER)


class PeerUnreachable(PnrguardError):
    """The peer could not be reached or refused the TLS connection (e.g. our certificate is
    expired or not from a CA it trusts). Safe to retry with the same message id."""

    http_status = 502
    code = "peer_unreachable"


class PeerRefused(PnrguardError):
    """The peer answered and refused the message; `peer_code` is its error code."""

    http_status = 502
    code = "peer_refused"

    def __init__(self, peer_code: str, detail: str, *, status: int) -> None:
        self.peer_code = peer_code
        self.status = status
        super().__init__(f"peer refused the message ({status} {peer_code}): {detail}")


def _nonce() -> str:
    return secrets.token_hex(16)


def sign_request(
    *,
    key: Ed25519PrivateKey,
    url: str,
    body: bytes,
    message_id: str,
    now: int,
    window: int,
    content_type: str = CONTENT_TYPE,
) -> dict[str, str]:
    """Headers for a signed POST of `body` to `url`."""
    headers = {
        "content-type": content_type,
        "content-digest": sig.content_digest(body),
        MESSAGE_ID_HEADER: message_id,
    }
    msg = sig.HttpMessage.of(headers.items(), method="POST", target_uri=url)
    si, sv = sig.sign(
        msg,
        key=key,
        keyid=key_fingerprint(key),
        label=LABEL,
        components=REQUEST_COMPONENTS,
        created=now,
        expires=now + window,
        nonce=_nonce(),
        tag=TAG,
    )
    headers["signature-input"] = si
    headers["signature"] = sv
    return headers


def sign_response(
    *,
    key: Ed25519PrivateKey,
    status: int,
    body: bytes,
    message_id: str,
    in_reply_to: str,
    now: int,
    window: int,
    content_type: str = CONTENT_TYPE,
) -> dict[str, str]:
    """Headers for a signed response (receipt or refusal)."""
    headers = {
        "content-type": content_type,
        "content-digest": sig.content_digest(body),
        MESSAGE_ID_HEADER: message_id,
        IN_REPLY_TO_HEADER: in_reply_to,
    }
    msg = sig.HttpMessage.of(headers.items(), status=status)
    si, sv = sig.sign(
        msg,
        key=key,
        keyid=key_fingerprint(key),
        label=LABEL,
        components=RESPONSE_COMPONENTS,
        created=now,
        expires=now + window,
        nonce=_nonce(),
        tag=TAG,
    )
    headers["signature-input"] = si
    headers["signature"] = sv
    return headers


@dataclass(frozen=True, slots=True)
class Receipt:
    """The peer's signed acknowledgement: the id it files our message under."""

    peer_message_id: str
    duplicate: bool


def _tls_reason(exc: BaseException) -> str:
    """The OpenSSL reason of a TLS failure (e.g. 'sslv3 alert certificate expired'), else
    the exception type: codes only, never data."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return (cur.reason or type(cur).__name__).lower().replace("_", " ")
        text = str(cur)
        if "[SSL:" in text:
            return text.split("]", 1)[0].split(":", 1)[1].strip().lower().replace("_", " ")
        cur = cur.__cause__ or cur.__context__
    if isinstance(exc, httpx.RemoteProtocolError):
        # TLS 1.3: a refused client certificate shows as a connection closed without answer.
        return (
            "the peer closed the connection without answering (with TLS 1.3, how a refused client "
            "certificate shows: expired, or from a CA the peer does not trust)"
        )
    return type(exc).__name__


class PeerClient:
    """Delivers envelopes to peers. One pooled httpx client per peer (keep-alive: one TLS
    handshake per connection, not per message); thread-safe for concurrent deliveries."""

    def __init__(
        self,
        *,
        signing_key: Ed25519PrivateKey,
        cert_file: Path,
        key_file: Path,
        clock: Callable[[], int],
        window: int = 300,
        timeout: float = 15.0,
    ) -> None:
        self._key = signing_key
        self._cert_file = cert_file
        self._key_file = key_file
        self._clock = clock
        self._window = window
        self._timeout = timeout
        self._clients: dict[tuple[str, str], httpx.Client] = {}
        self._lock = threading.Lock()
        try:
            own = load_certificate(cert_file.read_bytes())
        except OSError:
            raise ConfigError(N_("the node's TLS certificate file cannot be read")) from None
        self._cert_not_after = int(own.not_valid_after_utc.timestamp())

    def _client(self, peer: Peer) -> httpx.Client:
        k = (peer.id, peer.ca_pem)
        with self._lock:
            c = self._clients.get(k)
            if c is None:
                ctx = client_context(
                    cert_file=self._cert_file, key_file=self._key_file, peer_ca_pem=peer.ca_pem
                )
                c = httpx.Client(
                    verify=ctx,
                    timeout=self._timeout,
                    limits=httpx.Limits(max_connections=16),
                    trust_env=False,
                )
                self._clients[k] = c
            return c

    def deliver(self, peer: Peer, envelope: Envelope) -> Receipt:
        """POST the signed envelope; verify the signed response; return the peer's receipt.

        `PeerUnreachable` on connection or TLS failure, `PeerRefused` on a signed refusal
        (or on a response whose signature does not verify: that is never taken as a receipt).
        """
        body = envelope.to_bytes()
        return self.post(peer, body, envelope.message_id)

    def post(self, peer: Peer, body: bytes, message_id: str) -> Receipt:
        url = peer.url.rstrip("/") + MESSAGE_PATH
        if self._clock() >= self._cert_not_after:
            # With TLS 1.3 a peer refuses a client certificate after the handshake, and the
            # caller would only see a closed connection: say what is wrong before trying.
            raise PeerUnreachable(
                N_(
                    "cannot deliver to peer %(name)s: this node's TLS certificate expired; renew it (peers "
                    "refuse an expired certificate in the TLS handshake)"
                ), name=peer.name
            )
        headers = sign_request(
            key=self._key, url=url, body=body, message_id=message_id, now=self._clock(), window=self._window
        )
        try:
            r = self._client(peer).post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise PeerUnreachable(
                N_(
                    "cannot deliver to peer %(name)s: %(tls_reason)s (safe to retry)"
                ), name=peer.name, tls_reason=_tls_reason(exc)
            ) from None
        public = public_key_from_raw(peer.signing_key)
        self.verify_response(r, public=public, keyid=peer.keyid, in_reply_to=message_id)
        data = _json(r.content)
        if r.status_code >= 400:
            raise PeerRefused(
                str(data.get("error", "unknown")), str(data.get("detail", ""))[:300], status=r.status_code
            )
        receipt = data.get("receipt")
        if r.status_code not in (200, 202) or not isinstance(receipt, str):
            raise PeerRefused("bad_receipt", "the peer's answer is not a receipt", status=r.status_code)
        return Receipt(receipt, bool(data.get("duplicate", False)))

    def post_signed(
        self, peer: Peer, path: str, body: bytes, *, content_type: str
    ) -> httpx.Response:
        """POST `body` to `path` of the peer's API, signed like every message, and return the
        response after verifying its signature (any status: the caller reads it).
        `PeerUnreachable` on connection failure, `PeerRefused` on an unsigned answer."""
        url = peer.url.rstrip("/") + path
        message_id = _nonce()
        headers = sign_request(
            key=self._key,
            url=url,
            body=body,
            message_id=message_id,
            now=self._clock(),
            window=self._window,
            content_type=content_type,
        )
        try:
            r = self._client(peer).post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise PeerUnreachable(N_(
                "cannot reach peer %(name)s: %(tls_reason)s"
            ), name=peer.name, tls_reason=_tls_reason(exc)) from None
        public = public_key_from_raw(peer.signing_key)
        self.verify_response(r, public=public, keyid=peer.keyid, in_reply_to=message_id)
        return r

    def verify_response(
        self, r: httpx.Response, *, public: Ed25519PublicKey, keyid: str, in_reply_to: str
    ) -> None:
        msg = sig.HttpMessage.of(r.headers.multi_items(), status=r.status_code)

        def key_for(k: str) -> Ed25519PublicKey:
            if k != keyid:
                raise sig.SignatureError(sig.Reason.UNKNOWN_KEY, "response signed with another key")
            return public

        try:
            sig.verify(
                msg,
                label=LABEL,
                key_for=key_for,
                required=RESPONSE_COMPONENTS,
                now=self._clock(),
                max_age=self._window,
                tag=TAG,
            )
            sig.verify_content_digest(r.headers.get("content-digest"), r.content)
        except sig.SignatureError as exc:
            raise PeerRefused(
                exc.reason.value,
                f"the peer's response is not validly signed: {exc.detail}",
                status=r.status_code,
            ) from None
        if r.headers.get(IN_REPLY_TO_HEADER) != in_reply_to:
            raise PeerRefused("wrong_reply", "the response answers another message", status=r.status_code)

    def close(self) -> None:
        with self._lock:
            for c in self._clients.values():
                c.close()
            self._clients.clear()


def _json(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def authority_of(url: str) -> str:
    """The RFC 9421 @authority of a URL (lower-case host, port unless default)."""
    msg = sig.HttpMessage({}, method="GET", target_uri=url)
    return sig.signature_base(msg, ["@authority"], {}).split("\n", 1)[0].split(": ", 1)[1]
