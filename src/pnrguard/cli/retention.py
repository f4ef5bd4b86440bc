"""`pnrguard retention run|status`: apply the node's retention profile (a thin shell over
`service.retention`).

`run` is what cron calls, on as many workers as you like: it masks, moves to dormant and
crypto-shreds what is due, in batches, then expires the quarantine and prunes the audit log
at a signed checkpoint. It is idempotent; a second run right after does nothing. The
profile is `PNRGUARD_RETENTION_PROFILE` unless ``--profile`` names another.

Exit codes: 0 done; 3 a system error (database, key store, configuration) stopped the run
(the batches committed before it stay done; the next run continues).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.errors import PnrguardError
from pnrguard.protection.retention import PROFILES, get_profile
from pnrguard.service.bootstrap import Node
from pnrguard.service.retention import DEFAULT_BATCH, due_counts, last_runs, run_retention

app = typer.Typer(
    name="retention",
    help="Mask, move to dormant and delete what the retention profile says is due.",
    no_args_is_help=True,
    add_completion=False,
)

_err = Console(stderr=True)


def _system_error(exc: Exception) -> typer.Exit:
    # SQLAlchemy errors can quote statement parameters: print the class only.
    detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
    _err.print(f"system error: {detail}", markup=False, highlight=False)
    return typer.Exit(code=3)


ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help=f"Retention profile: {', '.join(sorted(PROFILES))}.")
]
UnlinkedOpt = Annotated[
    bool | None,
    typer.Option(
        "--delete-unlinked/--keep-unlinked",
        help="C-817/19 option: delete at 6 months what has no objective link (default: the profile's).",
    ),
]


@app.command()
def run(
    profile: ProfileOpt = None,
    delete_unlinked: UnlinkedOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = DEFAULT_BATCH,
    worker: Annotated[
        str | None, typer.Option("--worker", help="Name of this worker in the run log.")
    ] = None,
) -> None:
    """Apply the retention profile now: progress bar, then a summary."""
    try:
        with Node.from_settings() as node:
            prof = get_profile(
                profile or node.settings.retention_profile, delete_unlinked_at_mask=delete_unlinked
            )
            due = due_counts(node.engine, profile=prof, now=node.clock.now())
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_err,
                transient=True,
            ) as progress:
                tasks = {phase: progress.add_task(f"retention: {phase}", total=n) for phase, n in due.items()}
                summary = run_retention(
                    engine=node.engine,
                    keystore=node.keystore,
                    audit=node.audit,
                    clock=node.clock,
                    profile=prof,
                    batch_size=batch_size,
                    worker=worker,
                    progress=lambda phase, n: progress.advance(tasks[phase], n),
                    quarantine_raw_hours=node.settings.quarantine_raw_hours,
                )
    except ValueError as exc:
        _err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    table = Table(title=f"retention run {summary.run_id} ({summary.profile})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, n in summary.counts().items():
        table.add_row(key, f"{n:,}")
    Console().print(table)


@app.command()
def status(profile: ProfileOpt = None, delete_unlinked: UnlinkedOpt = None) -> None:
    """What a run would do now, and the last runs."""
    try:
        with Node.from_settings() as node:
            prof = get_profile(
                profile or node.settings.retention_profile, delete_unlinked_at_mask=delete_unlinked
            )
            now = node.clock.now()
            due = due_counts(node.engine, profile=prof, now=now)
            runs = last_runs(node.engine)
    except ValueError as exc:
        _err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _system_error(exc) from None
    cut = prof.cutoffs(now)
    out = Console()
    t = Table(title=f"due now ({prof.name}: {prof.description})")
    t.add_column("phase")
    t.add_column("bookings", justify="right")
    t.add_column("received at or before")
    t.add_row("delete", f"{due['delete']:,}", cut.delete.isoformat(timespec="seconds"))
    t.add_row(
        "dormant", f"{due['dormant']:,}", cut.dormant.isoformat(timespec="seconds") if cut.dormant else "-"
    )
    label = "mask (or delete if unlinked)" if prof.delete_unlinked_at_mask else "mask"
    t.add_row(label, f"{due['mask']:,}", cut.mask.isoformat(timespec="seconds"))
    out.print(t)
    r = Table(title="last runs")
    for col in ("run", "worker", "profile", "started", "status", "masked", "dormant", "deleted"):
        r.add_column(col)
    for run_ in runs:
        r.add_row(
            run_.id,
            run_.worker,
            run_.profile,
            run_.started_at.isoformat(timespec="seconds"),
            run_.status,
            str(run_.counts.get("bookings.masked", 0)),
            str(run_.counts.get("bookings.dormant", 0)),
            str(run_.counts.get("bookings.deleted", 0)),
        )
    out.print(r)
