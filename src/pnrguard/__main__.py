"""`python -m pnrguard ...`: the same CLI as the `pnrguard` script (how `serve` starts its
inline worker process, independent of where the script is installed)."""

from pnrguard.cli import app

app(prog_name="pnrguard")
