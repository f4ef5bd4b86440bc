"""Per-booking field encryption: AES-256-GCM with data keys wrapped by the key store.

Why a key per booking: deleting a booking must be final even in backups and replicas we
cannot rewrite, and masking at 6 months must make names unreadable without a judicial
approval. Both become key operations. A booking has two data keys (DESIGN.md, Security
notes):

- the *identity key* encrypts the fields masked at 6 months (REQUIREMENTS §5): names and
  fellow travellers, address and contact data, identifying payment data, frequent-flyer
  data, identifying remarks, all API data;
- the *content key* encrypts the rest (itinerary, ticketing, baggage, ...).

Masking locks the identity key behind judicial approval; deletion destroys both wrapped
keys (crypto-shredding: the store deletes the wrapped-key rows and every copy of the
ciphertext becomes noise). Which column uses which key is decided by the masking rules,
not here; this module only needs the `KeyKind`.

A field ciphertext is ``0x01 || nonce(12) || ciphertext || tag(16)``: a format byte so the
construction can change without guessing, a fresh 96-bit random nonce per encryption
(2**32 encryptions under one key keep the collision risk below 2**-32, and a booking key
encrypts a few dozen fields), and associated data binding the ciphertext to its
(table, column, booking id, data-key version). The format byte is authenticated too. So a
ciphertext copied into another row, column or booking, replayed after a re-key, truncated,
extended or altered in any bit fails authentication, and the error says so without data.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import struct
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pnrguard.errors import N_, CryptoError
from pnrguard.protection.keystore import DATA_KEY_SIZE, KeyStore, Secret, WrappedKey

__all__ = [
    "FIELD_FORMAT",
    "AssociatedData",
    "BookingKeys",
    "KeyKind",
    "WrappedBookingKeys",
    "decrypt_field",
    "encrypt_field",
    "key_context",
    "new_data_key",
    "receipt_period",
    "unwrap_booking_keys",
    "wrap_booking_keys",
]

#: The first byte of every field ciphertext.
FIELD_FORMAT = 0x01
_HEADER = bytes([FIELD_FORMAT])
_NONCE_SIZE = 12
_TAG_SIZE = 16
_OVERHEAD = 1 + _NONCE_SIZE + _TAG_SIZE
_U32 = struct.Struct(">I")
_MAX_VERSION = 2**32 - 1
#: Domain-separation prefixes: field AD, wrap context and the key store's wrap AD never collide.
_FIELD_AD_PREFIX = b"pnrguard/field/v1\x00"
_CONTEXT_PREFIX = b"pnrguard/data-key/v1\x00"


def _lp(text: str, what: str) -> bytes:
    """Length-prefixed UTF-8: the encoding stays injective whatever the characters."""
    if not isinstance(text, str) or not text:
        raise CryptoError(N_("associated data: %(what)s must be a non-empty string"), what=what)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise CryptoError(N_("associated data: %(what)s is not encodable as UTF-8"), what=what) from None
    return _U32.pack(len(raw)) + raw


def _check_version(version: int, what: str) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= _MAX_VERSION:
        raise CryptoError(N_("%(what)s must be an integer in 0..2**32-1"), what=what)


class KeyKind(StrEnum):
    """Which of a booking's two data keys."""

    IDENTITY = "identity"
    CONTENT = "content"


@dataclass(frozen=True, slots=True)
class AssociatedData:
    """What a field ciphertext is bound to: where it is stored and under which key version.

    `key_version` is the booking's *data-key* version (it changes when a booking is
    re-keyed), not the KEK version: KEK rotation rewraps data keys and never touches field
    ciphertexts. The canonical encoding is a fixed prefix, then table, column and booking id
    each as a 4-byte big-endian length and UTF-8, then the version as 4 bytes big-endian:
    two different values never encode alike.
    """

    table: str
    column: str
    booking_id: str
    key_version: int
    _encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_version(self.key_version, "associated data: key_version")
        encoded = (
            _FIELD_AD_PREFIX
            + _lp(self.table, "table")
            + _lp(self.column, "column")
            + _lp(self.booking_id, "booking_id")
            + _U32.pack(self.key_version)
        )
        object.__setattr__(self, "_encoded", encoded)

    def encode(self) -> bytes:
        """The canonical bytes authenticated with the ciphertext."""
        return self._encoded


def new_data_key() -> bytes:
    """A fresh 256-bit data key from the OS CSPRNG."""
    return secrets.token_bytes(DATA_KEY_SIZE)


def _cipher(key: bytes | Secret[bytes]) -> AESGCM:
    raw = key.reveal() if isinstance(key, Secret) else key
    if not isinstance(raw, bytes) or len(raw) != DATA_KEY_SIZE:
        raise CryptoError(N_("data key must be %(DATA_KEY_SIZE)s bytes"), DATA_KEY_SIZE=DATA_KEY_SIZE)
    return AESGCM(raw)


