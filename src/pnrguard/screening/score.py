"""Scoring a candidate: name alignment plus date of birth, document and nationality.

Every contribution is a `Feature` with a signed value and a short reason, so an analyst
sees in seconds why a traveller was proposed. The score is the clamped sum. Weights are
chosen so that an exact name alone reaches any sensible threshold, a missing middle name
costs little, and a conflicting date of birth pulls an exact name below the default
threshold (see docs/performance.md for how the threshold was measured).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pnrguard.screening.models import Feature, IdentityDocument, PartialDate

#: Cost of each token of the longer name left unmatched (a missing middle name).
MISSING_TOKEN_PENALTY = 0.05
#: A name of several tokens that agrees with the query on one token only is not a match.
SINGLE_TOKEN_CAP = 0.6

DOB_EXACT = 0.10
DOB_SWAPPED = 0.05
DOB_YEAR_MONTH = 0.06
DOB_YEAR = 0.04
DOB_CONFLICT = -0.20
DOCUMENT_MATCH = 0.25
NATIONALITY_MATCH = 0.02
NATIONALITY_CONFLICT = -0.05
#: The most the non-name features can add; lets the screener skip hopeless names early.
MAX_BONUS = DOB_EXACT + DOCUMENT_MATCH + NATIONALITY_MATCH


def align_names(
    n_query: int,
    listed: Sequence[int],
    sims: Mapping[int, Sequence[tuple[int, float]]],
) -> tuple[float, list[tuple[int, int, float]]]:
    """Score one listed name (token ids) against a query of `n_query` tokens.

    `sims[token_id]` lists (query token position, similarity). Tokens are paired one to
    one, best pairs first, in any order (so swapped surname and given names cost nothing).
    The score is the mean similarity over the shorter name, less a small penalty per token
    of the longer name left over. Returns (score, pairs as (query pos, listed pos, sim)).
    """
    pairs: list[tuple[float, int, int]] = []
    for pos, tid in enumerate(listed):
        for qpos, sim in sims.get(tid, ()):
            pairs.append((sim, qpos, pos))
    if not pairs:
        return 0.0, []
    pairs.sort(reverse=True)
    used_q: set[int] = set()
    used_l: set[int] = set()
    chosen: list[tuple[int, int, float]] = []
    total = 0.0
    for sim, qpos, pos in pairs:
        if qpos in used_q or pos in used_l:
            continue
        used_q.add(qpos)
        used_l.add(pos)
        chosen.append((qpos, pos, sim))
        total += sim
    shorter = min(n_query, len(listed))
    longer = max(n_query, len(listed))
    score = total / shorter - MISSING_TOKEN_PENALTY * (longer - shorter)
    if shorter == 1 and longer > 1:
        score = min(score, SINGLE_TOKEN_CAP)
    return max(0.0, min(1.0, score)), chosen


def dob_feature(query: dt.date | None, listed: Sequence[PartialDate]) -> Feature:
    """Best agreement between the traveller's date of birth and any listed one."""
    if query is None:
        return Feature("dob", 0.0, "no traveller DOB")
    if not listed:
        return Feature("dob", 0.0, "no DOB on list")
    best = Feature("dob", DOB_CONFLICT, "DOB conflicts with every listed DOB")
    for p in listed:
        candidate = _compare_dob(query, p)
        if candidate.value > best.value:
            best = candidate
    return best


def _compare_dob(q: dt.date, p: PartialDate) -> Feature:
    when = p.isoformat()
    if p.month is not None and p.day is not None:
        if (p.year, p.month, p.day) == (q.year, q.month, q.day):
            return Feature("dob", DOB_EXACT, f"DOB exact {when}")
        if p.year == q.year and p.month == q.day and p.day == q.month:
            return Feature("dob", DOB_SWAPPED, f"DOB day/month swapped {when}")
        if p.year == q.year and p.month == q.month:
            return Feature("dob", 0.02, f"DOB same year and month {when}")
        if p.year == q.year or (abs(p.year - q.year) == 1 and (p.month, p.day) == (q.month, q.day)):
            return Feature("dob", 0.0, f"DOB near {when}")
        return Feature("dob", DOB_CONFLICT, f"DOB conflicts ({when})")
    if p.month is not None:
        if (p.year, p.month) == (q.year, q.month):
            return Feature("dob", DOB_YEAR_MONTH, f"DOB month matches {when}")
        if abs(p.year - q.year) <= 1:
            return Feature("dob", 0.0, f"DOB near {when}")
        return Feature("dob", DOB_CONFLICT, f"DOB conflicts ({when})")
    if p.year == q.year:
        return Feature("dob", DOB_YEAR, f"DOB year matches {when}")
    if abs(p.year - q.year) == 1:
        return Feature("dob", 0.0, f"DOB year near {when}")
    return Feature("dob", DOB_CONFLICT, f"DOB conflicts ({when})")


def document_feature(query: str | None, listed: Sequence[IdentityDocument]) -> Feature | None:
    """An exact document number is strong evidence; a different one is not evidence
    against (people hold several documents), so it adds nothing."""
    if not query or not listed:
        return None
    q = "".join(ch for ch in query.upper() if ch.isalnum())
    for doc in listed:
        if q and "".join(ch for ch in doc.number.upper() if ch.isalnum()) == q:
            where = f", {doc.country}" if doc.country else ""
            return Feature("document", DOCUMENT_MATCH, f"{doc.kind} number matches{where}")
    return Feature("document", 0.0, "document number differs")


def nationality_feature(query: str | None, listed: Sequence[str]) -> Feature | None:
    """Nationality agrees: small support; disagrees: small doubt (dual nationals exist)."""
    if not query or not listed:
        return None
    if query in listed:
        return Feature("nationality", NATIONALITY_MATCH, f"nationality {query} matches")
    return Feature(
        "nationality", NATIONALITY_CONFLICT, f"nationality {query} not in {'/'.join(listed)}"
    )


def combine(features: Sequence[Feature]) -> float:
    """The score: features summed, clamped to 0..1, rounded for stable output."""
    return round(max(0.0, min(1.0, sum(f.value for f in features))), 4)


def explain(features: Sequence[Feature]) -> str:
    """One line for CSV: each feature's reason with its signed contribution."""
    return "; ".join(
        f"{f.explanation} ({f.value:+.2f})" if f.feature != "name" else f.explanation
        for f in features
    )
