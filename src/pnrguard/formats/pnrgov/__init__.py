"""PNRGOV (carrier-to-government PNR push) reader and writer.

The reader maps what it recognises into the Annex I booking model and counts everything
else by tag (`ReadResult.unknown_segments`), so nothing outside Annex I reaches storage.
It follows what carriers really send (the GTAS samples in `shared/conformance/gtas`), not
only the implementation guides: versions 10.1 to 21.1, RCI with several locators or with
the date in the wrong component, DOCS at booking, traveller and itinerary level, infants
whose DOCS sit on the adult, code-share legs given as a marketing TVL followed by an
operating `TVL+++++<flight>` (11.1) or a `TRA` (13.1), bag pools, and stray lines.

Tolerance (REQUIREMENTS.md section 9): the reader is a small state machine over the
segments of each `SRC` group. A segment that cannot be placed is skipped, counted and
recorded as a `Deviation` (tag and index only); everything else is kept. `MessageError` is
raised only when the interchange holds no PNRGOV message or no PNR at all. Every loop runs
over the input's own segments, elements or a small bound (bag tag runs are capped), so no
input can make the reader spin.

Sensitive SSRs (meals, health) are read like any other: the protection layer deletes them
right after reading, where the deletion is counted and audited.

The writer produces a complete interchange a carrier could have sent. What PNRGOV cannot
express exactly is described by `pnrgov_normalise`, which a round trip must equal:
`read_pnrgov(write_pnrgov([b], flight=f, ...)).bookings == [pnrgov_normalise(b, flight=f)]`.

One module per concept: `values` (dates, times, numbers), `contacts`, `documents` (SSR
DOCS/DOCA/DOCO text), `state` (where the reader is in an SRC group), the handlers of each
group (`reservation`, `ssr`, `travellers`, `itinerary`, `history`), `reader` (dispatch and
the message loop), `normalise` and `writer`.
"""

from __future__ import annotations

from pnrguard.formats.pnrgov.itinerary import MAX_TAG_RUN
from pnrguard.formats.pnrgov.normalise import pnrgov_normalise
from pnrguard.formats.pnrgov.reader import SUPPORTED_VERSIONS, read_pnrgov
from pnrguard.formats.pnrgov.state import CHECKED_IN
from pnrguard.formats.pnrgov.writer import write_pnrgov

__all__ = [
    "CHECKED_IN",
    "MAX_TAG_RUN",
    "SUPPORTED_VERSIONS",
    "pnrgov_normalise",
    "read_pnrgov",
    "write_pnrgov",
]
