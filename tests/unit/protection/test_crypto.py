"""Per-booking field encryption: round trips and every corruption we can think of.

Policy: the AES-GCM primitive itself is trusted (cryptography/OpenSSL); effort goes into our
construction: format byte, nonce handling, associated data, wrap contexts.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.errors import CryptoError
from pnrguard.protection.crypto import (
    FIELD_FORMAT,
    AssociatedData,
    BookingKeys,
    KeyKind,
    WrappedBookingKeys,
    decrypt_field,
    encrypt_field,
    key_context,
    new_data_key,
    unwrap_booking_keys,
    wrap_booking_keys,
)
from pnrguard.protection.keystore import InMemoryKeyStore, Secret, WrappedKey

pytestmark = pytest.mark.unit

AAD = AssociatedData(table="traveller", column="surname", booking_id="bk-0001", key_version=1)
KEY = bytes(range(32))

names = st.text(min_size=1, max_size=40)
aads = st.builds(
    AssociatedData,
    table=names,
    column=names,
    booking_id=names,
    key_version=st.integers(min_value=0, max_value=2**32 - 1),
)


def _mutations(aad: AssociatedData) -> list[AssociatedData]:
    """Every single-field change, plus the swaps a confused caller could make."""
    other = []
    for f in ("table", "column", "booking_id"):
        other.append(dataclasses.replace(aad, **{f: getattr(aad, f) + "x"}))
    other.append(dataclasses.replace(aad, key_version=(aad.key_version + 1) % 2**32))
    if aad.table != aad.column:
        other.append(dataclasses.replace(aad, table=aad.column, column=aad.table))
    if aad.column != aad.booking_id:
        other.append(dataclasses.replace(aad, column=aad.booking_id, booking_id=aad.column))
    return other


# -- round trips ----------------------------------------------------------------------------
@given(plaintext=st.binary(max_size=4096), aad=aads)
def test_round_trip(plaintext: bytes, aad: AssociatedData) -> None:
    key = new_data_key()
    blob = encrypt_field(key, plaintext, aad=aad)
    assert blob[0] == FIELD_FORMAT
    assert len(blob) == len(plaintext) + 29
    assert decrypt_field(key, blob, aad=aad) == plaintext
    assert decrypt_field(Secret(key), blob, aad=aad) == plaintext


@given(plaintext=st.binary(max_size=256), aad=aads)
def test_other_aad_is_refused(plaintext: bytes, aad: AssociatedData) -> None:
    blob = encrypt_field(KEY, plaintext, aad=aad)
    for other in _mutations(aad):
        with pytest.raises(CryptoError, match="failed authentication"):
            decrypt_field(KEY, blob, aad=other)


@given(a=aads, b=aads)
def test_aad_encoding_is_injective(a: AssociatedData, b: AssociatedData) -> None:
    assert (a.encode() == b.encode()) == (a == b)


def test_aad_encoding_resists_boundary_shifts() -> None:
    # Without length prefixes these two would concatenate to the same bytes.
    a = AssociatedData(table="ab", column="c", booking_id="d", key_version=1)
    b = AssociatedData(table="a", column="bc", booking_id="d", key_version=1)
    assert a.encode() != b.encode()
    blob = encrypt_field(KEY, b"x", aad=a)
    with pytest.raises(CryptoError):
        decrypt_field(KEY, blob, aad=b)


def test_nonces_are_fresh() -> None:
    blobs = {encrypt_field(KEY, b"same", aad=AAD) for _ in range(200)}
    assert len(blobs) == 200
    assert len({b[1:13] for b in blobs}) == 200


def test_our_construction_matches_raw_aes_gcm() -> None:
    """Pins the wire format: header || nonce || AES-GCM(ct||tag) with AD = header || aad."""
    blob = encrypt_field(KEY, b"hello", aad=AAD)
    nonce, sealed = blob[1:13], blob[13:]
    assert AESGCM(KEY).decrypt(nonce, sealed, bytes([FIELD_FORMAT]) + AAD.encode()) == b"hello"
    assert AAD.encode() == (
        b"pnrguard/field/v1\x00"
        + b"\x00\x00\x00\x09traveller"
        + b"\x00\x00\x00\x07surname"
        + b"\x00\x00\x00\x07bk-0001"
        + b"\x00\x00\x00\x01"
    )


# -- corruption probes ----------------------------------------------------------------------
def test_every_bit_flip_is_detected() -> None:
    blob = encrypt_field(KEY, b"AB", aad=AAD)
    for i in range(len(blob) * 8):
        damaged = bytearray(blob)
        damaged[i // 8] ^= 1 << (i % 8)
        with pytest.raises(CryptoError):
            decrypt_field(KEY, bytes(damaged), aad=AAD)


def test_truncation_and_extension_are_detected() -> None:
    blob = encrypt_field(KEY, b"a field value", aad=AAD)
    for n in range(len(blob)):
        with pytest.raises(CryptoError):
            decrypt_field(KEY, blob[:n], aad=AAD)
    for tail in (b"\x00", b"\xff" * 16, blob):
        with pytest.raises(CryptoError):
            decrypt_field(KEY, blob + tail, aad=AAD)


def test_wrong_key_is_detected() -> None:
    blob = encrypt_field(KEY, b"a field value", aad=AAD)
    with pytest.raises(CryptoError, match="failed authentication"):
        decrypt_field(new_data_key(), blob, aad=AAD)


def test_identity_ciphertext_does_not_decrypt_with_content_key() -> None:
    keys = BookingKeys.generate()
    blob = encrypt_field(keys.identity, b"DOE/JOHN", aad=AAD)
    with pytest.raises(CryptoError):
        decrypt_field(keys.content, blob, aad=AAD)


def test_swapped_ciphertexts_between_rows_are_detected() -> None:
    a = dataclasses.replace(AAD, booking_id="bk-A")
    b = dataclasses.replace(AAD, booking_id="bk-B")
    blob_a, blob_b = encrypt_field(KEY, b"A", aad=a), encrypt_field(KEY, b"B", aad=b)
    with pytest.raises(CryptoError):
        decrypt_field(KEY, blob_a, aad=b)
    with pytest.raises(CryptoError):
        decrypt_field(KEY, blob_b, aad=a)


def test_unknown_format_byte_is_refused() -> None:
    blob = encrypt_field(KEY, b"x", aad=AAD)
    with pytest.raises(CryptoError, match="format byte"):
        decrypt_field(KEY, b"\x02" + blob[1:], aad=AAD)


@pytest.mark.parametrize("key", [b"", b"k" * 16, b"k" * 31, b"k" * 33, "k" * 32])
def test_bad_keys_are_refused(key: object) -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        encrypt_field(key, b"x", aad=AAD)  # type: ignore[arg-type]


def test_errors_carry_no_data() -> None:
    plaintext = b"SECRET-SURNAME"
    blob = encrypt_field(KEY, plaintext, aad=AAD)
    messages = []
    calls: list[Callable[[], bytes]] = [
        lambda: decrypt_field(new_data_key(), blob, aad=AAD),
        lambda: decrypt_field(KEY, blob[:-1], aad=AAD),
        lambda: decrypt_field(KEY, blob[:5], aad=AAD),
        lambda: decrypt_field(KEY, blob, aad=dataclasses.replace(AAD, booking_id="bk-9")),
    ]
    for call in calls:
        with pytest.raises(CryptoError) as info:
            call()
        messages.append(str(info.value))
    for msg in messages:
        for needle in ("SECRET", "bk-0001", "bk-9", "surname", KEY.hex(), blob.hex()[:16]):
            assert needle not in msg
    # The chained exception must not drag the primitive's context along either.
    with pytest.raises(CryptoError) as info:
        decrypt_field(new_data_key(), blob, aad=AAD)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"table": ""}, "table"),
        ({"column": ""}, "column"),
        ({"booking_id": ""}, "booking_id"),
        ({"booking_id": "\ud800"}, "booking_id"),
        ({"key_version": -1}, "key_version"),
        ({"key_version": 2**32}, "key_version"),
        ({"key_version": True}, "key_version"),
    ],
)
def test_invalid_associated_data_is_refused(kwargs: dict[str, object], what: str) -> None:
    base: dict[str, object] = {"table": "t", "column": "c", "booking_id": "b", "key_version": 1}
    with pytest.raises(CryptoError, match=what):
        AssociatedData(**(base | kwargs))  # type: ignore[arg-type]


# -- booking keys and wrapping --------------------------------------------------------------
def test_booking_keys_round_trip_through_a_key_store() -> None:
    store = InMemoryKeyStore()
    keys = BookingKeys.generate(version=3)
    assert keys.identity != keys.content
    wrapped = wrap_booking_keys(store, keys, booking_id="bk-1")
    assert wrapped.version == 3
    assert unwrap_booking_keys(store, wrapped, booking_id="bk-1") == keys


def test_wrapped_keys_are_bound_to_booking_kind_and_version() -> None:
    store = InMemoryKeyStore()
    keys = BookingKeys.generate()
    wrapped = wrap_booking_keys(store, keys, booking_id="bk-1")
    with pytest.raises(CryptoError):
        unwrap_booking_keys(store, wrapped, booking_id="bk-2")
    swapped = WrappedBookingKeys(identity=wrapped.content, content=wrapped.identity)
    with pytest.raises(CryptoError):
        unwrap_booking_keys(store, swapped, booking_id="bk-1")
    with pytest.raises(CryptoError):
        unwrap_booking_keys(store, dataclasses.replace(wrapped, version=2), booking_id="bk-1")


def test_key_context_is_distinct_per_booking_kind_and_version() -> None:
    contexts = {key_context(b, k, v) for b in ("bk-1", "bk-10", "bk-") for k in KeyKind for v in (0, 1, 256)}
    assert len(contexts) == 3 * 2 * 3


def test_shredded_booking_is_unreadable() -> None:
    """Crypto-shredding: with the wrapped keys gone, the ciphertext is noise to everyone,
    even to a key store that still holds every KEK."""
    store = InMemoryKeyStore()
    keys = BookingKeys.generate()
    wrapped = wrap_booking_keys(store, keys, booking_id="bk-1")
    blob = encrypt_field(keys.identity, b"DOE/JOHN", aad=AAD)
    del keys, wrapped  # what the store's DELETE of the wrapped-key rows amounts to
    for _ in range(20):  # any key we could come up with
        with pytest.raises(CryptoError):
            decrypt_field(BookingKeys.generate().identity, blob, aad=AAD)


def test_repr_shows_no_key_bytes() -> None:
    store = InMemoryKeyStore()
    keys = BookingKeys.generate()
    wrapped = wrap_booking_keys(store, keys, booking_id="bk-1")
    for text in (repr(keys), str(keys), f"{keys}", repr(wrapped), repr(keys.identity)):
        for secret in (keys.identity.reveal(), keys.content.reveal()):
            assert secret.hex() not in text
            assert repr(secret) not in text
        assert wrapped.identity.blob.hex() not in text
    assert "**********" in repr(keys)


def test_secret_cannot_be_pickled_or_hashed() -> None:
    secret = Secret(new_data_key())
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        hash(secret)
    assert secret == Secret(secret.reveal())
    assert secret != Secret(new_data_key())


def test_booking_keys_refuse_short_keys() -> None:
    with pytest.raises(CryptoError):
        BookingKeys(Secret(b"short"), Secret(new_data_key()))
    with pytest.raises(CryptoError):
        WrappedKey(0, b"")
