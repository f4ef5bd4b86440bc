"""RFC 9421 (HTTP Message Signatures) and RFC 9530 (Content-Digest): the RFCs' own examples,
then corruption probes on our wire profile. Each probe must be detected."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from hypothesis import given, settings
from hypothesis import strategies as st

from pnrguard.exchange import signatures as sig
from pnrguard.exchange.client import (
    LABEL,
    REQUEST_COMPONENTS,
    RESPONSE_COMPONENTS,
    TAG,
    sign_request,
    sign_response,
)
from pnrguard.exchange.identity import key_fingerprint

pytestmark = pytest.mark.unit

# RFC 9421 Appendix B.1.4: test-key-ed25519.
RFC_PRIVATE = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_PUBLIC = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
# RFC 9421 Appendix B.2.6: the test request, its signature base and signature.
RFC_HEADERS = [
    ("Host", "example.com"),
    ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Length", "18"),
]
RFC_COMPONENTS = ["date", "@method", "@path", "@authority", "content-type", "content-length"]
RFC_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");'
    'created=1618884473;keyid="test-key-ed25519"'
)
RFC_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
RFC_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)
RFC_URI = "https://example.com/foo?param=Value&Pet=dog"
RFC_CREATED = 1618884473


def rfc_key() -> Ed25519PrivateKey:
    k = load_pem_private_key(RFC_PRIVATE, None)
    assert isinstance(k, Ed25519PrivateKey)
    return k


def rfc_public() -> Ed25519PublicKey:
    k = load_pem_public_key(RFC_PUBLIC)
    assert isinstance(k, Ed25519PublicKey)
    return k


def rfc_message(extra: list[tuple[str, str]] | None = None) -> sig.HttpMessage:
    return sig.HttpMessage.of([*RFC_HEADERS, *(extra or [])], method="POST", target_uri=RFC_URI)


def test_rfc9421_b26_signature_base_input_and_signature_are_reproduced() -> None:
    key = rfc_key()
    assert key.public_key() == rfc_public()
    params = {"created": RFC_CREATED, "keyid": "test-key-ed25519"}
    assert sig.signature_base(rfc_message(), RFC_COMPONENTS, params) == RFC_BASE
    si, sv = sig.sign(
        rfc_message(),
        key=key,
        keyid="test-key-ed25519",
        label="sig-b26",
        components=RFC_COMPONENTS,
        created=RFC_CREATED,
        alg=None,
    )
    assert si == RFC_INPUT
    assert sv == RFC_SIGNATURE  # Ed25519 is deterministic: byte-exact with the RFC


def test_rfc9421_b26_published_signature_verifies() -> None:
    msg = rfc_message([("Signature-Input", RFC_INPUT), ("Signature", RFC_SIGNATURE)])
    got = sig.verify(
        msg,
        label="sig-b26",
        key_for=lambda k: rfc_public(),
        required=RFC_COMPONENTS,
        now=RFC_CREATED + 10,
        max_age=60,
        require_expires=False,
        require_nonce=False,
    )
    assert got.keyid == "test-key-ed25519"
    assert got.created == RFC_CREATED


def test_rfc9530_content_digest_examples() -> None:
    # RFC 9530 and RFC 9421 B.2: {"hello": "world"}.
    body = b'{"hello": "world"}'
    assert sig.content_digest(body) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    sig.verify_content_digest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", body)
    sha512 = (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    )
    assert base64.b64encode(hashlib.sha512(body).digest()).decode() in sha512
    with pytest.raises(sig.SignatureError) as e:
        sig.verify_content_digest(sha512, body)  # sha-256 is required, sha-512 alone is not enough
    assert e.value.reason is sig.Reason.DIGEST
    with pytest.raises(sig.SignatureError):
        sig.verify_content_digest(sig.content_digest(body), body + b" ")


# --- our profile: round trip and corruption probes ------------------------------------------

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
URL = "https://piu.example:8443/peer/v1/messages"
BODY = b'{"message_id":"0123456789abcdef0123456789abcdef"}'
MID = "0123456789abcdef0123456789abcdef"
NOW = 1_800_000_000


def _signed(now: int = NOW) -> list[tuple[str, str]]:
    return list(sign_request(key=KEY, url=URL, body=BODY, message_id=MID, now=now, window=300).items())


def _verify(
    headers: list[tuple[str, str]], *, url: str = URL, method: str = "POST", now: int = NOW + 1
) -> sig.SignedParams:
    def key_for(keyid: str) -> Ed25519PublicKey:
        if keyid != key_fingerprint(KEY):
            raise sig.SignatureError(sig.Reason.UNKNOWN_KEY, "unknown")
        return KEY.public_key()

    msg = sig.HttpMessage.of(headers, method=method, target_uri=url)
    got = sig.verify(
        msg, label=LABEL, key_for=key_for, required=REQUEST_COMPONENTS, now=now, max_age=300, tag=TAG
    )
    sig.verify_content_digest(dict(headers)["content-digest"], BODY)
    return got


def _reason(headers: list[tuple[str, str]], **kw: object) -> sig.Reason:
    with pytest.raises(sig.SignatureError) as e:
        _verify(headers, **kw)  # type: ignore[arg-type]
    return e.value.reason


def _replace(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == name else v) for k, v in headers]


def test_round_trip() -> None:
    got = _verify(_signed())
    assert got.keyid == key_fingerprint(KEY)
    assert got.nonce is not None
    assert len(got.nonce) == 32
    assert got.expires == NOW + 300
    assert got.components == REQUEST_COMPONENTS


def test_every_bit_of_the_signature_matters() -> None:
    headers = _signed()
    value = dict(headers)["signature"]
    raw = base64.b64decode(value.split(":")[1])
    for i in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[i // 8] ^= 1 << (i % 8)
        bad = f"{LABEL}=:{base64.b64encode(bytes(flipped)).decode()}:"
        assert _reason(_replace(headers, "signature", bad)) is sig.Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("change", "kw"),
    [
        ({"pnrguard-message-id": "f" * 32}, {}),
        ({"content-type": "text/plain"}, {}),
        ({"content-digest": sig.content_digest(b"{}")}, {}),
        ({}, {"url": "https://other.example:8443/peer/v1/messages"}),
        ({}, {"url": "https://piu.example:8443/peer/v1/other"}),
        ({}, {"method": "PUT"}),
    ],
)
def test_a_changed_covered_component_is_detected(change: dict[str, str], kw: dict[str, str]) -> None:
    headers = _signed()
    for name, value in change.items():
        headers = _replace(headers, name, value)
    assert _reason(headers, **kw) is sig.Reason.BAD_SIGNATURE


def test_changed_or_reordered_parameters_are_detected() -> None:
    headers = _signed()
    si = dict(headers)["signature-input"]
    inner, params = si.split(")", 1)
    parts = params.split(";")[1:]
    reordered = f"{inner});" + ";".join(reversed(parts))
    assert _reason(_replace(headers, "signature-input", reordered)) is sig.Reason.BAD_SIGNATURE
    swapped = si.replace('"@method" "@target-uri"', '"@target-uri" "@method"')
    assert _reason(_replace(headers, "signature-input", swapped)) is sig.Reason.BAD_SIGNATURE
    later = si.replace(f"expires={NOW + 300}", f"expires={NOW + 301}")
    assert _reason(_replace(headers, "signature-input", later)) is sig.Reason.BAD_SIGNATURE
    other_nonce = si.replace('nonce="', 'nonce="0')
    assert _reason(_replace(headers, "signature-input", other_nonce)) is sig.Reason.BAD_SIGNATURE


def test_a_dropped_component_is_refused_even_if_signed() -> None:
    # A signature that does not cover the message id header is refused, validly signed or not.
    headers = {
        "content-type": "application/json",
        "content-digest": sig.content_digest(BODY),
        "pnrguard-message-id": MID,
    }
    msg = sig.HttpMessage.of(headers.items(), method="POST", target_uri=URL)
    si, sv = sig.sign(
        msg,
        key=KEY,
        keyid=key_fingerprint(KEY),
        label=LABEL,
        components=REQUEST_COMPONENTS[:-1],
        created=NOW,
        expires=NOW + 300,
        nonce="n" * 32,
        tag=TAG,
    )
    assert (
        _reason([*headers.items(), ("signature-input", si), ("signature", sv)])
        is sig.Reason.MISSING_COMPONENT
    )


def test_time_window() -> None:
    assert _reason(_signed(), now=NOW + 301 + 5) is sig.Reason.EXPIRED  # expired
    assert _reason(_signed(now=NOW + 60)) is sig.Reason.FUTURE  # future-dated
    _verify(_signed(now=NOW + 4))  # within the clock skew
    # A signer that asks for a longer life than the receiver's window is refused.
    headers = {
        "content-type": "application/json",
        "content-digest": sig.content_digest(BODY),
        "pnrguard-message-id": MID,
    }
    msg = sig.HttpMessage.of(headers.items(), method="POST", target_uri=URL)
    si, sv = sig.sign(
        msg,
        key=KEY,
        keyid=key_fingerprint(KEY),
        label=LABEL,
        components=REQUEST_COMPONENTS,
        created=NOW,
        expires=NOW + 86_400,
        nonce="n" * 32,
        tag=TAG,
    )
    assert _reason([*headers.items(), ("signature-input", si), ("signature", sv)]) is sig.Reason.EXPIRED


def test_missing_malformed_unknown_and_wrong_tag() -> None:
    headers = _signed()
    assert _reason([(k, v) for k, v in headers if k != "signature"]) is sig.Reason.MISSING
    assert _reason(_replace(headers, "signature", f"{LABEL}=:not base64!:")) is sig.Reason.MALFORMED
    assert _reason(_replace(headers, "signature-input", f"{LABEL}=(")) is sig.Reason.MALFORMED
    si = dict(headers)["signature-input"]
    assert (
        _reason(_replace(headers, "signature-input", si.replace(key_fingerprint(KEY), "x")))
        is sig.Reason.UNKNOWN_KEY
    )
    assert _reason(
        _replace(headers, "signature-input", si.replace('alg="ed25519"', 'alg="rsa-pss-sha512"'))
    ) is (sig.Reason.BAD_ALGORITHM)
    assert _reason(_replace(headers, "signature-input", si.replace(TAG, "other"))) is sig.Reason.WRONG_TAG
    other = Ed25519PrivateKey.generate()
    forged = sign_request(key=other, url=URL, body=BODY, message_id=MID, now=NOW, window=300)
    forged_si = forged["signature-input"].replace(key_fingerprint(other), key_fingerprint(KEY))
    forged_headers = _replace(
        _replace(headers, "signature-input", forged_si), "signature", forged["signature"]
    )
    assert _reason(forged_headers) is sig.Reason.BAD_SIGNATURE


def test_response_signature_covers_status_and_request_id() -> None:
    h = sign_response(
        key=KEY, status=202, body=BODY, message_id=MID, in_reply_to="a" * 32, now=NOW, window=300
    )

    def verify(status: int, headers: dict[str, str]) -> None:
        sig.verify(
            sig.HttpMessage.of(headers.items(), status=status),
            label=LABEL,
            key_for=lambda _k: KEY.public_key(),
            required=RESPONSE_COMPONENTS,
            now=NOW,
            max_age=300,
            tag=TAG,
        )

    verify(202, h)
    with pytest.raises(sig.SignatureError):
        verify(200, h)
    with pytest.raises(sig.SignatureError):
        verify(202, {**h, "pnrguard-in-reply-to": "b" * 32})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120))
def test_structured_field_parser_never_crashes(text: str) -> None:
    reason = None
    try:
        sig.parse_dictionary(text)
    except sig.SignatureError as exc:
        reason = exc.reason
    assert reason in (None, sig.Reason.MALFORMED)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=2**40))
def test_round_trip_any_body_and_time(body: bytes, now: int) -> None:
    headers = sign_request(key=KEY, url=URL, body=body, message_id=MID, now=now, window=300)
    msg = sig.HttpMessage.of(headers.items(), method="POST", target_uri=URL)
    sig.verify(
        msg,
        label=LABEL,
        key_for=lambda _k: KEY.public_key(),
        required=REQUEST_COMPONENTS,
        now=now,
        max_age=300,
        tag=TAG,
    )
    sig.verify_content_digest(headers["content-digest"], body)