def encrypt_field(key: bytes | Secret[bytes], plaintext: bytes, *, aad: AssociatedData) -> bytes:
    """Encrypt one field value; the result only decrypts with the same key and `aad`."""
    if not isinstance(plaintext, bytes):
        raise CryptoError(N_("plaintext must be bytes"))
    nonce = os.urandom(_NONCE_SIZE)
    return _HEADER + nonce + _cipher(key).encrypt(nonce, plaintext, _HEADER + aad.encode())


def decrypt_field(key: bytes | Secret[bytes], blob: bytes, *, aad: AssociatedData) -> bytes:
    """Decrypt one field value; raises `CryptoError` (with no data in its message) on any
    tampering, a wrong key, or a ciphertext that belongs to another row, column or booking."""
    if not isinstance(blob, bytes) or len(blob) < _OVERHEAD:
        raise CryptoError(N_("field ciphertext is truncated or not bytes"))
    if blob[0] != FIELD_FORMAT:
        raise CryptoError(N_("field ciphertext has an unknown format byte"))
    cipher = _cipher(key)
    try:
        return cipher.decrypt(blob[1 : 1 + _NONCE_SIZE], blob[1 + _NONCE_SIZE :], _HEADER + aad.encode())
    except InvalidTag:
        raise CryptoError(
            N_(
                "field ciphertext failed authentication (tampered, wrong key, or stored under another "
                "table, column, booking or key version)"
            )
        ) from None


def key_context(booking_id: str, kind: KeyKind, key_version: int) -> bytes:
    """The wrap context of one data key: binds the wrapped key to its booking, its kind and
    its version, so a wrapped key copied to another booking, or an identity key presented
    as a content key, does not unwrap."""
    _check_version(key_version, "key_version")
    return (
        _CONTEXT_PREFIX
        + _lp(booking_id, "booking_id")
        + _lp(KeyKind(kind).value, "kind")
        + _U32.pack(key_version)
    )


@dataclass(frozen=True, slots=True)
class BookingKeys:
    """A booking's two data keys in clear, in memory only while a use case needs them.

    `version` is the data-key version that goes into every field's `AssociatedData`.
    """

    identity: Secret[bytes]
    content: Secret[bytes]
    version: int = 1

    def __post_init__(self) -> None:
        _check_version(self.version, "key version")
        for key in (self.identity, self.content):
            if not isinstance(key, Secret) or len(key) != DATA_KEY_SIZE:
                raise CryptoError(
                    N_("booking keys must be Secret values of %(DATA_KEY_SIZE)s bytes"),
                    DATA_KEY_SIZE=DATA_KEY_SIZE,
                )

    @classmethod
    def generate(cls, *, version: int = 1) -> BookingKeys:
        """Two fresh independent data keys."""
        return cls(Secret(new_data_key()), Secret(new_data_key()), version)

    def key(self, kind: KeyKind) -> Secret[bytes]:
        return self.identity if kind is KeyKind.IDENTITY else self.content


@dataclass(frozen=True, slots=True)
class WrappedBookingKeys:
    """A booking's data keys as stored: wrapped by the key store, safe at rest.

    Deleting this (both wrapped keys, and any backup rows of them) is the crypto-shredding of
    the booking; deleting only `identity` leaves the non-identifying content readable."""

    identity: WrappedKey
    content: WrappedKey
    version: int = 1


def receipt_period(at: dt.datetime) -> str:
    """The key period of something received at `at`: its UTC month, ``YYYY-MM``.

    Why a month: the retention rules count from receipt, so all bookings of a month are
    deleted within about a month of each other, and the period KEK dies soon after the
    last of them (issue 10, item 8)."""
    if at.utcoffset() is None:
        raise CryptoError(N_("receipt_period needs a timezone-aware time"))
    return at.astimezone(dt.UTC).strftime("%Y-%m")


def wrap_booking_keys(
    store: KeyStore, keys: BookingKeys, *, booking_id: str, period: str | None = None
) -> WrappedBookingKeys:
    """Wrap both keys of a booking, each bound to (booking id, kind, version), under the KEK
    of `period` (the booking's month of receipt; None: the master KEK, as before periods)."""
    return WrappedBookingKeys(
        identity=store.wrap(
            keys.identity.reveal(),
            context=key_context(booking_id, KeyKind.IDENTITY, keys.version),
            period=period,
        ),
        content=store.wrap(
            keys.content.reveal(),
            context=key_context(booking_id, KeyKind.CONTENT, keys.version),
            period=period,
        ),
        version=keys.version,
    )


def unwrap_booking_keys(store: KeyStore, wrapped: WrappedBookingKeys, *, booking_id: str) -> BookingKeys:
    """Unwrap both keys of a booking; `CryptoError` if either is not authentic for it."""
    return BookingKeys(
        identity=Secret(
            store.unwrap(wrapped.identity, context=key_context(booking_id, KeyKind.IDENTITY, wrapped.version))
        ),
        content=Secret(
            store.unwrap(wrapped.content, context=key_context(booking_id, KeyKind.CONTENT, wrapped.version))
        ),
        version=wrapped.version,
    )
