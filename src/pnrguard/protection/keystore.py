"""The key store: master key-encryption keys (KEKs) and the node's signing key.

Envelope encryption (see `pnrguard.protection.crypto`): each booking's fields are encrypted
with the booking's own *data keys*, and each data key is stored only *wrapped*, i.e.
encrypted under a master KEK that never leaves the key store. Why two levels: a KEK can be
rotated by rewrapping 32-byte data keys without touching any field ciphertext, a data key
can be destroyed per booking (crypto-shredding, the deletion of REQUIREMENTS §5) by deleting
its wrapped row, and the database alone, stolen or backed up, reads nothing.

`KeyStore` is the port; `LocalKeyFileStore` (a JSON key file, the embedded default and a
simple production option) and `InMemoryKeyStore` (tests) are the adapters shipped here. A
KMS or HSM is plugged in by implementing the same port (wrap, unwrap, rotate, retire,
signing_key); nothing else in pnrguard sees a KEK.

Local wrapping is AES-256-GCM with a fresh 96-bit random nonce per wrap, and the associated
data binds the wrapped key to the KEK version and to a caller-chosen *context* (the booking
id, key kind and data-key version, see `crypto.key_context`), so a wrapped key copied onto
another booking's row does not unwrap. The blob is ``0x01 || nonce(12) || ciphertext || tag(16)``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hmac
import json
import os
import re
import secrets
import stat
import struct
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from pnrguard.errors import N_, CryptoError

__all__ = [
    "DATA_KEY_SIZE",
    "KEK_SIZE",
    "InMemoryKeyStore",
    "KeyStore",
    "LocalKeyFileStore",
    "Secret",
    "WrappedKey",
    "check_period",
]

#: Data keys and KEKs are AES-256 keys.
DATA_KEY_SIZE = 32
KEK_SIZE = 32

_T = TypeVar("_T", bytes, str)

_WRAP_FORMAT = 0x01
_WRAP_HEADER = bytes([_WRAP_FORMAT])
_NONCE_SIZE = 12
_TAG_SIZE = 16
#: Domain separation: a wrapped-key AD can never equal a field AD (crypto.py uses another
#: prefix), so a field ciphertext can never be passed off as a wrapped key or vice versa.
_WRAP_AD_PREFIX = b"pnrguard/kek-wrap/v1\x00"
_U32 = struct.Struct(">I")
_MAX_VERSION = 2**32 - 1

_KEYFILE_FORMAT = "pnrguard-keyfile"
#: Format of a wrapped key under a *period* KEK: the period travels in the blob (and in the
#: associated data), so no database column changes and old master-wrapped keys still open.
_PERIOD_FORMAT = 0x02
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_KEYFILE_VERSION = 1


@final
class Secret(Generic[_T]):
    """A secret value (key bytes, a DSN, a password) whose repr and str are redacted.

    Why: keys travel through dataclasses, logs, tracebacks and debuggers, and every one of
    them calls ``repr``. Wrapping the value makes leaking it an explicit ``reveal()`` call
    that a reviewer can grep for. Equality is constant-time; a Secret is not hashable, so it
    cannot become a dict key that a debugger would print. Python cannot wipe memory, so this
    is about accidental disclosure, not about an attacker reading the process.
    """

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]  # unhashable on purpose, see docstring

    def __init__(self, value: _T) -> None:
        if not isinstance(value, bytes | str):
            raise TypeError("Secret holds bytes or str")
        self._value: _T = value

    def reveal(self) -> _T:
        """The secret value. Call it only where the value is used, never to log it."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        a, b = self._value, other._value
        if isinstance(a, bytes) and isinstance(b, bytes):
            return hmac.compare_digest(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return hmac.compare_digest(a.encode(), b.encode())
        return False

    def __reduce__(self) -> Any:
        # Pickling would silently copy the secret into a queue, cache or file.
        raise TypeError("a Secret cannot be pickled")


#: period -> {KEK generation: key}
Periods = dict[str, dict[int, Secret[bytes]]]


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under the KEK `kek_version`. Safe to store next to the data;
    useless without the key store. `blob` is opaque to callers (its format belongs to the
    key store that made it)."""

    kek_version: int
    blob: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if (
            isinstance(self.kek_version, bool)
            or not isinstance(self.kek_version, int)
            or not 1 <= self.kek_version <= _MAX_VERSION
        ):
            raise CryptoError(N_("wrapped key: kek_version must be an integer in 1..2**32-1"))
        if not isinstance(self.blob, bytes):
            raise CryptoError(N_("wrapped key: blob must be bytes"))

    def __repr__(self) -> str:
        return f"WrappedKey(kek_version={self.kek_version}, blob=<{len(self.blob)} bytes>)"


class KeyStore(ABC):
    """Port: the node's master keys. Everything else in pnrguard holds only wrapped keys.

    Contract for every implementation (a KMS or HSM adapter included):

    - KEKs have integer versions, starting at 1 and increasing; `current_version` is the
      newest, and `wrap` always uses it.
    - ``wrap(data_key, context=c)`` returns a `WrappedKey`; ``unwrap(w, context=c)`` returns
      the same 32 bytes, and only with the same context. A wrong context, a tampered blob, a
      relabelled `kek_version`, an unknown or retired version all raise `CryptoError` whose
      message contains no key material and no context bytes. Contexts are non-empty; callers
      build them with `crypto.key_context` so a wrapped key is bound to its booking.
    - ``rotate()`` creates a new KEK and returns its version. Older versions keep
      unwrapping, so rotation never blocks reads; a rotation job then calls ``rewrap`` on
      every stored wrapped key with an older version, and only afterwards an operator may
      ``retire`` the old version. Retiring the current version is refused.
    - ``signing_key()`` returns the node's Ed25519 key for audit checkpoints and federation
      messages, created on first use and the same ever after (peers and courts pin its
      public key).
    - Changes (rotation, retirement, the signing key's creation) are durable before the
      method returns, and visible to other processes sharing the store.
    - ``repr``/``str`` never show key material.

    Per-period KEKs (DESIGN.md, "Per-period key-encryption keys"; issue 10 item 8):
    ``wrap(..., period="2026-05")`` wraps under the KEK of that month of receipt instead of
    the master KEK (created on first use, at the current version). ``rotate`` gives every
    live period a new KEK at the new version and ``retire(v)`` removes version `v` of the
    master and of every period, so `rewrap`/`retire` keep one meaning. ``destroy_period``
    destroys every version of a period's KEK, for good: every key ever wrapped under it, in
    live rows, dead rows, WAL segments and backups alike, stops unwrapping, and a later
    `wrap` for that period is refused. The retention run calls it once a period's bookings
    are all deleted.

    Destroying a booking's keys is not a key-store operation: the store deletes the wrapped
    data-key rows, after which nothing (not this store, not a backup of it) can decrypt that
    booking's fields. That is the crypto-shredding of DESIGN.md.
    """

    @property
    @abstractmethod
    def current_version(self) -> int:
        """The KEK version new wraps use."""

    @abstractmethod
    def versions(self) -> tuple[int, ...]:
        """The KEK versions that can still unwrap, ascending."""

    @abstractmethod
    def wrap(self, data_key: bytes, *, context: bytes, period: str | None = None) -> WrappedKey:
        """Encrypt a 32-byte data key under the current KEK (of `period`, if given), bound
        to `context`."""

    @abstractmethod
    def periods(self) -> tuple[str, ...]:
        """The periods whose KEK exists (ascending), destroyed ones excluded."""

    @abstractmethod
    def destroy_period(self, period: str) -> bool:
        """Destroy every version of `period`'s KEK; False if it did not exist."""

    @staticmethod
    def period_of(wrapped: WrappedKey) -> str | None:
        """The period a key is wrapped under, None for the master KEK."""
        blob = wrapped.blob
        if len(blob) >= 8 and blob[0] == _PERIOD_FORMAT:
            return blob[1:8].decode("ascii", errors="replace")
        return None

    @abstractmethod
    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        """Decrypt a wrapped data key; raises `CryptoError` unless authentic for `context`."""

    @abstractmethod
    def rotate(self) -> int:
        """Create a new KEK, make it current, return its version."""

    @abstractmethod
    def retire(self, version: int) -> None:
        """Destroy an old KEK after every key wrapped under it was rewrapped."""

    @abstractmethod
    def signing_key(self) -> Ed25519PrivateKey:
        """The node's Ed25519 signing key (created on first use)."""

    def rewrap(self, wrapped: WrappedKey, *, context: bytes) -> WrappedKey:
        """Re-encrypt a wrapped key under the current KEK (for rotation jobs).

        The default unwraps and wraps again, which authenticates the old wrapping on the way;
        a KMS adapter may override it with the KMS's own re-encrypt call.
        """
        return self.wrap(
            self.unwrap(wrapped, context=context), context=context, period=self.period_of(wrapped)
        )


def _wrap_ad(kek_version: int, context: bytes, period: str | None = None) -> bytes:
    tail = b"" if period is None else b"\x00period\x00" + period.encode("ascii")
    return _WRAP_AD_PREFIX + _U32.pack(kek_version) + context + tail


def check_period(period: str) -> str:
    """A period is a month, ``YYYY-MM``."""
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        raise CryptoError(N_("a key period is a month written YYYY-MM"))
    return period


def _check_context(context: bytes) -> None:
    if not isinstance(context, bytes) or not context:
        raise CryptoError(N_("wrap context must be non-empty bytes"))


class _LocalKekStore(KeyStore):
    """KEKs held in this process (AES-GCM wrapping); subclasses decide where they persist.

    Thread-safe: a lock guards the key ring; AESGCM objects are immutable and shared.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._keks: dict[int, Secret[bytes]] = {}
        self._ciphers: dict[int, AESGCM] = {}
        self._current = 0
        self._signing: Secret[bytes] | None = None
        self._signing_obj: Ed25519PrivateKey | None = None
        self._periods: Periods = {}
        self._period_ciphers: dict[tuple[str, int], AESGCM] = {}
        self._destroyed: frozenset[str] = frozenset()

    # -- key ring ------------------------------------------------------------------------
    def _set_ring(
        self,
        keks: dict[int, Secret[bytes]],
        signing: Secret[bytes] | None,
        periods: Periods | None = None,
        destroyed: frozenset[str] = frozenset(),
    ) -> None:
        if not keks:
            raise CryptoError(N_("key store holds no KEK"))
        periods = {p: dict(g) for p, g in (periods or {}).items() if g and p not in destroyed}
        with self._lock:
            self._keks = dict(keks)
            self._ciphers = {v: AESGCM(k.reveal()) for v, k in keks.items()}
            self._current = max(keks)
            if signing != self._signing:
                self._signing_obj = None
            self._signing = signing
            self._periods = periods
            self._period_ciphers = {
                (p, v): AESGCM(k.reveal()) for p, gens in periods.items() for v, k in gens.items()
            }
            self._destroyed = frozenset(destroyed)

    def _refresh(self) -> bool:
        """Reload from the backing store if it changed; True when it did. Default: never."""
        return False

    def _persist(
        self,
        keks: dict[int, Secret[bytes]],
        signing: Secret[bytes] | None,
        periods: Periods | None = None,
        destroyed: frozenset[str] = frozenset(),
    ) -> None:
        """Make this ring durable. Default: nothing (memory only)."""

    def periods(self) -> tuple[str, ...]:
        self._refresh()
        return tuple(sorted(self._periods))

    def _period_cipher(self, period: str) -> tuple[int, AESGCM]:
        """The current KEK of `period`, created (durably) on first use."""
        check_period(period)
        self._refresh()
        with self._lock:
            gens = self._periods.get(period)
            if gens and self._current in gens:
                return self._current, self._period_ciphers[(period, self._current)]
        with self._mutation():
            if period in self._destroyed:
                raise CryptoError(
                    N_("the KEK of period %(period)s was destroyed; nothing is wrapped under it again"),
                    period=period,
                )
            periods = {p: dict(g) for p, g in self._periods.items()}
            gens = periods.setdefault(period, {})
            if self._current not in gens:
                gens[self._current] = Secret(secrets.token_bytes(KEK_SIZE))
                self._commit(self._keks, self._signing, periods, self._destroyed)
            return self._current, self._period_ciphers[(period, self._current)]

    def destroy_period(self, period: str) -> bool:
        check_period(period)
        with self._mutation():
            existed = period in self._periods
            periods = {p: g for p, g in self._periods.items() if p != period}
            self._commit(self._keks, self._signing, periods, self._destroyed | {period})
            return existed

    @property
    def current_version(self) -> int:
        return self._current

    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keks))

    # -- wrapping ------------------------------------------------------------------------
    def wrap(self, data_key: bytes, *, context: bytes, period: str | None = None) -> WrappedKey:
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_SIZE:
            raise CryptoError(N_("data key must be %(DATA_KEY_SIZE)s bytes"), DATA_KEY_SIZE=DATA_KEY_SIZE)
        _check_context(context)
        nonce = os.urandom(_NONCE_SIZE)
        if period is not None:
            version, cipher = self._period_cipher(period)
            sealed = cipher.encrypt(nonce, data_key, _wrap_ad(version, context, period))
            return WrappedKey(version, bytes([_PERIOD_FORMAT]) + period.encode("ascii") + nonce + sealed)
        self._refresh()
        with self._lock:
            version = self._current
            cipher = self._ciphers[version]
        sealed = cipher.encrypt(nonce, data_key, _wrap_ad(version, context))
        return WrappedKey(version, _WRAP_HEADER + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        if not isinstance(wrapped, WrappedKey):
            raise CryptoError(N_("unwrap expects a WrappedKey"))
        _check_context(context)
        period = self.period_of(wrapped)
        if period is not None:
            return self._unwrap_period(wrapped, period, context)
        cipher = self._ciphers.get(wrapped.kek_version)
        if cipher is None and self._refresh():
            # Another process may have rotated since we loaded the file.
            cipher = self._ciphers.get(wrapped.kek_version)
        if cipher is None:
            raise CryptoError(
                N_("KEK version %(kek_version)s is unknown or retired"), kek_version=wrapped.kek_version
            )
        blob = wrapped.blob
        if len(blob) != 1 + _NONCE_SIZE + DATA_KEY_SIZE + _TAG_SIZE or blob[0] != _WRAP_FORMAT:
            raise CryptoError(N_("wrapped key is malformed"))
        try:
            return cipher.decrypt(
                blob[1 : 1 + _NONCE_SIZE], blob[1 + _NONCE_SIZE :], _wrap_ad(wrapped.kek_version, context)
            )
        except InvalidTag:
            raise CryptoError(
                N_("wrapped key failed authentication (tampered, wrong context or wrong KEK)")
            ) from None

    def _unwrap_period(self, wrapped: WrappedKey, period: str, context: bytes) -> bytes:
        blob = wrapped.blob
        if len(blob) != 8 + _NONCE_SIZE + DATA_KEY_SIZE + _TAG_SIZE or not _PERIOD.fullmatch(period):
            raise CryptoError(N_("wrapped key is malformed"))
        key = (period, wrapped.kek_version)
        cipher = self._period_ciphers.get(key)
        if cipher is None and self._refresh():
            cipher = self._period_ciphers.get(key)
        if cipher is None:
            if period in self._destroyed:
                raise CryptoError(
                    N_("the KEK of period %(period)s was destroyed (its bookings were deleted)"),
                    period=period,
                )
            raise CryptoError(
                N_("KEK version %(kek_version)s of period %(period)s is unknown or retired"),
                kek_version=wrapped.kek_version,
                period=period,
            )
        try:
            return cipher.decrypt(
                blob[8 : 8 + _NONCE_SIZE],
                blob[8 + _NONCE_SIZE :],
                _wrap_ad(wrapped.kek_version, context, period),
            )
        except InvalidTag:
            raise CryptoError(
                N_("wrapped key failed authentication (tampered, wrong context or wrong KEK)")
            ) from None

    # -- rotation ------------------------------------------------------------------------
    def rotate(self) -> int:
        with self._mutation():
            version = self._current + 1
            if version > _MAX_VERSION:
                raise CryptoError(N_("KEK version space exhausted"))
            keks = dict(self._keks)
            keks[version] = Secret(secrets.token_bytes(KEK_SIZE))
            periods = {
                p: {**g, version: Secret(secrets.token_bytes(KEK_SIZE))} for p, g in self._periods.items()
            }
            self._commit(keks, self._signing, periods, self._destroyed)
            return version

    def retire(self, version: int) -> None:
        with self._mutation():
            if version not in self._keks:
                raise CryptoError(
                    N_("KEK version %(version)s is unknown or already retired"), version=version
                )
            if version == self._current:
                raise CryptoError(N_("the current KEK cannot be retired; rotate first"))
            keks = {v: k for v, k in self._keks.items() if v != version}
            periods = {p: {v: k for v, k in g.items() if v != version} for p, g in self._periods.items()}
            self._commit(keks, self._signing, periods, self._destroyed)

    # -- signing key ---------------------------------------------------------------------
    def signing_key(self) -> Ed25519PrivateKey:
        obj = self._signing_obj
        if obj is not None:
            return obj
        with self._lock:
            if self._signing is None:
                with self._mutation():
                    if self._signing is None:  # another process may have created it meanwhile
                        key = Ed25519PrivateKey.generate()
                        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
                        self._commit(self._keks, Secret(raw), self._periods, self._destroyed)
            signing = self._signing
            if signing is None:  # pragma: no cover - _commit sets it or raises
                raise CryptoError(N_("signing key could not be created"))
            if self._signing_obj is None:
                self._signing_obj = Ed25519PrivateKey.from_private_bytes(signing.reveal())
            return self._signing_obj

    def _commit(
        self,
        keks: dict[int, Secret[bytes]],
        signing: Secret[bytes] | None,
        periods: Periods | None = None,
        destroyed: frozenset[str] = frozenset(),
    ) -> None:
        """Persist first, then use: a KEK that is not durable must never wrap anything, or
        a crash would lose every key it wrapped."""
        self._persist(keks, signing, periods, destroyed)
        self._set_ring(keks, signing, periods, destroyed)

    @contextlib.contextmanager
    def _mutation(self) -> Iterator[None]:
        """Hold the lock(s) for a read-modify-write of the ring. Subclasses add a file lock
        and reload inside it, so two processes never overwrite each other's change."""
        with self._lock:
            yield


@final
class InMemoryKeyStore(_LocalKekStore):
    """A key store that lives and dies with the process: for tests and throwaway demos."""

    def __init__(self) -> None:
        super().__init__()
        self._set_ring({1: Secret(secrets.token_bytes(KEK_SIZE))}, None)

    def __repr__(self) -> str:
        return f"InMemoryKeyStore(current_version={self._current}, versions={self.versions()})"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, size: int, what: str, path: Path) -> Secret[bytes]:
    if not isinstance(text, str):
        raise CryptoError(N_("key file %(path)s: %(what)s is not a base64 string"), path=path, what=what)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(
            N_("key file %(path)s: %(what)s is not valid base64"), path=path, what=what
        ) from None
    if len(raw) != size:
        raise CryptoError(
            N_("key file %(path)s: %(what)s must be %(size)s bytes"), path=path, what=what, size=size
        )
    return Secret(raw)


@final
class LocalKeyFileStore(_LocalKekStore):
    """KEKs and the signing key in one JSON key file, mode 0600.

    The file is the most valuable secret of the node: losing it loses every booking (they
    cannot be decrypted), and whoever holds it *and* a database copy reads everything. So:
    the file is refused when group- or world-accessible; every change (rotation,
    retirement, the signing key's first use) rewrites it atomically (temporary file in the
    same directory, fsync, rename, fsync of the directory), so a crash leaves either the old
    or the new file and never a torn one; changes take an exclusive ``flock`` on
    ``<file>.lock`` and reload the file inside it, so several workers sharing the file never
    lose each other's change. Workers notice another process's change on their next `wrap`
    (one ``stat``) or on an unknown version in `unwrap`.

    ``create_if_missing`` is off by default: a mistyped path or a missing volume in
    production must fail loudly, not start a fresh key file whose data nobody backed up.
    """

    def __init__(self, path: str | os.PathLike[str], *, create_if_missing: bool = False) -> None:
        super().__init__()
        self._path = Path(path)
        self._lock_path = self._path.with_name(self._path.name + ".lock")
        self._stamp: tuple[int, int, int, int] | None = None
        self._held_fd: int | None = None
        if not self._path.exists():
            if not create_if_missing:
                raise CryptoError(N_("key file %(path)s does not exist"), path=self._path)
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._file_lock():
                if not self._path.exists():
                    self._persist({1: Secret(secrets.token_bytes(KEK_SIZE))}, None)
        self._load()

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return (
            f"LocalKeyFileStore(path={str(self._path)!r}, current_version={self._current}, "
            f"versions={self.versions()})"
        )

    # -- file I/O ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    @contextlib.contextmanager
    def _mutation(self) -> Iterator[None]:
        with self._lock, self._file_lock():
            self._load()  # apply the change to the newest file, not our cached copy
            yield

    def _refresh(self) -> bool:
        try:
            st = os.stat(self._path)
        except OSError:
            raise CryptoError(N_("key file %(path)s cannot be read"), path=self._path) from None
        if (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size) == self._stamp:
            return False
        with self._lock:
            self._load()
        return True

    def _load(self) -> None:
        path = self._path
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise CryptoError(N_("key file %(path)s does not exist"), path=path) from None
        except OSError:
            raise CryptoError(N_("key file %(path)s cannot be opened"), path=path) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise CryptoError(N_("key file %(path)s is not a regular file"), path=path)
            if st.st_mode & 0o077:
                raise CryptoError(
                    N_(
                        "key file %(path)s is accessible to group or others (mode %(S_IMODE)s); run: chmod "
                        "600 %(path)s"
                    ),
                    path=path,
                    S_IMODE=format(stat.S_IMODE(st.st_mode), "04o"),
                )
            with os.fdopen(os.dup(fd), "rb") as fh:
                raw = fh.read()
            keks, signing, periods, destroyed = self._parse(raw)
        except BaseException:
            os.close(fd)
            raise
        self._set_ring(keks, signing, periods, destroyed)
        # Keep the loaded file open: its inode cannot be reused while we hold it, so a
        # replaced file (every change is a rename) always shows a different inode in _refresh.
        old, self._held_fd = self._held_fd, fd
        if old is not None:
            os.close(old)
        self._stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    def close(self) -> None:
        """Release the open handle on the key file (keys stay usable in memory)."""
        with self._lock:
            if self._held_fd is not None:
                os.close(self._held_fd)
                self._held_fd = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _commit(
        self,
        keks: dict[int, Secret[bytes]],
        signing: Secret[bytes] | None,
        periods: Periods | None = None,
        destroyed: frozenset[str] = frozenset(),
    ) -> None:
        self._persist(keks, signing, periods, destroyed)
        self._load()  # re-read what we wrote: proves it parses, and refreshes the stamp

    def _parse(
        self, raw: bytes
    ) -> tuple[dict[int, Secret[bytes]], Secret[bytes] | None, Periods, frozenset[str]]:
        path = self._path
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise CryptoError(N_("key file %(path)s is not valid JSON"), path=path) from None
        if (
            not isinstance(doc, dict)
            or doc.get("format") != _KEYFILE_FORMAT
            or doc.get("version") != _KEYFILE_VERSION
        ):
            raise CryptoError(
                N_("key file %(path)s is not a %(KEYFILE_FORMAT)s version %(KEYFILE_VERSION)s"),
                path=path,
                KEYFILE_FORMAT=_KEYFILE_FORMAT,
                KEYFILE_VERSION=_KEYFILE_VERSION,
            )
        raw_keks = doc.get("keks")
        if not isinstance(raw_keks, dict) or not raw_keks:
            raise CryptoError(N_("key file %(path)s: 'keks' must be a non-empty object"), path=path)
        keks: dict[int, Secret[bytes]] = {}
        for name, value in raw_keks.items():
            if not (name.isascii() and name.isdigit()) or not 1 <= int(name) <= _MAX_VERSION:
                raise CryptoError(
                    N_("key file %(path)s: KEK version %(name)r is not a positive integer"),
                    path=path,
                    name=name,
                )
            keks[int(name)] = _unb64(value, KEK_SIZE, f"KEK version {name}", path)
        signing_text = doc.get("signing_key")
        signing = None if signing_text is None else _unb64(signing_text, 32, "signing_key", path)
        periods: Periods = {}
        raw_periods = doc.get("periods", {})
        raw_destroyed = doc.get("destroyed_periods", [])
        if not isinstance(raw_periods, dict) or not isinstance(raw_destroyed, list):
            raise CryptoError(
                N_("key file %(path)s: 'periods' must be an object, 'destroyed_periods' a list"), path=path
            )
        for period, gens in raw_periods.items():
            if not isinstance(period, str) or not _PERIOD.fullmatch(period) or not isinstance(gens, dict):
                raise CryptoError(
                    N_("key file %(path)s: period %(period)r is not YYYY-MM with an object of KEKs"),
                    path=path,
                    period=period,
                )
            periods[period] = {}
            for name, value in gens.items():
                if not (name.isascii() and name.isdigit()) or not 1 <= int(name) <= _MAX_VERSION:
                    raise CryptoError(
                        N_("key file %(path)s: KEK version %(name)r of %(period)s is not a positive integer"),
                        path=path,
                        name=name,
                        period=period,
                    )
                periods[period][int(name)] = _unb64(value, KEK_SIZE, f"KEK {period} version {name}", path)
        if not all(isinstance(p, str) and _PERIOD.fullmatch(p) for p in raw_destroyed):
            raise CryptoError(
                N_("key file %(path)s: 'destroyed_periods' holds something that is not YYYY-MM"), path=path
            )
        return keks, signing, periods, frozenset(raw_destroyed)

    def _persist(
        self,
        keks: dict[int, Secret[bytes]],
        signing: Secret[bytes] | None,
        periods: Periods | None = None,
        destroyed: frozenset[str] = frozenset(),
    ) -> None:
        doc: dict[str, Any] = {
            "format": _KEYFILE_FORMAT,
            "version": _KEYFILE_VERSION,
            "keks": {str(v): _b64(k.reveal()) for v, k in sorted(keks.items())},
        }
        if signing is not None:
            doc["signing_key"] = _b64(signing.reveal())
        if periods:
            doc["periods"] = {
                p: {str(v): _b64(k.reveal()) for v, k in sorted(g.items())}
                for p, g in sorted(periods.items())
            }
        if destroyed:
            # Kept so the period is never silently recreated: what was wrapped under it is gone.
            doc["destroyed_periods"] = sorted(destroyed)
        data = json.dumps(doc, indent=2).encode("ascii") + b"\n"
        directory = self._path.parent
        tmp = directory / f".{self._path.name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)  # explicit: the umask may only remove bits, never add
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)  # make the rename itself durable
        finally:
            os.close(dfd)
