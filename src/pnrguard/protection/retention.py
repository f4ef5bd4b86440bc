"""Retention profiles as data, and the pure rule "what is due for a booking at time D".

Why profiles are data: the law differs between regimes (REQUIREMENTS §5) and national
readings differ again, so a node picks a named profile and the DPO can read every number in
one place. The default is Directive 2016/681 as the Court read it in C-817/19.

- ``eu-2016-681-cjeu`` (default): C-817/19, para. 255-262: keeping data beyond 6 months is
  allowed only where objective evidence links the person to terrorist offences or serious
  crime. At 6 months a booking with no such link (no confirmed hit, no open case hold, no
  open request that found it, no transfer to an authority or peer, no pending unmasking) is
  deleted (crypto-shredded); a linked booking is masked and deleted at 5 years.
  (``eu-2016-681-c817`` is the same profile under its earlier name.)
- ``eu-2016-681``: the Directive's text alone (Art. 12): every booking masked at 6 months
  and deleted at 5 years. A looser reading the Court did not uphold; available only when a
  node names it explicitly.
- ``eu-us-2012`` (2012 EU-US PNR Agreement, Art. 8): masked at 6 months, active for 5 years,
  then *dormant* (readable only with an approval of a higher level) until deleted at 10.

Why the clock starts at `first_seen`: Art. 12(1) counts from the transfer to the PIU; the
first push of a booking is its first transfer, and counting from a later re-push would let
carriers extend retention by re-sending.

Months are calendar months (6 months after 31 August is 28/29 February), never 183 days:
the law says months, and a fixed day count drifts from it by up to three days.

Pure: no I/O, no clock (the caller passes "now"); the store and the retention run query with
the `Cutoffs` computed here and confirm each row with `due`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = [
    "DEFAULT_PROFILE",
    "EU_2016_681",
    "EU_2016_681_CJEU",
    "EU_2016_681_STRICT",
    "EU_US_2012",
    "PROFILES",
    "Action",
    "Cutoffs",
    "FixedLinks",
    "RetentionLinks",
    "RetentionProfile",
    "due",
    "get_profile",
    "months_before",
]


class Action(StrEnum):
    """What retention does to a booking. Ordered by severity in `due`."""

    MASK = "mask"  # lock the identity key behind judicial approval; content stays usable
    DORMANT = "dormant"  # (EU-US) move to the dormant store: a higher approval level
    DELETE = "delete"  # crypto-shred: destroy both data keys, drop the versions


def months_before(at: dt.datetime, months: int) -> dt.datetime:
    """`at` minus whole calendar months, clamping the day (31 Aug - 6 months = 28/29 Feb)."""
    if months < 0:
        raise ValueError("months must be non-negative")
    total = at.year * 12 + (at.month - 1) - months
    year, month0 = divmod(total, 12)
    day = min(at.day, calendar.monthrange(year, month0 + 1)[1])
    return at.replace(year=year, month=month0 + 1, day=day)


@dataclass(frozen=True, slots=True)
class RetentionProfile:
    """One legal regime's retention periods. Durations of bookings are in calendar months.

    `dormant_after_months` is None for profiles without a dormant store; when set, bookings
    are deleted at `delete_after_months` counted from first receipt, after having been
    dormant from `dormant_after_months`.
    """

    name: str
    description: str
    mask_after_months: int = 6
    delete_after_months: int = 60
    delete_unlinked_at_mask: bool = False
    dormant_after_months: int | None = None
    quarantine_days: int = 30
    audit_log_months: int = 60
    #: Raw bytes of a quarantined (unreadable) message are kept this long, then only the
    #: reason and digest: they hold the very data the filter must delete (Art. 13(4), 6(2)).
    quarantine_raw_hours: int = 72
    #: A push parked as failed in the gateway inbox keeps its raw bytes this long.
    failed_push_hours: int = 72

    def __post_init__(self) -> None:
        if not 0 < self.mask_after_months <= self.delete_after_months:
            raise ValueError("a profile masks before (or when) it deletes")
        if self.dormant_after_months is not None and not (
            self.mask_after_months <= self.dormant_after_months < self.delete_after_months
        ):
            raise ValueError("dormancy starts after masking and before deletion")
        if self.quarantine_days <= 0 or self.audit_log_months <= 0:
            raise ValueError("quarantine and audit-log retention must be positive")
        if self.quarantine_raw_hours <= 0 or self.failed_push_hours <= 0:
            raise ValueError("raw-byte retention must be positive")
        if self.quarantine_raw_hours > self.quarantine_days * 24:
            raise ValueError("raw bytes cannot outlive their quarantine entry")

    def cutoffs(self, now: dt.datetime) -> Cutoffs:
        """The receipt times at or before which each action is due at `now`."""
        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return Cutoffs(
            mask=months_before(now, self.mask_after_months),
            delete=months_before(now, self.delete_after_months),
            dormant=(
                months_before(now, self.dormant_after_months)
                if self.dormant_after_months is not None
                else None
            ),
            quarantine=now - dt.timedelta(days=self.quarantine_days),
            audit_log=months_before(now, self.audit_log_months),
            quarantine_raw=now - dt.timedelta(hours=self.quarantine_raw_hours),
            failed_push=now - dt.timedelta(hours=self.failed_push_hours),
        )


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """A booking first seen at or before `mask` is due for masking, and so on. `dormant`
    is None when the profile has no dormant store."""

    mask: dt.datetime
    delete: dt.datetime
    dormant: dt.datetime | None
    quarantine: dt.datetime
    audit_log: dt.datetime
    quarantine_raw: dt.datetime
    failed_push: dt.datetime


def due(
    profile: RetentionProfile,
    *,
    first_seen: dt.datetime,
    state: str,
    dormant: bool,
    linked: bool,
    now: dt.datetime,
) -> Action | None:
    """The one action due for a booking at `now`, or None.

    `state` is the booking's life-cycle state (``active``, ``masked``, ``deleted``),
    `dormant` whether it is in the dormant store already, `linked` whether it has an
    objective link to a risk (a confirmed hit, an open case or request). The most severe
    due action wins: a booking found 5 years old and still active is deleted, not first
    masked. Returns None for a deleted booking, whatever the dates.
    """
    if state == "deleted":
        return None
    cut = profile.cutoffs(now)
    if first_seen <= cut.delete:
        return Action.DELETE
    if cut.dormant is not None and first_seen <= cut.dormant and not dormant:
        return Action.DORMANT
    if state == "active" and first_seen <= cut.mask:
        if profile.delete_unlinked_at_mask and not linked:
            return Action.DELETE
        return Action.MASK
    return None


class RetentionLinks(ABC):
    """Port: which bookings have an *objective link* to a risk (C-817/19, para. 257-262).

    Contract: `linked` returns the subset of `booking_ids` that, at `now`, have a confirmed
    hit, are named in an open case (retention hold), were found by an open authority
    request, were transferred (a pending or released transmission), or are named in a
    pending or approved unmasking request whose window has not ended. It reads, never
    writes, and must answer for every id it is given (an unknown id is simply not linked).
    The store implements it over its tables (`store.lifecycle.StoreRetentionLinks`); tests
    may pass a fixed set.
    """

    @abstractmethod
    def linked(self, booking_ids: Sequence[str], *, now: dt.datetime) -> set[str]: ...


class FixedLinks(RetentionLinks):
    """A fixed set of linked ids: for tests and dry runs."""

    def __init__(self, ids: set[str] | frozenset[str] = frozenset()) -> None:
        self._ids = frozenset(ids)

    def linked(self, booking_ids: Sequence[str], *, now: dt.datetime) -> set[str]:
        return {b for b in booking_ids if b in self._ids}


EU_2016_681 = RetentionProfile(
    name="eu-2016-681",
    description=(
        "Directive (EU) 2016/681 Art. 12 read alone (not the default): mask everyone at 6 "
        "months, delete at 5 years."
    ),
)
EU_2016_681_CJEU = RetentionProfile(
    name="eu-2016-681-cjeu",
    description=(
        "Directive (EU) 2016/681 as read in C-817/19 (default): delete at 6 months what has "
        "no objective link to a risk; mask the rest and delete it at 5 years."
    ),
    delete_unlinked_at_mask=True,
)
#: The earlier name of the C-817/19 profile (kept so existing settings keep working).
EU_2016_681_STRICT = EU_2016_681_CJEU
EU_US_2012 = RetentionProfile(
    name="eu-us-2012",
    description=(
        "2012 EU-US PNR Agreement Art. 8: mask at 6 months, active 5 years, then dormant "
        "(higher approval level) until deleted at 10 years."
    ),
    delete_after_months=120,
    dormant_after_months=60,
)

PROFILES: dict[str, RetentionProfile] = {
    **{p.name: p for p in (EU_2016_681_CJEU, EU_2016_681, EU_US_2012)},
    "eu-2016-681-c817": EU_2016_681_CJEU,
}
DEFAULT_PROFILE = EU_2016_681_CJEU


def get_profile(name: str, *, delete_unlinked_at_mask: bool | None = None) -> RetentionProfile:
    """A named profile; `delete_unlinked_at_mask` overrides the C-817/19 option when given.

    Raises `ValueError` for an unknown name (the settings validate it at start-up)."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown retention profile {name!r}; known: {', '.join(sorted(PROFILES))}"
        ) from None
    if delete_unlinked_at_mask is None or delete_unlinked_at_mask == profile.delete_unlinked_at_mask:
        return profile
    return replace(profile, delete_unlinked_at_mask=delete_unlinked_at_mask)
