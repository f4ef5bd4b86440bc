"""What a message reader returns: bookings plus an account of everything it did not keep."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pnrguard.domain.model import Booking, Leg
from pnrguard.formats.edifact import Deviation


@dataclass(slots=True)
class ReadResult:
    """The bookings one interchange delivered.

    `unknown_segments` counts, by tag, the segments the reader could not place in the
    Annex I model (minimisation by construction); `deviations` records what it tolerated.
    Neither holds message content, so both may go to logs and the audit trail.
    """

    message_type: str  # "PNRGOV" or "PAXLST"
    version: str
    bookings: list[Booking]
    flight: Leg | None = None
    sender: str = ""
    recipient: str = ""
    control_ref: str = ""
    message_refs: list[str] = field(default_factory=list)
    crew: bool = False
    deviations: list[Deviation] = field(default_factory=list)
    unknown_segments: Counter[str] = field(default_factory=Counter)
