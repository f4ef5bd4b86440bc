"""Peer identity and trust: this node's identity card, registering and revoking peers.

Split out of `service/exchange.py` (one concept per module); `service.exchange` re-exports
these names. Why it works this way (docs/federation.md): a peer is registered only from its
identity card after its operator confirmed both fingerprints out of band, revocation takes
effect on the next message, and every change is an audited ``alteration``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
import threading

from cryptography.hazmat.primitives import serialization

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConfigError, InputError, NotFoundError
from pnrguard.exchange.identity import (
    IdentityCard,
    load_certificate,
    normalise_fingerprint,
    raw_public_key,
    server_context,
)
from pnrguard.exchange.peers import Peer, PeerKind
from pnrguard.service.bootstrap import Node
from pnrguard.service.ingest import opaque
from pnrguard.store.exchange import SqlPeerDirectory
from pnrguard.store.repository import new_id

__all__ = [
    "LiveTrust",
    "list_peers",
    "node_card",
    "peer_api_url",
    "peer_ca_bundle",
    "register_peer",
    "revoke_peer",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def peer_api_url(node: Node) -> str:
    s = node.settings
    return s.peer_api_url or f"https://{s.peer_api_host}:{s.peer_api_port}"


def node_card(node: Node) -> IdentityCard:
    """This node's identity card (public material only), for `pnrguard node identity --export`."""
    s = node.settings
    try:
        cert_pem = s.tls_cert_file.read_text("ascii")
        ca_pem = s.tls_ca_file.read_text("ascii")
    except OSError:
        raise ConfigError(
            N_(
                "the node's TLS certificate or CA file is missing: run `pnrguard node identity "
                "--create-cert` or set PNRGUARD_TLS_CERT_FILE / PNRGUARD_TLS_CA_FILE"
            )
        ) from None
    leaf = load_certificate(cert_pem)
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM).decode("ascii")
    raw = raw_public_key(node.keystore.signing_key())
    return IdentityCard(
        name=s.node_name,
        country=s.node_country,
        url=peer_api_url(node),
        cert_pem=leaf_pem,
        ca_pem=ca_pem,
        signing_key=base64.b64encode(raw).decode("ascii"),
    )


def register_peer(
    card: IdentityCard,
    *,
    cert_fingerprint: str,
    key_fingerprint: str,
    kind: PeerKind = PeerKind.MEMBER_STATE,
    onward_condition: str | None = None,
    actor: str,
    node: Node,
) -> Peer:
    """Register a peer from its identity card, after its operator confirmed both fingerprints
    out of band: both must equal what the card holds, or nothing is stored."""
    if normalise_fingerprint(cert_fingerprint) != card.cert_fingerprint:
        raise InputError(N_("the certificate fingerprint does not match the card: do not register this peer"))
    if normalise_fingerprint(key_fingerprint) != card.keyid:
        raise InputError(N_("the signing key fingerprint does not match the card: do not register this peer"))
    if not _NAME.fullmatch(card.name):
        raise InputError(N_("a peer name is an opaque id (letters, digits, . _ : / -)"))
    if kind is PeerKind.THIRD_COUNTRY and not (onward_condition or "").strip():
        raise InputError(N_("a third country is registered with its onward-transfer undertaking"))
    if not card.url.startswith("https://"):
        raise InputError(N_("a peer's URL is https"))
    cert = load_certificate(card.cert_pem)
    now = node.clock()
    if cert.not_valid_after_utc <= now:
        raise InputError(N_("the peer's certificate has expired: ask for its renewed identity card"))
    p = Peer(
        id=new_id(),
        name=card.name,
        country=card.country.upper()[:3],
        kind=kind,
        url=card.url,
        keyid=card.keyid,
        signing_key=card.signing_key_raw,
        cert_pem=card.cert_pem,
        cert_fingerprint=card.cert_fingerprint,
        cert_not_after=cert.not_valid_after_utc,
        ca_pem=card.ca_pem,
        created_at=now,
        onward_condition=(onward_condition or "").strip() or None,
    )
    with node.engine.begin() as conn:
        SqlPeerDirectory(conn).add(p)
        node.audit(conn).append(
            actor=opaque(actor),
            role="admin",
            operation=Operation.ALTERATION,
            purpose=Purpose.SYSTEM_SECURITY,
            record_ids=[f"peer:{p.name}"],
            counts={f"exchange.peer.registered.{kind.value}": 1},
            reference=p.id,
        )
    return p


def revoke_peer(name: str, *, actor: str, node: Node) -> bool:
    """Revoke a peer: its messages are refused from the next one on (no restart needed)."""
    with node.engine.begin() as conn:
        directory = SqlPeerDirectory(conn)
        p = directory.by_name(name)
        if p is None:
            raise NotFoundError(N_("no such peer"))
        done = directory.revoke(name, at=node.clock())
        if done:
            node.audit(conn).append(
                actor=opaque(actor),
                role="admin",
                operation=Operation.ALTERATION,
                purpose=Purpose.SYSTEM_SECURITY,
                record_ids=[f"peer:{p.name}"],
                counts={"exchange.peer.revoked": 1},
                reference=p.id,
            )
    return done


def list_peers(node: Node) -> list[Peer]:
    with node.engine.connect() as conn:
        return SqlPeerDirectory(conn).all()


def peer_ca_bundle(node: Node) -> str:
    with node.engine.connect() as conn:
        return SqlPeerDirectory(conn).ca_bundle()


class LiveTrust:
    """The peer API's TLS trust, read from the peer registry at every TLS handshake.

    Why: registering or revoking a peer (on `/admin/peers` or with `pnrguard peers`) must
    take effect in a running `pnrguard peers serve`, not at its next restart: a revoked
    peer's CA must stop admitting connections, a new peer's must start. `attach` sets the
    server context's SNI callback, which OpenSSL calls on every ClientHello (with or without
    a server name); it swaps in a context whose trusted CAs are the active peers' now. A
    context is built once per distinct bundle. A registry that cannot be read refuses the
    handshake (fail closed)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._contexts: dict[bytes, ssl.SSLContext] = {}

    def context(self) -> ssl.SSLContext:
        """The server context trusting the peers registered and not revoked at this moment."""
        bundle = peer_ca_bundle(self._node)
        digest = hashlib.sha256(bundle.encode("ascii")).digest()
        with self._lock:
            ctx = self._contexts.get(digest)
            if ctx is None:
                s = self._node.settings
                ctx = server_context(cert_file=s.tls_cert_file, key_file=s.tls_key_file, peer_ca_pem=bundle)
                self._contexts = {digest: ctx}  # the previous bundle is not needed again
            return ctx

    def _on_hello(self, conn: ssl.SSLObject | ssl.SSLSocket, _name: str | None, _ctx: ssl.SSLContext) -> None:
        conn.context = self.context()

    def attach(self, ctx: ssl.SSLContext) -> ssl.SSLContext:
        """Make `ctx` (the server's listening context) re-read the trusted peers per handshake."""
        ctx.sni_callback = self._on_hello
        return ctx
