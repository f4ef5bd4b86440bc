"""`pnrguard keys status|rotate|rewrap|retire`: rotate the master key (KEK) of the key store
(a thin shell over `service.keys`); `pnrguard keys seal-texts` encrypts free texts stored in
clear before 0017_dp_text (`service.text_sealing`).

The sequence is ``rotate`` (new wraps use the new version at once, old ones keep
unwrapping), ``rewrap`` (every stored data key re-wrapped under the new version; the
encrypted fields are not touched; idempotent, batched, safe to rerun and to run while the
node serves), then, once ``status`` shows no key under an old version, ``retire`` (the old
KEKs are destroyed in the key file; it refuses while any stored key still uses one).
Back up the key file after ``rotate`` and after ``retire``.

Exit codes: 0 done; 1 ``retire`` refused (keys still use an old version) or ``rewrap`` left
keys under an old version; 3 a system error (database, key store, configuration).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.errors import ConflictError, PnrguardError
from pnrguard.service.bootstrap import Node
from pnrguard.service.keys import DEFAULT_BATCH, KEY_TABLES, key_usage, retire_old, rewrap_all
from pnrguard.service.text_sealing import TEXT_COLUMNS, seal_clear_texts

app = typer.Typer(
    name="keys",
    help="Rotate the master key: status, rotate, rewrap, retire; seal-texts after 0017.",
    no_args_is_help=True,
    add_completion=False,
)

_err = Console(stderr=True)


def _system_error(exc: Exception) -> typer.Exit:
    # SQLAlchemy errors can quote statement parameters: print the class only.
    detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
    _err.print(f"system error: {detail}", markup=False, highlight=False)
    return typer.Exit(code=3)


@app.command()
def status() -> None:
    """The KEK versions and how many stored keys each one wraps, per table."""
    try:
        with Node.from_settings() as node:
            versions = node.keystore.versions()
            current = node.keystore.current_version
            usage = key_usage(node.engine)
            periods = node.keystore.periods()
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    names = list(dict.fromkeys(kt.table.name for kt in KEY_TABLES))
    t = Table(title=f"KEK versions (current: {current})")
    t.add_column("version")
    t.add_column("state")
    for name in names:
        t.add_column(name, justify="right")
    t.add_column("total", justify="right")
    for v in sorted(set(versions) | set(usage)):
        state = "current" if v == current else ("old" if v in versions else "MISSING (retired or unknown)")
        per = usage.get(v, {})
        t.add_row(str(v), state, *(f"{per.get(n, 0):,}" for n in names), f"{sum(per.values()):,}")
    Console().print(t)
    # Per-period KEKs (booking, sealed and copy keys by month of receipt) share the versions
    # above; a period's KEK is destroyed by the retention run once its bookings are deleted.
    Console().print(
        f"Key periods with a live KEK: {', '.join(periods) if periods else 'none'}",
        markup=False,
        highlight=False,
    )


@app.command()
def rotate() -> None:
    """Create a new KEK and make it current; then run `keys rewrap`."""
    try:
        with Node.from_settings() as node:
            version = node.keystore.rotate()
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    Console().print(
        f"KEK version {version} is now current. Back up the key file, then run `pnrguard keys rewrap`.",
        markup=False,
        highlight=False,
    )


@app.command()
def rewrap(
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = DEFAULT_BATCH,
) -> None:
    """Re-wrap every stored data key under the current KEK: progress bar, then a summary."""
    try:
        with Node.from_settings() as node:
            usage = key_usage(node.engine)
            current = node.keystore.current_version
            todo: dict[str, int] = {}
            for v, per in usage.items():
                if v != current:
                    for name, n in per.items():
                        todo[name] = todo.get(name, 0) + n
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_err,
                transient=True,
            ) as progress:
                tasks = {
                    kt.name: progress.add_task(f"rewrap: {kt.name}", total=todo.get(kt.name, 0))
                    for kt in KEY_TABLES
                }
                result = rewrap_all(
                    engine=node.engine,
                    keystore=node.keystore,
                    audit=node.audit,
                    batch_size=batch_size,
                    progress=lambda name, n: progress.advance(tasks[name], n),
                )
    except ValueError as exc:
        _err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    t = Table(title=f"rewrap run {result.run_id} (KEK version {result.current_version})")
    for col in ("table", "rewrapped", "failed", "still old"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for kt in KEY_TABLES:
        t.add_row(
            kt.name,
            f"{result.rewrapped.get(kt.name, 0):,}",
            f"{result.failed.get(kt.name, 0):,}",
            f"{result.remaining_old.get(kt.name, 0):,}",
        )
    Console().print(t)
    if result.total_remaining:
        _err.print(
            "some keys are still under an old KEK version (failed, or locked by another worker): "
            "rerun `pnrguard keys rewrap`",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=1)


@app.command()
def retire() -> None:
    """Retire (destroy) every old KEK version no stored key uses any more."""
    try:
        with Node.from_settings() as node:
            retired = retire_old(engine=node.engine, keystore=node.keystore)
    except ConflictError as exc:
        _err.print(f"refused: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    out = Console()
    if retired:
        out.print(
            f"retired KEK version(s) {', '.join(map(str, retired))}. Back up the key file, and destroy "
            "older key-file backups that still hold them once the database backups that need them expire.",
            markup=False,
            highlight=False,
        )
    else:
        out.print("no old KEK version to retire", markup=False, highlight=False)


@app.command("seal-texts")
def seal_texts(
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = 500,
) -> None:
    """Encrypt free texts written in clear before 0017_dp_text (reasons, justifications,
    request texts): once after the upgrade; idempotent."""
    try:
        with Node.from_settings() as node:
            done = seal_clear_texts(
                engine=node.engine, keystore=node.keystore, audit=node.audit, batch=batch_size
            )
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    t = Table(title="texts encrypted")
    t.add_column("table.column")
    t.add_column("encrypted", justify="right")
    for tc in TEXT_COLUMNS:
        name = f"{tc.table.name}.{tc.column}"
        t.add_row(name, f"{done.get(name, 0):,}")
    Console().print(t)
