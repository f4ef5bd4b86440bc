"""The `pnrguard` command line: a thin Typer shell over the service layer.

One module per operator task group; each registers itself here with one line.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="pnrguard",
    help="pnrguard: a Passenger Information Unit node.",
    no_args_is_help=True,
    add_completion=False,
)

# --- command registrations (one line each) ---
