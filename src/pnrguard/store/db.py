"""Engines, the shared table metadata and schema migrations.

Schema changes happen only through Alembic migrations (`store/migrations/versions`); the
tables defined on `metadata` are the code's view of them, and a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: Rows per `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 500


def conflict_insert(dialect: str, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT into `table` that can say ON CONFLICT, in the dialect of the node's database
    (PostgreSQL's or SQLite's: the two it runs on; both spell it the same way)."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`: one `IN (...)` list or one executemany batch each."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bulk_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    copy_types: Sequence[str] | None = None,
) -> None:
    """Insert many `rows` (tuples in `columns` order) through the driver, in the caller's
    transaction: COPY on PostgreSQL (binary when `copy_types` names the columns' types),
    `executemany` on SQLite, the expression layer on anything else.

    For the blind index and the traveller links: ingest writes ~20 rows a booking, and
    SQLAlchemy's per-row parameter processing cost more than the rest of the index upkeep
    (bench/search.py), psycopg's `executemany` a round of messages per row.
    """
    if not rows:
        return
    raw: Any = conn.connection.dbapi_connection
    names = ", ".join(table.c[c].name for c in columns)  # the table's own columns, no other text
    if conn.dialect.name == "postgresql":
        binary = " (FORMAT BINARY)" if copy_types is not None else ""
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN{binary}") as copy:
            if copy_types is not None:
                copy.set_types(list(copy_types))
            for row in rows:
                copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        cur = raw.cursor()
        try:
            marks = ", ".join("?" * len(columns))
            cur.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)  # noqa: S608
        finally:
            cur.close()
        return
    for chunk in chunks(rows, 2000):  # any other database: the portable path
        conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in chunk])


def in_values(column: str, values: Iterable[str]) -> str:
    """A CHECK constraint body `column IN ('a', 'b')`: the allowed codes, enforced by the
    database too, so a bug in the code cannot store a state the use cases do not know."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings pnrguard relies on.

    SQLite: WAL (readers never block the writer), foreign keys on, a busy timeout so that
    several workers wait instead of failing, and real BEGIN/SAVEPOINT semantics (pysqlite's
    own transaction handling is turned off, as the SQLAlchemy docs recommend).

    Statement parameters are hidden from error messages by default: SQLAlchemy would quote
    them (locators, digests, ciphertext) in exceptions that end up in logs.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", 30)
        kwargs["connect_args"].setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
            # Up to 64 MiB of page cache (default 2 MiB): ingest inserts ~30 blind-index rows a
            # booking at random keys, and a filled store's index pages otherwise leave the cache
            # between two messages (bench/search.py, docs/performance.md). Allocated as used.
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _drop_server_detail)
    return engine


def _drop_server_detail(context: Any) -> None:
    """Cut PostgreSQL's DETAIL line from driver errors before anything formats them.

    A constraint violation's DETAIL quotes the failing row ("Failing row contains (...)",
    "Key (locator)=(...) already exists"): personal data that would reach logs through the
    exception text. The error code, the constraint name and the primary message stay.
    """
    for exc in (context.original_exception, context.sqlalchemy_exception):
        args = getattr(exc, "args", ())
        if args and isinstance(args[0], str) and "\nDETAIL:" in args[0]:
            exc.args = (args[0].split("\nDETAIL:", 1)[0], *args[1:])


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    location = resources.files("pnrguard.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)
