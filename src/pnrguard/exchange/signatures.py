"""HTTP Message Signatures (RFC 9421, Ed25519) and Content-Digest (RFC 9530, sha-256).

Why our own code: the exchange between PIUs hangs on these few hundred lines, the subset we
need is small (Ed25519, derived components of requests and responses, header fields), and
the available Python packages either pull in a second crypto stack or do not check what we
must check (a time window, a nonce, a fixed set of covered components). This module is
pure: no I/O, no clock of its own (callers pass `now`), no replay cache (callers keep one,
in the database, see `store.exchange`). It is tested against the RFC's own Appendix B.2.6
example plus corruption probes (a flipped bit, a changed or missing component, reordered
parameters, expired, future-dated).

What `verify` guarantees when it returns: the named signature exists, its parameters parse,
every component in `required` is covered, the signature verifies over the signature base
rebuilt from the message, `alg` (if given) is ed25519, `created` is not in the future
beyond `skew`, not older than `max_age`, and `expires` (required unless disabled) has not
passed. The caller still checks the nonce against its replay cache and the content digest
against the body (`verify_content_digest`), and maps the keyid to a peer.

Every failure raises `SignatureError` with a stable `reason` code (for the audit log's
count keys and for the peer's error message) and a text with no message content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "HttpMessage",
    "Reason",
    "SignatureError",
    "SignedParams",
    "content_digest",
    "parse_dictionary",
    "serialize_signature_params",
    "sign",
    "signature_base",
    "verify",
    "verify_content_digest",
]


class Reason(StrEnum):
    """Why a signed message was refused; stable codes, used as audit count keys."""

    MISSING = "missing_signature"
    MALFORMED = "malformed_signature"
    UNKNOWN_KEY = "unknown_peer"
    REVOKED = "revoked_peer"
    CERT_EXPIRED = "certificate_expired"
    BAD_SIGNATURE = "bad_signature"
    MISSING_COMPONENT = "missing_component"
    BAD_ALGORITHM = "bad_algorithm"
    EXPIRED = "expired"
    FUTURE = "future_dated"
    REPLAY = "replay"
    DIGEST = "content_digest"
    WRONG_AUTHORITY = "wrong_authority"
    WRONG_TAG = "wrong_tag"


class SignatureError(Exception):
    """A signature or digest check failed. `reason` is a `Reason`; the text names the check,
    never content. Services translate it into the node's error hierarchy."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


# --- RFC 8941 structured fields: the subset RFC 9421 and RFC 9530 use ----------------------

_TOKEN_START = re.compile(r"[A-Za-z*]")
_TOKEN_CHARS = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_INT = re.compile(r"-?[0-9]{1,15}")
_B64 = re.compile(r"[A-Za-z0-9+/=]*")


class Token(str):
    """An sf-token (serialised without quotes)."""

    __slots__ = ()


Bare = int | bool | str | bytes
Params = dict[str, Bare]


@dataclass(frozen=True, slots=True)
class Item:
    value: Bare
    params: Params = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


