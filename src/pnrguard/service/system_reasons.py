"""Reasons the node writes on a hit it closes itself, where no person decided.

Stored as English text with ids and version numbers only (no personal data, so not sealed
like a person's reason); each is a message id, so a page shows it in the reader's language
(`shown_reason`). One list: a reason written elsewhere would reach a page in English.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from pnrguard.errors import N_

__all__ = ["CHANGED_IN_LIST", "COLLAPSED", "REMOVED_FROM_LIST", "shown_reason", "system_reason"]

REMOVED_FROM_LIST = N_("entry removed from list version %(version)s")
CHANGED_IN_LIST = N_("entry changed in list version %(version)s and no longer matches")
COLLAPSED = N_("collapsed into hit %(host)s: its record was linked to the same traveller")
_REASONS = (REMOVED_FROM_LIST, CHANGED_IN_LIST, COLLAPSED)
_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


def system_reason(template: str, **params: str | int) -> str:
    """The stored text of a system reason (`template` is one of this module's)."""
    if template not in _REASONS:
        raise ValueError("not a system reason")  # a programming error, not input
    return template % params


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (t, re.compile(_PLACEHOLDER.sub(r"(?P<\1>[A-Za-z0-9_.:-]+)", re.escape(t)))) for t in _REASONS
    )


def shown_reason(text: str | None, gettext: Callable[[str], str]) -> str | None:
    """A stored review reason as a page shows it: a system reason translated with its ids
    and versions filled in again; anything else (a person's words) as it is."""
    if not text:
        return text
    for template, pattern in _patterns():
        m = pattern.fullmatch(text)
        if m:
            return gettext(template) % m.groupdict()
    return text
