"""Key stores: wrapping, rotation, retirement, the key file's permissions and durability.

Policy: every test gets its own key file under pytest's tmp_path; the in-memory store is
parametrised alongside the file store wherever the contract is the same.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.errors import CryptoError
from pnrguard.protection.crypto import new_data_key
from pnrguard.protection.keystore import InMemoryKeyStore, KeyStore, LocalKeyFileStore, WrappedKey

CTX = b"booking:bk-1"

StoreFactory = Callable[[], KeyStore]


@pytest.fixture(params=["memory", "file"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "memory":
        return InMemoryKeyStore
    return lambda: LocalKeyFileStore(tmp_path / "keys.json", create_if_missing=True)


def _file_secrets(path: Path) -> list[bytes]:
    doc = json.loads(path.read_text())
    values = [base64.b64decode(v) for v in doc["keks"].values()]
    if "signing_key" in doc:
        values.append(base64.b64decode(doc["signing_key"]))
    return values


# -- the contract, for every store ----------------------------------------------------------
def test_wrap_unwrap_round_trip(make_store: StoreFactory) -> None:
    store = make_store()
    key = new_data_key()
    wrapped = store.wrap(key, context=CTX)
    assert wrapped.kek_version == store.current_version == 1
    assert key not in wrapped.blob
    assert store.unwrap(wrapped, context=CTX) == key


@given(key=st.binary(min_size=32, max_size=32), context=st.binary(min_size=1, max_size=200))
def test_wrap_round_trip_property(key: bytes, context: bytes) -> None:
    store = _MEMORY
    wrapped = store.wrap(key, context=context)
    assert store.unwrap(wrapped, context=context) == key
    with pytest.raises(CryptoError):
        store.unwrap(wrapped, context=context + b"\x00")


_MEMORY = InMemoryKeyStore()


def test_every_bit_flip_of_a_wrapped_key_is_detected() -> None:
    store = InMemoryKeyStore()
    wrapped = store.wrap(new_data_key(), context=CTX)
    for i in range(len(wrapped.blob) * 8):
        blob = bytearray(wrapped.blob)
        blob[i // 8] ^= 1 << (i % 8)
        with pytest.raises(CryptoError):
            store.unwrap(WrappedKey(wrapped.kek_version, bytes(blob)), context=CTX)


def test_truncated_extended_and_relabelled_wrapped_keys_are_detected(make_store: StoreFactory) -> None:
    store = make_store()
    wrapped = store.wrap(new_data_key(), context=CTX)
    for n in range(len(wrapped.blob)):
        with pytest.raises(CryptoError):
            store.unwrap(WrappedKey(1, wrapped.blob[:n]), context=CTX)
    with pytest.raises(CryptoError):
        store.unwrap(WrappedKey(1, wrapped.blob + b"\x00"), context=CTX)
    store.rotate()
    # A v1 blob claimed to be v2 (or the reverse) does not authenticate.
    with pytest.raises(CryptoError, match="failed authentication"):
        store.unwrap(WrappedKey(2, wrapped.blob), context=CTX)
    with pytest.raises(CryptoError, match="unknown or retired"):
        store.unwrap(WrappedKey(7, wrapped.blob), context=CTX)


def test_wrong_context_and_wrong_store_are_detected(make_store: StoreFactory) -> None:
    store = make_store()
    wrapped = store.wrap(new_data_key(), context=CTX)
    with pytest.raises(CryptoError, match="failed authentication"):
        store.unwrap(wrapped, context=b"booking:bk-2")
    with pytest.raises(CryptoError, match="failed authentication"):
        InMemoryKeyStore().unwrap(wrapped, context=CTX)


@pytest.mark.parametrize("key", [b"", b"k" * 16, b"k" * 33])
def test_wrap_refuses_bad_input(key: bytes) -> None:
    store = InMemoryKeyStore()
    with pytest.raises(CryptoError, match="32 bytes"):
        store.wrap(key, context=CTX)
    with pytest.raises(CryptoError, match="context"):
        store.wrap(new_data_key(), context=b"")


def test_rotation_keeps_old_keys_readable_and_rewrap_moves_them(make_store: StoreFactory) -> None:
    store = make_store()
    key = new_data_key()
    old = store.wrap(key, context=CTX)
    assert store.rotate() == 2
    assert store.current_version == 2
    assert store.versions() == (1, 2)
    assert store.wrap(new_data_key(), context=CTX).kek_version == 2
    assert store.unwrap(old, context=CTX) == key  # old version still unwraps
    new = store.rewrap(old, context=CTX)
    assert new.kek_version == 2
    assert store.unwrap(new, context=CTX) == key
    with pytest.raises(CryptoError):
        store.rewrap(old, context=b"booking:other")  # rewrap authenticates on the way
    store.retire(1)
    assert store.versions() == (2,)
    with pytest.raises(CryptoError, match="unknown or retired"):
        store.unwrap(old, context=CTX)  # the rotated-away version is gone
    assert store.unwrap(new, context=CTX) == key


def test_retire_refuses_current_and_unknown(make_store: StoreFactory) -> None:
    store = make_store()
    with pytest.raises(CryptoError, match="current"):
        store.retire(1)
    with pytest.raises(CryptoError, match="unknown"):
        store.retire(5)


def test_signing_key_is_stable(make_store: StoreFactory) -> None:
    store = make_store()
    key = store.signing_key()
    assert store.signing_key() is key
    signature = key.sign(b"checkpoint")
    key.public_key().verify(signature, b"checkpoint")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"checkpoinT")


def test_repr_shows_no_key_material(make_store: StoreFactory) -> None:
    store = make_store()
    store.rotate()
    signing = store.signing_key()
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    raw_signing = signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    keks = [k.reveal() for k in getattr(store, "_keks").values()]  # noqa: B009  # test peeks at the ring
    text = repr(store) + str(store) + repr(vars(store) if hasattr(store, "__dict__") else "")
    for secret in [*keks, raw_signing]:
        assert secret.hex() not in text
        assert base64.b64encode(secret).decode() not in text
        assert repr(secret) not in text
    assert "current_version=2" in repr(store)


# -- the key file ---------------------------------------------------------------------------
def test_key_file_is_created_0600_and_reopened(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys.json"
    store = LocalKeyFileStore(path, create_if_missing=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = new_data_key()
    wrapped = store.wrap(key, context=CTX)
    signing = store.signing_key()
    again = LocalKeyFileStore(path)
    assert again.unwrap(wrapped, context=CTX) == key
    assert again.signing_key().public_key().public_bytes_raw() == signing.public_key().public_bytes_raw()
    assert repr(store).startswith("LocalKeyFileStore(path=")
    for secret in _file_secrets(path):
        assert secret.hex() not in repr(again)


def test_missing_key_file_is_not_created_by_default(tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match="does not exist"):
        LocalKeyFileStore(tmp_path / "nope.json")
    assert not (tmp_path / "nope.json").exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601])
def test_group_or_world_accessible_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    LocalKeyFileStore(path, create_if_missing=True)
    path.chmod(mode)
    with pytest.raises(CryptoError, match="chmod 600"):
        LocalKeyFileStore(path)


def test_permissions_are_checked_again_on_reload(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    a = LocalKeyFileStore(path, create_if_missing=True)
    LocalKeyFileStore(path).rotate()
    path.chmod(0o644)
    with pytest.raises(CryptoError, match="group or others"):
        a.wrap(new_data_key(), context=CTX)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"format": "other", "version": 1, "keks": {"1": ""}}',
        b'{"format": "pnrguard-keyfile", "version": 1, "keks": {}}',
        b'{"format": "pnrguard-keyfile", "version": 1, "keks": {"x": "AAAA"}}',
        b'{"format": "pnrguard-keyfile", "version": 1, "keks": {"1": "AAAA"}}',
        b'{"format": "pnrguard-keyfile", "version": 1, "keks": {"1": "!!"}}',
    ],
)
def test_malformed_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(CryptoError, match="key file"):
        LocalKeyFileStore(path)


def test_rotation_rewrites_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = LocalKeyFileStore(path, create_if_missing=True)
    original = os.open(path, os.O_RDONLY)
    try:
        store.rotate()
        store.rotate()
        assert os.fstat(original).st_nlink == 0  # replaced by rename, never edited in place
    finally:
        os.close(original)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json", "keys.json.lock"]
    doc = json.loads(path.read_text())
    assert sorted(doc["keks"]) == ["1", "2", "3"]
    assert LocalKeyFileStore(path).current_version == 3


def test_failed_write_leaves_old_file_and_old_ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.json"
    store = LocalKeyFileStore(path, create_if_missing=True)
    before = path.read_bytes()

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        store.rotate()
    monkeypatch.undo()
    assert path.read_bytes() == before
    # A KEK that never reached the disk must never wrap anything.
    assert store.current_version == 1
    assert store.wrap(new_data_key(), context=CTX).kek_version == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json", "keys.json.lock"]


def test_workers_sharing_a_key_file_see_each_others_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    a = LocalKeyFileStore(path, create_if_missing=True)
    b = LocalKeyFileStore(path)
    key = new_data_key()
    # a rotates; b unwraps a v2 key without being told, and wraps with v2 from then on.
    assert a.rotate() == 2
    wrapped = a.wrap(key, context=CTX)
    assert b.unwrap(wrapped, context=CTX) == key
    assert b.wrap(key, context=CTX).kek_version == 2
    # b rotates from its reloaded view: version 3, keeping a's version 2.
    assert b.rotate() == 3
    assert LocalKeyFileStore(path).versions() == (1, 2, 3)
    # The signing key is created once, whichever worker asks first.
    sk_b = b.signing_key()
    assert a.signing_key().public_key().public_bytes_raw() == sk_b.public_key().public_bytes_raw()


def test_rotation_by_one_worker_does_not_drop_a_signing_key_created_by_another(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    a = LocalKeyFileStore(path, create_if_missing=True)
    b = LocalKeyFileStore(path)
    public = b.signing_key().public_key().public_bytes_raw()
    a.rotate()  # a's cached copy has no signing key; the rotation must not erase b's
    assert LocalKeyFileStore(path).signing_key().public_key().public_bytes_raw() == public


def test_same_size_change_within_one_clock_tick_is_still_noticed(tmp_path: Path) -> None:
    """retire + rotate keeps the file size; the freed inode number could be reused within
    one mtime tick. Holding the loaded file open keeps its inode from being reused."""
    path = tmp_path / "keys.json"
    a = LocalKeyFileStore(path, create_if_missing=True)
    b = LocalKeyFileStore(path)
    b.rotate()
    a.wrap(new_data_key(), context=CTX)  # a now knows versions 1, 2
    b.retire(1)
    b.rotate()  # same size as before, version 3
    assert a.wrap(new_data_key(), context=CTX).kek_version == 3
    a.close()
    b.close()


def test_concurrent_rotations_from_several_processes_are_all_kept(tmp_path: Path) -> None:
    """Four worker processes rotate at once: the file lock serialises the read-modify-write,
    so every returned version is distinct and every KEK survives in the file."""
    path = tmp_path / "keys.json"
    LocalKeyFileStore(path, create_if_missing=True)
    code = (
        "import sys\n"
        "from pnrguard.protection.keystore import LocalKeyFileStore\n"
        "s = LocalKeyFileStore(sys.argv[1])\n"
        "print(*[s.rotate() for _ in range(5)], s.signing_key().public_key().public_bytes_raw().hex())\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=30)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    versions = sorted(int(v) for out in outputs for v in out[:-1])
    assert versions == list(range(2, 22))
    assert len({out[-1] for out in outputs}) == 1  # one signing key, created once
    assert LocalKeyFileStore(path).versions() == tuple(range(1, 22))


# --- per-period KEKs (issue 10, item 8) --------------------------------------------------


def test_period_keks_rotate_rewrap_retire_and_destroy(make_store: StoreFactory) -> None:
    ks = make_store()
    dk = new_data_key()
    w = ks.wrap(dk, context=CTX, period="2026-01")
    assert ks.period_of(w) == "2026-01"
    assert ks.periods() == ("2026-01",)
    assert ks.unwrap(w, context=CTX) == dk
    with pytest.raises(CryptoError):
        ks.unwrap(w, context=CTX + b"x")
    # The period is authenticated: relabelling the blob to another month fails.
    other = WrappedKey(w.kek_version, w.blob[:1] + b"2026-02" + w.blob[8:])
    ks.wrap(new_data_key(), context=CTX, period="2026-02")
    with pytest.raises(CryptoError):
        ks.unwrap(other, context=CTX)
    v2 = ks.rotate()
    moved = ks.rewrap(w, context=CTX)
    assert (moved.kek_version, ks.period_of(moved)) == (v2, "2026-01")
    ks.retire(v2 - 1)
    with pytest.raises(CryptoError):
        ks.unwrap(w, context=CTX)  # the old version of the period is gone with the master's
    assert ks.unwrap(moved, context=CTX) == dk
    assert ks.destroy_period("2026-01") is True
    assert ks.periods() == ("2026-02",)
    with pytest.raises(CryptoError, match="destroyed"):
        ks.unwrap(moved, context=CTX)
    with pytest.raises(CryptoError, match="destroyed"):
        ks.wrap(dk, context=CTX, period="2026-01")


def test_a_master_wrapped_key_is_not_a_period_key(make_store: StoreFactory) -> None:
    ks = make_store()
    w = ks.wrap(new_data_key(), context=CTX)
    assert ks.period_of(w) is None
    with pytest.raises(CryptoError):
        ks.wrap(new_data_key(), context=CTX, period="2026-13")


def test_destroyed_periods_survive_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ks = LocalKeyFileStore(path, create_if_missing=True)
    w = ks.wrap(new_data_key(), context=CTX, period="2025-11")
    ks.destroy_period("2025-11")
    again = LocalKeyFileStore(path)
    assert again.periods() == ()
    with pytest.raises(CryptoError, match="destroyed"):
        again.unwrap(w, context=CTX)
    assert "2025-11" in json.loads(path.read_text())["destroyed_periods"]