class _Parser:
    """A strict parser of RFC 8941 dictionaries (decimals are not supported: unused here)."""

    def __init__(self, text: str) -> None:
        if not text.isascii():
            raise SignatureError(Reason.MALFORMED, "structured field is not ASCII")
        self.s = text
        self.i = 0

    def _peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def _ows(self) -> None:
        while self._peek() in (" ", "\t") and self._peek():
            self.i += 1

    def _sp(self) -> None:
        while self._peek() == " ":
            self.i += 1

    def _fail(self, what: str) -> SignatureError:
        return SignatureError(Reason.MALFORMED, f"structured field: {what} at offset {self.i}")

    def key(self) -> str:
        m = _KEY.match(self.s, self.i)
        if not m:
            raise self._fail("expected a key")
        self.i = m.end()
        return m.group()

    def bare(self) -> Bare:
        c = self._peek()
        if c == '"':
            self.i += 1
            out: list[str] = []
            while True:
                c = self._peek()
                if not c:
                    raise self._fail("unterminated string")
                self.i += 1
                if c == "\\":
                    nxt = self._peek()
                    if nxt not in ('"', "\\"):
                        raise self._fail("bad escape")
                    out.append(nxt)
                    self.i += 1
                elif c == '"':
                    return "".join(out)
                elif not (" " <= c <= "~"):
                    raise self._fail("bad string character")
                else:
                    out.append(c)
        if c == ":":
            end = self.s.find(":", self.i + 1)
            if end < 0:
                raise self._fail("unterminated byte sequence")
            raw = self.s[self.i + 1 : end]
            if not _B64.fullmatch(raw):
                raise self._fail("bad byte sequence")
            self.i = end + 1
            try:
                return base64.b64decode(raw, validate=True)
            except binascii.Error:
                raise self._fail("bad byte sequence") from None
        if c == "?":
            val = self.s[self.i + 1 : self.i + 2]
            if val not in ("0", "1"):
                raise self._fail("bad boolean")
            self.i += 2
            return val == "1"
        if c == "-" or c.isdigit():
            m = _INT.match(self.s, self.i)
            if not m or (m.end() < len(self.s) and self.s[m.end()] == "."):
                raise self._fail("bad integer (decimals are not accepted)")
            self.i = m.end()
            return int(m.group())
        if _TOKEN_START.match(c or " "):
            m = _TOKEN_CHARS.match(self.s, self.i + 1)
            assert m is not None
            tok = self.s[self.i : m.end()]
            self.i = m.end()
            return Token(tok)
        raise self._fail("expected an item")

    def params(self) -> Params:
        out: Params = {}
        while self._peek() == ";":
            self.i += 1
            self._sp()
            k = self.key()
            v: Bare = True
            if self._peek() == "=":
                self.i += 1
                v = self.bare()
            out[k] = v
        return out

    def item_or_list(self) -> Item | InnerList:
        if self._peek() == "(":
            self.i += 1
            items: list[Item] = []
            while True:
                self._sp()
                if self._peek() == ")":
                    self.i += 1
                    return InnerList(tuple(items), self.params())
                items.append(Item(self.bare(), self.params()))
                if self._peek() not in (" ", ")"):
                    raise self._fail("bad inner list")
        return Item(self.bare(), self.params())

    def dictionary(self) -> dict[str, Item | InnerList]:
        out: dict[str, Item | InnerList] = {}
        self._sp()
        while self.i < len(self.s):
            k = self.key()
            if self._peek() == "=":
                self.i += 1
                out[k] = self.item_or_list()
            else:
                out[k] = Item(True, self.params())
            self._ows()
            if self.i >= len(self.s):
                return out
            if self._peek() != ",":
                raise self._fail("expected a comma")
            self.i += 1
            self._ows()
            if self.i >= len(self.s):
                raise self._fail("trailing comma")
        return out


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """Parse an RFC 8941 dictionary (Signature-Input, Signature, Content-Digest)."""
    return _Parser(text).dictionary()


def _ser_bare(v: Bare) -> str:
    if isinstance(v, bool):
        return "?1" if v else "?0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return ":" + base64.b64encode(v).decode("ascii") + ":"
    if isinstance(v, Token):
        return str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ser_params(params: Mapping[str, Bare]) -> str:
    return "".join(f";{k}" if v is True else f";{k}={_ser_bare(v)}" for k, v in params.items())


# --- the signature base (RFC 9421 section 2) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """What a signature covers, as plain values: the request's method and target URI, or
    the response's status; header fields by lower-case name, each a list of field lines."""

    headers: Mapping[str, Sequence[str]]
    method: str | None = None
    target_uri: str | None = None
    status: int | None = None

    @classmethod
    def of(
        cls,
        headers: Iterable[tuple[str, str]],
        *,
        method: str | None = None,
        target_uri: str | None = None,
        status: int | None = None,
    ) -> HttpMessage:
        merged: dict[str, list[str]] = {}
        for name, value in headers:
            merged.setdefault(name.lower(), []).append(value)
        return cls(merged, method, target_uri, status)


