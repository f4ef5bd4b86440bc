"""The composition root: the one place that builds the node's real adapters from settings.

CLI commands, the web app and the scheduler call `Node.from_settings` and use only what it
hands them, so swapping an adapter (a KMS for the key file, PostgreSQL for SQLite) is a
change here and nowhere else. Tests build a `Node` directly with fakes where a port's real
adapter is outside our control (the clock, a KMS).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine, make_url

from pnrguard.audit.log import AuditLog
from pnrguard.config import Settings, load_settings
from pnrguard.errors import N_, ConfigError
from pnrguard.protection.keystore import KeyStore, LocalKeyFileStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import Clock, SystemClock
from pnrguard.service.ingest import IngestResult, ingest
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import make_engine, upgrade
from pnrguard.store.tables import booking, node_secret

__all__ = ["Node"]


def _prepare_sqlite_dir(url: str) -> None:
    """Create the directory of an SQLite file (the embedded default lives under ./var/)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _holds_data(engine: Engine) -> bool:
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(node_secret)).scalar_one()
        n += conn.execute(select(func.count()).select_from(booking)).scalar_one()
    return bool(n)


def _open_keystore(path: Path, engine: Engine) -> KeyStore:
    """The local key file; created only for a fresh node.

    A missing key file beside a database that already holds wrapped keys means a wrong path
    or a lost volume: starting a new key file then would make every booking unreadable
    while seeming to work, so that fails loudly instead.
    """
    if not path.exists() and _holds_data(engine):
        raise ConfigError(
            N_(
                "key file %(path)s is missing but the database holds encrypted data; restore the key file "
                "or fix PNRGUARD_KEY_FILE"
            ),
            path=path,
        )
    return LocalKeyFileStore(path, create_if_missing=True)


@dataclass(slots=True)
class Node:
    """A running node's adapters. Use as a context manager, or call `close`."""

    settings: Settings
    engine: Engine
    keystore: KeyStore
    sensitive_filter: SensitiveFilter
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, clock: Clock | None = None) -> Node:
        """Build the engine (running migrations), key store, sensitive filter and clock."""
        settings = settings or load_settings()
        url = settings.database_url.get_secret_value()
        _prepare_sqlite_dir(url)
        engine = make_engine(url)
        try:
            upgrade(engine)
            keystore = _open_keystore(settings.key_file, engine)
            sensitive_filter = SensitiveFilter.load(extra=settings.sensitive_terms_file)
        except BaseException:
            engine.dispose()
            raise
        return cls(settings, engine, keystore, sensitive_filter, clock or SystemClock())

    def audit(self, conn: Connection) -> AuditLog:
        """The audit log bound to `conn`: entries commit with the caller's transaction."""
        return SqlAuditLog(conn, origin=self.settings.node_name, clock=self.clock)

    def ingest(
        self,
        data: bytes,
        *,
        source_name: str = "file",
        actor: str | None = None,
        role: str | None = None,
        carriers: Collection[str] | None = None,
    ) -> IngestResult:
        """`service.ingest.ingest` with this node's adapters. `carriers`: the airline
        designators the source may write (None: an operator's file, unchecked)."""
        return ingest(
            data,
            engine=self.engine,
            keystore=self.keystore,
            audit=self.audit,
            sensitive_filter=self.sensitive_filter,
            clock=self.clock,
            source_name=source_name,
            actor=actor,
            role=role,
            carriers=carriers,
        )

    def checkpoint_audit(self) -> str:
        """Sign the audit log's current tree head as a proven extension of the last one this
        node signed (`service.audit_signing`; a no-op when nothing was appended since) and
        return the newest signed note ("" for a log never signed). Workers call this at
        intervals, so the unsigned tail that `audit verify --strict` flags stays short.
        Raises `CheckpointRefused` when the log is not such an extension."""
        from pnrguard.service import audit_signing  # it builds on Node: imported when used

        result = audit_signing.sign(self)
        return result.note if result is not None else audit_signing.load_state(self).note

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
