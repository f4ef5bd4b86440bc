"""Node identity: the X.509 certificate for mutual TLS, the Ed25519 signing key, their
fingerprints, the *identity card* two nodes swap to trust each other, and TLS contexts.

Why two keys: the certificate admits a connection (mutual TLS, checked by the TLS stack
against the peer's CA), the Ed25519 key identifies the sender of each message (RFC 9421,
checked by the app, which never sees the TLS certificate under Uvicorn). Both are pinned at
registration, out of band: the operators of two nations compare the fingerprints by phone
or letter before either runs `pnrguard peers add` (DESIGN.md, Principles 1: explicit trust,
no central registry).

Fingerprints are lower-case hex SHA-256: of the certificate's DER for certificates, of the
raw 32-byte public key for Ed25519 keys. The key fingerprint is also the RFC 9421 `keyid`,
so a rotated key is a new keyid and can never be confused with the old one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import ipaddress
import json
import ssl
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pnrguard.errors import N_, ConfigError, InputError

__all__ = [
    "CARD_FORMAT",
    "IdentityCard",
    "cert_fingerprint",
    "client_context",
    "create_node_pki",
    "key_fingerprint",
    "load_certificate",
    "public_key_from_raw",
    "raw_public_key",
]

CARD_FORMAT = "pnrguard-identity/1"


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """The first certificate of a PEM text; `InputError` if there is none."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise InputError(N_("not a PEM certificate")) from None


def cert_fingerprint(cert: x509.Certificate | str | bytes) -> str:
    """Lower-case hex SHA-256 of the certificate's DER."""
    c = cert if isinstance(cert, x509.Certificate) else load_certificate(cert)
    return c.fingerprint(hashes.SHA256()).hex()


def raw_public_key(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise InputError(N_("an Ed25519 public key is 32 bytes"))
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> str:
    """Lower-case hex SHA-256 of the raw public key; also the RFC 9421 keyid."""
    raw = key if isinstance(key, bytes) else raw_public_key(key)
    return hashlib.sha256(raw).hexdigest()


def normalise_fingerprint(text: str) -> str:
    """Accept what operators read out: any case, with or without colons or a sha256: prefix."""
    t = text.strip().lower().removeprefix("sha256:").replace(":", "").replace(" ", "")
    if len(t) != 64 or any(c not in "0123456789abcdef" for c in t):
        raise InputError(N_("a fingerprint is 64 hex digits (SHA-256)"))
    return t


def validity(cert: x509.Certificate) -> tuple[dt.datetime, dt.datetime]:
    return cert.not_valid_before_utc, cert.not_valid_after_utc


@dataclass(frozen=True, slots=True)
class IdentityCard:
    """What one node hands another to be registered (`pnrguard node identity --export`).

    Holds no secret. `url` is the base URL of the node's peer API; `ca_pem` the CA that
    issues the node's TLS certificates (the receiving node trusts it for mutual TLS);
    `signing_key` the raw Ed25519 public key, base64.
    """

    name: str
    country: str
    url: str
    cert_pem: str
    ca_pem: str
    signing_key: str
    format: str = CARD_FORMAT

    @property
    def signing_key_raw(self) -> bytes:
        try:
            raw = base64.b64decode(self.signing_key, validate=True)
        except binascii.Error:
            raise InputError(N_("identity card: signing_key is not base64")) from None
        public_key_from_raw(raw)
        return raw

    @property
    def keyid(self) -> str:
        return key_fingerprint(self.signing_key_raw)

    @property
    def cert_fingerprint(self) -> str:
        return cert_fingerprint(self.cert_pem)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> IdentityCard:
        try:
            obj: Any = json.loads(text)
        except ValueError:
            raise InputError(N_("identity card is not JSON")) from None
        fields = {"name", "country", "url", "cert_pem", "ca_pem", "signing_key", "format"}
        if not isinstance(obj, dict) or set(obj) != fields or obj.get("format") != CARD_FORMAT:
            raise InputError(
                N_("identity card must be a %(CARD_FORMAT)s object with fields %(sorted)s"),
                CARD_FORMAT=CARD_FORMAT,
                sorted=sorted(fields),
            )
        if not all(isinstance(v, str) for v in obj.values()):
            raise InputError(N_("identity card fields are strings"))
        card = cls(**obj)
        card.signing_key_raw  # noqa: B018 — validates the key on load
        load_certificate(card.cert_pem)
        load_certificate(card.ca_pem)
        return card


def create_node_pki(
    *, name: str, hosts: list[str], out_dir: Path, days: int = 397, now: dt.datetime | None = None
) -> tuple[Path, Path, Path]:
    """A private CA and a TLS certificate for this node, for nations without a PKI of their own
    (a national PKI's certificate is configured instead with PNRGUARD_TLS_*).

    Writes ca.pem, node.pem (leaf then CA) and node.key (mode 0600) into `out_dir`; returns
    their paths. ECDSA P-256: supported by every TLS stack the peers may run. The leaf is valid
    for both server and client authentication (the same certificate answers and calls).
    """
    now = now or dt.datetime.now(dt.UTC)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} PIU CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days * 3))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = out_dir / "ca.pem", out_dir / "node.pem", out_dir / "node.key"
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def client_context(*, cert_file: Path, key_file: Path, peer_ca_pem: str) -> ssl.SSLContext:
    """The TLS context for calling one peer: our certificate chain, and trust in that peer's
    CA only (not the system store, not other peers' CAs), TLS 1.2 at least, hostname checked."""
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=peer_ca_pem)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert_file), str(key_file))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            N_("cannot build the TLS client context: %(error)s"), error=type(exc).__name__
        ) from None
    return ctx


def server_context(*, cert_file: Path, key_file: Path, peer_ca_pem: str) -> ssl.SSLContext:
    """The peer API's TLS context: our certificate chain, a client certificate required and
    trusted only from the given peers' CAs (none: nobody connects), TLS 1.2 at least."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert_file), str(key_file))
        ctx.verify_mode = ssl.CERT_REQUIRED
        if peer_ca_pem:
            ctx.load_verify_locations(cadata=peer_ca_pem)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            N_("cannot build the TLS server context: %(error)s"), error=type(exc).__name__
        ) from None
    return ctx
