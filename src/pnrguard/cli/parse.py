"""`pnrguard parse FILE...`: print the bookings of carrier messages as JSON lines.

One booking per line (`domain.model.to_dict`), always *after* the sensitive-data filter:
this output feeds conformance diffs, bug reports and other tools, and none of them may ever
see a religious meal code or a health remark. There is deliberately no option to skip the
filter. Nothing is stored and nothing is audited: no data leaves the operator's terminal
except what they redirect.

Exit codes: 0 when every file was read; 2 when any file could not be read (each failure is
reported on stderr with its error code and position, never its content) — the other files
are still printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pnrguard.domain.model import to_dict
from pnrguard.errors import PnrguardError
from pnrguard.formats.reader import read_message
from pnrguard.protection.protect import protect
from pnrguard.protection.sensitive import SensitiveFilter


def parse(
    files: Annotated[list[Path], typer.Argument(help="PNRGOV or PAXLST files.", show_default=False)],
) -> None:
    """Print the parsed bookings as JSON lines (sensitive data already deleted)."""
    sensitive_filter = SensitiveFilter.load()
    failed = False
    out = sys.stdout
    for path in files:
        try:
            result = read_message(path.read_bytes())
            lines = [
                json.dumps(
                    to_dict(protect(b, sensitive_filter=sensitive_filter).booking),
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                for b in result.bookings
            ]
        except PnrguardError as exc:
            typer.echo(f"error: {path}: {exc.code}: {exc}", err=True)
            failed = True
            continue
        except OSError as exc:
            typer.echo(f"error: {path}: cannot read file ({exc.strerror})", err=True)
            failed = True
            continue
        for line in lines:
            out.write(line)
            out.write("\n")
    out.flush()
    if failed:
        raise typer.Exit(code=2)