def _component_value(msg: HttpMessage, name: str) -> str:
    missing = SignatureError(Reason.MISSING_COMPONENT, f"component {name!r} is not in the message")
    if name.startswith("@"):
        if name == "@status":
            if msg.status is None:
                raise missing
            return f"{msg.status:03d}"
        if msg.method is None or msg.target_uri is None:
            raise missing
        parts = urlsplit(msg.target_uri)
        if name == "@method":
            return msg.method.upper()
        if name == "@target-uri":
            return msg.target_uri
        if name == "@authority":
            host = (parts.hostname or "").lower()
            port = parts.port
            default = {"https": 443, "http": 80}.get(parts.scheme.lower())
            host = f"[{host}]" if ":" in host else host
            return host if port in (None, default) else f"{host}:{port}"
        if name == "@scheme":
            return parts.scheme.lower()
        if name == "@path":
            return parts.path or "/"
        if name == "@query":
            return "?" + parts.query
        raise SignatureError(Reason.MALFORMED, f"unsupported derived component {name!r}")
    lines = msg.headers.get(name)
    if lines is None:
        raise missing
    # RFC 9421 2.1: strip each field line, join lines with ", ".
    return ", ".join(" ".join(v.strip().split("\n")).strip() for v in lines)


def serialize_signature_params(components: Sequence[str], params: Mapping[str, Bare]) -> str:
    """The inner list value of Signature-Input (and of the ``@signature-params`` line)."""
    return "(" + " ".join(_ser_bare(c) for c in components) + ")" + _ser_params(params)


def signature_base(msg: HttpMessage, components: Sequence[str], params: Mapping[str, Bare]) -> str:
    """The exact text that is signed (RFC 9421 2.5)."""
    if len(set(components)) != len(components):
        raise SignatureError(Reason.MALFORMED, "a component is covered twice")
    lines = []
    for name in components:
        if name != name.lower() or name == "@signature-params":
            raise SignatureError(Reason.MALFORMED, f"bad component name {name!r}")
        value = _component_value(msg, name)
        if "\n" in value or not value.isascii():
            raise SignatureError(Reason.MALFORMED, f"component {name!r} has a bad value")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {serialize_signature_params(components, params)}')
    return "\n".join(lines)


# --- sign and verify ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedParams:
    """The parameters of a verified signature (what the caller needs next)."""

    label: str
    keyid: str
    created: int
    expires: int | None
    nonce: str | None
    tag: str | None
    components: tuple[str, ...]


def sign(
    msg: HttpMessage,
    *,
    key: Ed25519PrivateKey,
    keyid: str,
    label: str,
    components: Sequence[str],
    created: int,
    expires: int | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    alg: str | None = "ed25519",
) -> tuple[str, str]:
    """Sign `msg`; returns the (Signature-Input, Signature) header values.

    Parameters are written in a fixed order (created, expires, nonce, alg, keyid, tag);
    the RFC example B.2.6 uses (created, keyid) without alg, which ``alg=None`` gives.
    """
    params: Params = {"created": created}
    if expires is not None:
        params["expires"] = expires
    if nonce is not None:
        params["nonce"] = nonce
    if alg is not None:
        params["alg"] = alg
    params["keyid"] = keyid
    if tag is not None:
        params["tag"] = tag
    base = signature_base(msg, components, params)
    sig = key.sign(base.encode("ascii"))
    return (
        f"{label}={serialize_signature_params(components, params)}",
        f"{label}={_ser_bare(sig)}",
    )


def _one(msg: HttpMessage, name: str) -> str:
    lines = msg.headers.get(name)
    if not lines:
        raise SignatureError(Reason.MISSING, f"no {name} header")
    return ", ".join(lines)


