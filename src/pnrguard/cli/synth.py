"""`pnrguard synth`: write synthetic carrier traffic (PNRGOV and PAXLST pushes) to a folder.

A thin shell over `pnrguard.formats.synth.generate`: it parses options, writes files and
prints a summary. The files feed `pnrguard ingest`, demos and load tests; they contain no
real person's data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pnrguard.formats.synth import generate

_DEFAULT_BASE_DATE = "2025-06-01"


def synth(
    outdir: Annotated[Path, typer.Argument(help="Folder to write *.pnrgov.edi and *.paxlst.edi into.")],
    flights: Annotated[int, typer.Option("--flights", min=1, help="Number of flights.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files, byte for byte.")] = 1,
    base_date: Annotated[
        str, typer.Option("--base-date", help="First departure day, YYYY-MM-DD (fixed, never today).")
    ] = _DEFAULT_BASE_DATE,
    sensitive_rate: Annotated[
        float,
        typer.Option(
            "--sensitive-rate", min=0.0, max=1.0, help="Share of bookings with sensitive SSRs/remarks."
        ),
    ] = 0.05,
) -> None:
    """Generate deterministic synthetic PNRGOV and PAXLST pushes for FLIGHTS flights."""
    try:
        day = dt.date.fromisoformat(base_date)
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--base-date") from None
    outdir.mkdir(parents=True, exist_ok=True)
    traffic = generate(seed, flights=flights, base_date=day, sensitive_rate=sensitive_rate)
    pushes = bookings = travellers = pnr_bytes = api_bytes = files = 0
    for push in traffic:
        pushes += 1
        bookings += len(push.bookings)
        travellers += push.travellers
        data = push.pnrgov.encode("utf-8")
        (outdir / push.pnrgov_filename).write_bytes(data)
        pnr_bytes += len(data)
        files += 1
        if push.paxlst is not None and push.paxlst_filename:
            api = push.paxlst.encode("utf-8")
            (outdir / push.paxlst_filename).write_bytes(api)
            api_bytes += len(api)
            files += 1
    table = Table(title=f"Synthetic traffic (seed {seed}, from {day.isoformat()})")
    table.add_column("flights", justify="right")
    table.add_column("pushes", justify="right")
    table.add_column("bookings (all versions)", justify="right")
    table.add_column("travellers (all versions)", justify="right")
    table.add_column("files", justify="right")
    table.add_column("PNRGOV bytes", justify="right")
    table.add_column("PAXLST bytes", justify="right")
    table.add_row(
        str(flights),
        str(pushes),
        str(bookings),
        str(travellers),
        str(files),
        f"{pnr_bytes:,}",
        f"{api_bytes:,}",
    )
    Console().print(table)
    Console().print(f"written to {outdir}")
