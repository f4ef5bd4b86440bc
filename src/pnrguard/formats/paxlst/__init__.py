"""PAXLST (UN/EDIFACT D02B and later): advance passenger information, carrier to PIU.

A PAXLST message reports one flight (`TDT`, with `LOC`/`DTM` pairs for its legs) and the
people on it (`NAD+FL` passengers, `NAD+FM` crew), each with gender, birth date, ports,
nationality, reservation references and travel documents. Each person becomes one
`Booking(source=Source.API)` with exactly one traveller, so API and PNR data meet in one model.

Tolerance (REQUIREMENTS.md section 9): carriers send segments out of order, unknown
segments, wrong counts and odd flight identifiers. The reader keeps everything it can place,
counts the rest by tag in `ReadResult.unknown_segments` (minimisation by construction: what
has no place in the Annex I model is never kept), and records what it tolerated as a
`Deviation` (tag and segment index only, never content). It raises `MessageError` only when
nothing is readable: no PAXLST message, or no message naming a flight.

Speed: one pass over the segments, dispatch by tag through a dict, no regex per segment;
every loop is bounded by the input.

One module per concept: `codes` (code lists), `values` (counts, dates, flight identifiers),
`reader` (the message loop and its segment handlers) and `writer`. This module re-exports
their API.
"""

from __future__ import annotations

from pnrguard.formats.paxlst.codes import MESSAGE_TYPE
from pnrguard.formats.paxlst.reader import read_paxlst
from pnrguard.formats.paxlst.writer import write_paxlst

__all__ = ["MESSAGE_TYPE", "read_paxlst", "write_paxlst"]