def verify(
    msg: HttpMessage,
    *,
    label: str,
    key_for: Callable[[str], Ed25519PublicKey],
    required: Sequence[str],
    now: int,
    max_age: int,
    skew: int = 5,
    require_expires: bool = True,
    require_nonce: bool = True,
    tag: str | None = None,
) -> SignedParams:
    """Verify the signature `label` of `msg` (see the module docstring for the guarantees).

    `key_for(keyid)` returns the public key or raises `SignatureError` (unknown or revoked
    peer): it is called before the signature is checked, so its refusal takes precedence.
    """
    try:
        inputs = parse_dictionary(_one(msg, "signature-input"))
        sigs = parse_dictionary(_one(msg, "signature"))
    except SignatureError as exc:
        if exc.reason is Reason.MISSING:
            raise
        raise SignatureError(Reason.MALFORMED, exc.detail) from None
    sig_input = inputs.get(label)
    sig_item = sigs.get(label)
    if sig_input is None or sig_item is None:
        raise SignatureError(Reason.MISSING, f"no signature labelled {label!r}")
    if not isinstance(sig_input, InnerList) or not isinstance(sig_item, Item):
        raise SignatureError(Reason.MALFORMED, "signature input or value has the wrong type")
    if not isinstance(sig_item.value, bytes):
        raise SignatureError(Reason.MALFORMED, "signature value is not a byte sequence")
    components: list[str] = []
    for it in sig_input.items:
        if not isinstance(it.value, str) or isinstance(it.value, Token) or it.params:
            raise SignatureError(Reason.MALFORMED, "component identifiers must be plain strings")
        components.append(it.value)
    p = sig_input.params
    keyid, created = p.get("keyid"), p.get("created")
    expires, nonce, alg, sig_tag = p.get("expires"), p.get("nonce"), p.get("alg"), p.get("tag")
    if not isinstance(keyid, str) or isinstance(keyid, Token) or not keyid:
        raise SignatureError(Reason.MALFORMED, "keyid is missing or not a string")
    if type(created) is not int:
        raise SignatureError(Reason.MALFORMED, "created is missing or not an integer")
    if expires is not None and type(expires) is not int:
        raise SignatureError(Reason.MALFORMED, "expires is not an integer")
    if nonce is not None and (not isinstance(nonce, str) or isinstance(nonce, Token)):
        raise SignatureError(Reason.MALFORMED, "nonce is not a string")
    if sig_tag is not None and (not isinstance(sig_tag, str) or isinstance(sig_tag, Token)):
        raise SignatureError(Reason.MALFORMED, "tag is not a string")
    if alg is not None and alg != "ed25519":
        raise SignatureError(Reason.BAD_ALGORITHM, "only alg=ed25519 is accepted")
    for name in required:
        if name not in components:
            raise SignatureError(Reason.MISSING_COMPONENT, f"{name!r} is not covered by the signature")
    if require_nonce and not nonce:
        raise SignatureError(Reason.MALFORMED, "a nonce is required")
    if require_expires and expires is None:
        raise SignatureError(Reason.MALFORMED, "an expires parameter is required")
    if tag is not None and sig_tag != tag:
        raise SignatureError(Reason.WRONG_TAG, "the signature is not for this protocol (tag)")
    public = key_for(keyid)
    base = signature_base(msg, components, p)
    try:
        public.verify(sig_item.value, base.encode("ascii"))
    except InvalidSignature:
        raise SignatureError(Reason.BAD_SIGNATURE, "the signature does not verify") from None
    # Time checks after the signature: only then are created/expires the signer's words.
    if created > now + skew:
        raise SignatureError(Reason.FUTURE, "created is in the future")
    if now - created > max_age:
        raise SignatureError(Reason.EXPIRED, "created is older than the accepted window")
    if expires is not None and (expires < created or now > expires + skew):
        raise SignatureError(Reason.EXPIRED, "the signature has expired")
    if expires is not None and expires - created > max_age:
        raise SignatureError(Reason.EXPIRED, "the signature's validity is longer than accepted")
    return SignedParams(
        label=label,
        keyid=keyid,
        created=created,
        expires=expires if isinstance(expires, int) else None,
        nonce=nonce if isinstance(nonce, str) else None,
        tag=sig_tag if isinstance(sig_tag, str) else None,
        components=tuple(components),
    )


# --- RFC 9530 Content-Digest ---------------------------------------------------------------


def content_digest(body: bytes) -> str:
    """The Content-Digest header value (sha-256) of `body`."""
    return "sha-256=" + _ser_bare(hashlib.sha256(body).digest())


def verify_content_digest(header: str | None, body: bytes) -> None:
    """Check a Content-Digest header against `body`; sha-256 must be present and match
    (other algorithms are ignored, as RFC 9530 allows, but never accepted alone)."""
    if not header:
        raise SignatureError(Reason.DIGEST, "no Content-Digest header")
    try:
        digests = parse_dictionary(header)
    except SignatureError:
        raise SignatureError(Reason.DIGEST, "Content-Digest does not parse") from None
    item = digests.get("sha-256")
    if not isinstance(item, Item) or not isinstance(item.value, bytes):
        raise SignatureError(Reason.DIGEST, "Content-Digest has no sha-256 byte sequence")
    if not hmac.compare_digest(item.value, hashlib.sha256(body).digest()):
        raise SignatureError(Reason.DIGEST, "the body does not match its Content-Digest")
