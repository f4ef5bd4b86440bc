"""`pnrguard index status|backfill|rebuild`: keep the blind index whole (a thin shell over
`service.index_rebuild`).

- ``backfill``: tokens and traveller links for active bookings that have none (stored
  before the index existed). Safe while the node serves.
- ``rebuild``: every active booking's tokens again, under the current index key;
  ``--new-key`` first replaces that key (searches miss the bookings not yet rebuilt, so
  run it in a quiet hour). Safe to rerun.

Both are batched, resumable (a stopped run goes on where it stopped; ``--limit N`` stops
after N batches on purpose) and logged (one audit entry per batch, counts in the log).

Exit codes: 0 done (or stopped by ``--limit``); 2 bad options; 3 a system error.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.errors import PnrguardError
from pnrguard.service.bootstrap import Node
from pnrguard.service.index_rebuild import Mode, WalkResult, walk_index, walk_status

app = typer.Typer(
    name="index",
    help="The blind index of search and linking: status, backfill, rebuild.",
    no_args_is_help=True,
    add_completion=False,
)

_err = Console(stderr=True)
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, max=10_000, help="bookings per transaction")]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="stop after this many batches")]


def _system_error(exc: Exception) -> typer.Exit:
    # SQLAlchemy errors can quote statement parameters: print the class only.
    detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
    _err.print(f"system error: {detail}", markup=False, highlight=False)
    return typer.Exit(code=3)


def _print(result: WalkResult) -> None:
    state = "finished" if result.finished else "stopped (run again to resume)"
    Console().print(
        f"index {result.mode.value}: {result.bookings:,} bookings in {result.batches:,} batches, "
        f"{result.links:,} traveller links; {'resumed, ' if result.resumed else ''}{state}",
        markup=False,
        highlight=False,
    )


def _walk(mode: Mode, batch_size: int, limit: int | None, *, new_key: bool = False) -> None:
    try:
        with Node.from_settings() as node:
            result = walk_index(
                mode, engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
                batch_size=batch_size, limit=limit, new_key=new_key,
            )  # fmt: skip
    except ValueError as exc:
        _err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    _print(result)


@app.command()
def status() -> None:
    """Active bookings, those without any token, and the state of the last walk."""
    try:
        with Node.from_settings() as node:
            counts = walk_status(node.engine)
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    t = Table(title="blind index")
    t.add_column("active bookings", justify="right")
    t.add_column("without tokens", justify="right")
    t.add_column("last backfill or rebuild")
    t.add_row(f"{counts['active']:,}", f"{counts['without_tokens']:,}", str(counts["walk"]))
    Console().print(t)


@app.command()
def backfill(batch_size: BatchOption = 500, limit: LimitOption = None) -> None:
    """Index and link the active bookings that have no token yet."""
    _walk(Mode.BACKFILL, batch_size, limit)


@app.command()
def rebuild(
    batch_size: BatchOption = 500,
    limit: LimitOption = None,
    new_key: Annotated[bool, typer.Option("--new-key", help="replace the index key first")] = False,
) -> None:
    """Re-tokenise every active booking under the current (or, with --new-key, a new) key."""
    _walk(Mode.REBUILD, batch_size, limit, new_key=new_key)
