"""Screening storage: watchlists and their versions, criteria rules, hits and suppressions.

What is stored and why (docs/watchlists.md, "Hits, versions and rescreening"):

- `watchlist`, `watchlist_version`, `watchlist_entry`: the lists a PIU is entitled to hold
  are reference data published by their authors, so they are stored plain. Every import
  that changes a list is a new *version* (counts of the delta, SHA-256 of the file); an
  entry row is one content version of a listed person, valid from `first_version` until
  `removed_version` (exclusive, NULL while current). Nothing is overwritten, so the entry a
  hit was produced by can always be shown to the reviewer, even after the list moved on.
- `criteria_rule`: one row per rule *version*; a change is a new version, never an update,
  so every hit names the exact expression that produced it (C-817/19: transparency).
- `hit`: an automated match waiting for, or carrying, a person's decision (Art. 6(5)). It
  holds ids, versions, a score and per-feature numbers only: no name, date of birth or
  document. The explanation a reviewer reads is rendered when the hit is opened, from the
  decrypted booking and the stored entry. `person_digest` is a keyed HMAC over the
  traveller's normalised name, date of birth and document (never a plain hash), used only
  to apply suppressions; NULL when the traveller has neither a date of birth nor a
  document, because a suppression on a bare name would silence every namesake.
- `suppression`: a negative review kept so the same false match does not come back
  (Art. 12(5)): (person digest, match key), for list matches bound to the entry's
  fingerprint at the time, so a changed entry is looked at again.

One module per concept, re-exported here so callers keep `store.screening`:
`store/watchlists.py` (lists, versions, entries), `store/criteria_rules.py`,
`store/hits.py`, `store/suppressions.py` and `store/rescreen_bookings.py` (the bookings a
rescreen walks). Functions work on the caller's `Connection` and never commit; the use
cases in `service/screening.py` own the transactions. Schema only via Alembic
(`migrations/versions/0003_screening.py`).
"""

from __future__ import annotations

from pnrguard.store.criteria_rules import (
    criteria_rule,
    insert_rule,
    latest_rule,
    latest_rules,
    rule_version,
)
from pnrguard.store.hits import (
    HIT_KINDS,
    HIT_STATUSES,
    HitKind,
    HitRecord,
    HitStatus,
    count_hits,
    get_hit,
    hit,
    hits_for,
    insert_hits,
    refresh_hits,
    rule_hit_counts,
    set_review,
    withdraw_open_hits,
)
from pnrguard.store.rescreen_bookings import (
    active_booking_page,
    restricted_among,
)
from pnrguard.store.suppressions import (
    add_suppression,
    suppression,
    suppressions_for,
)
from pnrguard.store.watchlists import (
    CurrentList,
    VersionRecord,
    WatchlistRecord,
    add_entries,
    add_version,
    create_watchlist,
    current_entries,
    current_fingerprints,
    current_lists,
    entities_superseded_in,
    entries_at,
    entries_at_version,
    entries_first_in,
    entry_from_data,
    entry_to_data,
    get_watchlist,
    latest_version,
    list_watchlists,
    mark_rescreened,
    retire_entries,
    versions,
    watchlist,
    watchlist_entry,
    watchlist_version,
)

__all__ = [
    "HIT_KINDS",
    "HIT_STATUSES",
    "CurrentList",
    "HitKind",
    "HitRecord",
    "HitStatus",
    "VersionRecord",
    "WatchlistRecord",
    "active_booking_page",
    "add_entries",
    "add_suppression",
    "add_version",
    "count_hits",
    "create_watchlist",
    "criteria_rule",
    "current_entries",
    "current_fingerprints",
    "current_lists",
    "entities_superseded_in",
    "entries_at",
    "entries_at_version",
    "entries_first_in",
    "entry_from_data",
    "entry_to_data",
    "get_hit",
    "get_watchlist",
    "hit",
    "hits_for",
    "insert_hits",
    "insert_rule",
    "latest_rule",
    "latest_rules",
    "latest_version",
    "list_watchlists",
    "mark_rescreened",
    "refresh_hits",
    "restricted_among",
    "retire_entries",
    "rule_hit_counts",
    "rule_version",
    "set_review",
    "suppression",
    "suppressions_for",
    "versions",
    "watchlist",
    "watchlist_entry",
    "watchlist_version",
    "withdraw_open_hits",
]
