"""`pnrguard match`: screen a CSV of people against a watchlist file (thin shell)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pnrguard.errors import PnrguardError
from pnrguard.screening.match import read_queries, run, write_hits
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener
from pnrguard.screening.watchlists import FORMATS, load_watchlist


def match(
    watchlist: Annotated[Path, typer.Option("--watchlist", help="Watchlist file.")],
    queries: Annotated[
        Path, typer.Option("--queries", help="CSV with header id,name,dob,nationality,document.")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="Watchlist format: auto|" + "|".join(FORMATS) + ".")
    ] = "auto",
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Lowest score reported.")
    ] = DEFAULT_THRESHOLD,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write CSV here instead of stdout.")
    ] = None,
) -> None:
    """Screen people against a watchlist; CSV hits query_id,entity_id,score,explanation."""
    if fmt != "auto" and fmt not in FORMATS:
        raise typer.BadParameter(f"expected auto or one of {', '.join(FORMATS)}", param_hint="--format")
    try:
        screener = Screener.build(load_watchlist(watchlist, fmt))
        with queries.open(encoding="utf-8-sig", newline="") as qf:
            if output is None:
                write_hits(run(screener, read_queries(qf), threshold=threshold), sys.stdout)
            else:
                with output.open("w", encoding="utf-8", newline="") as out:
                    write_hits(run(screener, read_queries(qf), threshold=threshold), out)
    except PnrguardError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except OSError as exc:
        typer.echo(f"error: cannot read or write a file ({exc.strerror})", err=True)
        raise typer.Exit(code=2) from None
