"""Protection at the door: the one entry point ingest calls between parse and store.

DESIGN.md Principle 2: sensitive data is removed *before the first write*. Ingest calls
`protect` on every booking a reader returned and stores only `ProtectedBooking.booking`; the
raw message is not kept for accepted messages (it still holds what was deleted here). The
report is added to the per-carrier, per-day deletion counts (never to a row or an audit
entry that names one message or booking).

Annex I minimisation has already happened in the reader (by construction); `protect` checks
the construction (`assert_annex_only`), drops what Annex I as C-817/19 reads it does not name
(`minimise`: place of birth, document issue date, remarks other than on unaccompanied
minors) and removes Art. 13(4) data (`SensitiveFilter`, one structural pass over every
string of the booking; see docs/performance.md for the measured cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pnrguard.domain.model import Booking
from pnrguard.protection.minimise import assert_annex_only, minimise
from pnrguard.protection.sensitive import SensitiveFilter, SensitiveReport


@dataclass(frozen=True, slots=True)
class ProtectedBooking:
    """A booking fit to store, and what protecting it deleted (counts only)."""

    booking: Booking
    report: SensitiveReport
    #: What Annex I minimisation (C-817/19) dropped, by field: counts, never content.
    minimised: dict[str, int] = field(default_factory=dict)


def protect(booking: Booking, *, sensitive_filter: SensitiveFilter) -> ProtectedBooking:
    """Check `booking` holds only Annex I data, delete its sensitive data, and report.

    Raises `AnnexViolation` (a reader bug; the message must not be stored) if the booking
    holds anything outside the model. Never mutates `booking`.
    """
    assert_annex_only(booking)
    # The filter first, so its counts per category see every text the carrier sent.
    clean, report = sensitive_filter.apply(booking)
    lean, dropped = minimise(clean)
    return ProtectedBooking(lean, report, dropped)
