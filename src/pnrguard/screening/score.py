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
from dataclasses import dataclass

from pnrguard.screening.models import Feature, Gender, IdentityDocument, PartialDate

#: Cost of each token of the longer name left unmatched (a missing middle name).
MISSING_TOKEN_PENALTY = 0.05
#: A name of several tokens that agrees with the query on one token only is not a match.
SINGLE_TOKEN_CAP = 0.6
#: A one-name query (surname only) that is the listed surname: still short of a hit
#: unless the date of birth agrees exactly.
SURNAME_ONLY_CAP = 0.65
#: An initial (`B.`) standing for a listed given name with that letter: weaker than a name.
INITIAL_SIMILARITY = 0.7
#: A query token counts for two adjacent listed tokens glued (GARCIALOPEZ) at this similarity.
GLUED_SIMILARITY = 0.97
#: Only common names of the list matched while one side has more names: MOHAMMED IBRAHIM
#: against Abdul Kader Ibrahim MOHAMED is weak evidence (most such travellers are namesakes).
COMMON_NAMES_ONLY = -0.15
#: The only distinctive (uncommon) name matched is a different spelling, the rest common
#: names: HASSAN NASARI against Hassan ASGARI. Namesake-like unless the DOB agrees.
DISTINCTIVE_APPROXIMATE = -0.10
#: One distinctive name matched, the others common, while listed names are left over:
#: ALI AHMADI against Ali AGHA-AHMADI. Thin evidence unless the DOB agrees.
ONE_DISTINCTIVE = -0.08
#: A matched part is distinctive when it is not common and matched at least this closely.
DISTINCTIVE_SIMILARITY = 0.95
#: Listed tokens matched at least this closely are spellings of the query's name (MOHAMMED,
#: MUHAMMAD); below, other names that look alike (HASSAN, EHSAN; NASARI, ASGARI).
SPELLING_SIMILARITY = 0.9
#: Only common names matched, one of them as another name that looks alike: HASSAN
#: MOHAMMADI against Ehsan MOHAMMADI.
COMMON_LOOKALIKE = -0.10
#: Only names many people bear matched and nothing tells the listed person from them:
#: neither the exact listed date of birth nor a listed document number agrees
#: (`unidentified_feature` says when; names common only by their form may still be
#: proposed on a date that agrees as far as the list gives one).
#: Keeps such a match under the default threshold whatever else agrees (name 1.00, surname
#: +0.02, the listed month +0.10: 0.82): a reviewer could not tell the traveller from a
#: namesake either, and those namesakes are the people of the cultures the list's names
#: come from (docs/watchlists.md, "Names that identify nobody").
COMMON_UNIDENTIFIED = -0.30

# Date of birth, weighed by the precision of the listed date.
DOB_EXACT = 0.20
DOB_SWAPPED = 0.08
DOB_YEAR_MONTH = 0.10
DOB_SAME_MONTH = 0.02
DOB_YEAR = 0.05
#: A year that is one of several listed years (a range, `circa`): weaker evidence.
DOB_YEAR_OF_RANGE = 0.03
DOB_CONFLICT = -0.20
DOCUMENT_MATCH = 0.25
#: A nationality that agrees is shown but adds nothing: a namesake's name already says which
#: country they likely come from (most Iranians named like a listed Iranian are Iranian), so
#: agreement does not tell the listed person from namesakes, and a plus for it would score
#: travellers higher for their nationality.
NATIONALITY_MATCH = 0.0
NATIONALITY_CONFLICT = -0.05
#: The list gives no date of birth: the nationality is the one identifier besides the name,
#: and its disagreement counts as a conflicting date of birth would.
NATIONALITY_CONFLICT_UNDATED = -0.20
#: Documents issued to the holder's own nationals: their country stands for a nationality.
NATIONAL_DOCUMENTS = frozenset({"passport", "national_id"})
#: The traveller's gender (as the document or reservation gives it) against the listed one.
#: A person has one: unlike nationality (dual nationals) a disagreement is not explained
#: by another document, so it counts as a conflicting date of birth does. Agreement adds
#: nothing: half of all namesakes share it.
GENDER_MATCH = 0.0
GENDER_CONFLICT = -0.20
# Roles: which listed name is the surname (when the list marks it).
SURNAME_MATCH = 0.02
SURNAME_CROSS = -0.03
SURNAME_MISSING = -0.15
#: On top of the missing-token cost, for each listed surname part left unmatched.
SURNAME_PART_MISSING = -0.05
#: The most the non-name features can add; lets the screener skip hopeless names early.
MAX_BONUS = DOB_EXACT + DOCUMENT_MATCH + NATIONALITY_MATCH + SURNAME_MATCH


@dataclass(slots=True)
class Alignment:
    """How one listed name lines up with the query.

    `pairs`: (query positions as a bit mask, listed position, similarity); a mask of two
    bits is two adjacent query tokens read glued. `covered`: listed positions counted as
    glued to a paired neighbour. `initials`: pairs made by an initial.
    """

    score: float
    pairs: list[tuple[int, int, float]]
    covered: int = 0
    initials: int = 0
    n_query: int = 0
    n_listed: int = 0

    @property
    def left(self) -> int:
        """Names of the longer side left without a partner."""
        return max(self.n_listed, self.n_query) - len(self.pairs)

    @property
    def query_left(self) -> int:
        """The traveller's names left without a partner (a glued pair pairs two)."""
        return self.n_query - sum(m.bit_count() for m, _, _ in self.pairs)


def align_names(
    n_query: int,
    listed: Sequence[int],
    sims: Mapping[int, Sequence[tuple[int, float]]],
    *,
    initials: Sequence[tuple[int, str]] = (),
    first_letters: Sequence[str] = (),
    initial_excluded: int = 0,
    pair_sims: Mapping[int, Sequence[int]] | None = None,
) -> Alignment:
    """Score one listed name (token ids) against a query of `n_query` tokens.

    `sims[token_id]` lists (query position mask, similarity). Tokens are paired one to
    one, best pairs first, in any order (so swapped surname and given names cost nothing);
    then each query initial takes a free listed name with its letter (not one of the
    positions in the `initial_excluded` mask: the surname); then a free query token takes
    two free adjacent listed tokens that glue into it (`pair_sims[token_id]`: query
    positions), and the second is covered. The score is the mean
    similarity over the shorter name, less a small penalty per token of the longer left over.
    """
    pairs: list[tuple[float, int, int]] = []
    for pos, tid in enumerate(listed):
        found = sims.get(tid)
        if found is not None:
            for qmask, sim in found:
                pairs.append((sim, qmask, pos))
    pairs.sort(reverse=True)  # best first; at equal similarity a glued pair (larger mask) first
    used_q = 0
    used_l = 0
    chosen: list[tuple[int, int, float]] = []
    total = 0.0
    merged = 0
    for sim, qmask, pos in pairs:
        if qmask & used_q or used_l >> pos & 1:
            continue
        used_q |= qmask
        used_l |= 1 << pos
        chosen.append((qmask, pos, sim))
        total += sim
        merged += qmask.bit_count() - 1
    n_initials = 0
    for qpos, letter in initials:
        if used_q >> qpos & 1:
            continue
        for pos, first in enumerate(first_letters):
            if first == letter and not (used_l | initial_excluded) >> pos & 1:
                used_q |= 1 << qpos
                used_l |= 1 << pos
                chosen.append((1 << qpos, pos, INITIAL_SIMILARITY))
                total += INITIAL_SIMILARITY
                n_initials += 1
                break
    covered = 0
    if pair_sims and len(listed) > 1:  # a query token that is two adjacent listed parts glued
        for pos in range(len(listed) - 1):
            if (used_l >> pos) & 3:
                continue
            left, right = pair_sims.get(listed[pos], ()), pair_sims.get(listed[pos + 1], ())
            for qpos in left:
                if qpos in right and not used_q >> qpos & 1:
                    used_q |= 1 << qpos
                    used_l |= 3 << pos
                    chosen.append((1 << qpos, pos, GLUED_SIMILARITY))
                    total += GLUED_SIMILARITY
                    covered += 1
                    break
    n_q = n_query - merged
    n_l = len(listed) - covered
    if not chosen or n_q <= 0 or n_l <= 0:
        return Alignment(0.0, [], 0, 0, n_q, n_l)
    shorter, longer = min(n_q, n_l), max(n_q, n_l)
    score = total / shorter - MISSING_TOKEN_PENALTY * (longer - shorter)
    if shorter == 1 and longer > 1:
        score = min(score, SINGLE_TOKEN_CAP)
    return Alignment(max(0.0, min(1.0, score)), chosen, covered, n_initials, n_q, n_l)


def dob_feature(query: dt.date | None, listed: Sequence[PartialDate]) -> Feature:
    """Best agreement between the traveller's date of birth and any listed one, weighed by
    how precise the listed date is: an exact day counts most, a month less, a year less
    again, one year of a listed range least; a conflict with every listed date counts
    against."""
    if query is None:
        return Feature("dob", 0.0, "no traveller DOB")
    if not listed:
        return Feature("dob", 0.0, "no DOB on list")
    years_only = sum(1 for p in listed if p.month is None)
    best = Feature("dob", DOB_CONFLICT, "DOB conflicts with every listed DOB")
    for p in listed:
        candidate = _compare_dob(query, p, in_range=years_only > 2)
        if candidate.value > best.value:
            best = candidate
    return best


def _compare_dob(q: dt.date, p: PartialDate, *, in_range: bool) -> Feature:
    when = p.isoformat()
    if p.month is not None and p.day is not None and (p.month, p.day) != (1, 1):
        if (p.year, p.month, p.day) == (q.year, q.month, q.day):
            return Feature("dob", DOB_EXACT, f"DOB exact {when}")
        if p.year == q.year and p.month == q.day and p.day == q.month:
            return Feature("dob", DOB_SWAPPED, f"DOB day/month swapped {when}")
        if p.year == q.year and p.month == q.month:
            return Feature("dob", DOB_SAME_MONTH, f"DOB same year and month {when}")
        if abs(p.year - q.year) == 1 and (p.month, p.day) == (q.month, q.day):
            return Feature("dob", 0.0, f"DOB near {when}")
        return Feature("dob", DOB_CONFLICT, f"DOB conflicts ({when})")
    if p.month is not None and p.day is not None:  # 1 January: often a placeholder for the year
        if (p.year, p.month, p.day) == (q.year, q.month, q.day):
            return Feature("dob", DOB_YEAR, f"DOB exact {when} (1 January: weighed as a year)")
        if p.year == q.year:
            return Feature("dob", DOB_YEAR_OF_RANGE, f"DOB year of {when} (1 January)")
        if abs(p.year - q.year) == 1:
            return Feature("dob", 0.0, f"DOB year near {when}")
        return Feature("dob", DOB_CONFLICT, f"DOB conflicts ({when})")
    if p.month is not None:
        if (p.year, p.month) == (q.year, q.month):
            return Feature("dob", DOB_YEAR_MONTH, f"DOB month matches {when}")
        if abs(p.year - q.year) <= 1:
            return Feature("dob", 0.0, f"DOB near {when}")
        return Feature("dob", DOB_CONFLICT, f"DOB conflicts ({when})")
    if p.year == q.year:
        if in_range:
            return Feature("dob", DOB_YEAR_OF_RANGE, f"DOB year in listed range {when}")
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


def listed_nationalities(nationalities: Sequence[str], documents: Sequence[IdentityDocument]) -> list[str]:
    """The listed nationalities, with the issuing country of a listed passport or national
    identity card when the list names no nationality (those documents go to nationals)."""
    if nationalities:
        return list(nationalities)
    out: list[str] = []
    for doc in documents:
        if doc.country and doc.kind in NATIONAL_DOCUMENTS and doc.country not in out:
            out.append(doc.country)
    return out


def nationality_feature(query: str | None, listed: Sequence[str], *, dated: bool = True) -> Feature | None:
    """Nationality agrees: shown, adds nothing (`NATIONALITY_MATCH`); disagrees: small doubt
    (dual nationals exist).

    When the list gives no date of birth (`dated` false), the nationality is the only
    identifier besides the name, so its disagreement counts as a conflicting date would:
    a traveller whose document is of another country is not proposed on a name alone."""
    if not query or not listed:
        return None
    if query in listed:
        return Feature("nationality", NATIONALITY_MATCH, f"nationality {query} matches")
    if not dated:
        return Feature(
            "nationality",
            NATIONALITY_CONFLICT_UNDATED,
            f"nationality {query} not in {'/'.join(listed)}, and no DOB listed",
        )
    return Feature("nationality", NATIONALITY_CONFLICT, f"nationality {query} not in {'/'.join(listed)}")


def gender_feature(query: str | None, listed: Gender | None) -> Feature | None:
    """Gender agrees: shown, adds nothing; disagrees: `GENDER_CONFLICT`. Nothing when
    either side does not give male or female (U, X, unknown)."""
    letter = (query or "").strip().upper()[:1]
    if listed is None or letter not in ("M", "F"):
        return None
    if letter == ("M" if listed is Gender.MALE else "F"):
        return Feature("gender", GENDER_MATCH, f"gender {letter} matches")
    return Feature("gender", GENDER_CONFLICT, f"gender {letter}, listed {listed.value}")


def common_only(pairs: Sequence[tuple[int, int, float]], common_mask: int) -> bool:
    """Every matched query name is in `common_mask` (none distinctive; initials are not
    names): the match rests on names many people share."""
    return bool(pairs) and all(not m & ~common_mask for m, _, _ in pairs)


def identified(dob: Feature, document: Feature | None) -> bool:
    """The traveller agrees with the listed person on something few namesakes share: the
    exact listed date of birth (or its day and month swapped) or a listed document number."""
    by_document = document is not None and document.value == DOCUMENT_MATCH
    return dob.value in (DOB_EXACT, DOB_SWAPPED) or by_document


#: The traveller's date agrees with a listed date as far as the list gives one (the year of
#: a year, the month of a month, one year of a range): all the list can tell.
AGREES_AS_LISTED = frozenset({DOB_YEAR, DOB_YEAR_OF_RANGE, DOB_YEAR_MONTH})


def unidentified_feature(
    *,
    list_common: bool,
    kunya: bool,
    extra_names: int,
    dob: Feature,
    document: Feature | None,
) -> Feature | None:
    """`COMMON_UNIDENTIFIED` when a match made only of names many people bear identifies
    nobody and nothing else does (docs/watchlists.md, "Names that identify nobody"); None
    otherwise. Call it only for such a match (`common_only` over the shared mask).

    `list_common`: every matched name is also common on the list (its counts) or short;
    `kunya`: the traveller's name is a by-name (ABU QASIM), which few passports carry;
    `extra_names`: the traveller's names the listed name lacks. Without the exact date or a
    document, a name of common names identifies nobody (the list itself holds many people
    who bear it), unless it is a kunya; a name of names common by their form identifies
    nobody unless the date agrees as far as the list gives one and the traveller bears no
    other name (FANG JING is not JING: a syllable more is another given name)."""
    if identified(dob, document):
        return None
    if list_common and not kunya:
        why = "only common names matched"
    elif extra_names:
        why = f"only names many people bear matched, {extra_names} of the traveller's not"
    elif dob.value not in AGREES_AS_LISTED:
        why = "only names many people bear matched, the DOB not as listed"
    else:
        return None
    return Feature("common", COMMON_UNIDENTIFIED, f"{why}; no exact DOB or document")


def waived_by_exact_dob(common: Feature | None) -> bool:
    """Doubts an exact date of birth removes: `ONE_DISTINCTIVE` (few people share a
    distinctive name and a birthday) and `COMMON_NAMES_ONLY` (two common names of three
    and the birthday: `IVANOVA, Tatyana Jose` against Tatyana Grigoryevna IVANOVA), so two
    of three names and the exact date are a hit. The look-alike doubts stay: a name that
    only looks like the listed one is another name, whatever the date."""
    return common is not None and common.value in (ONE_DISTINCTIVE, COMMON_NAMES_ONLY)


def common_given_dob(common: Feature | None, dob: Feature) -> Feature | None:
    """`common` as it counts beside the date-of-birth evidence `dob` (`waived_by_exact_dob`):
    shown at 0 with the reason, so the hit page still says the name alone was thin."""
    if common is not None and dob.value == DOB_EXACT and waived_by_exact_dob(common):
        return Feature("common", 0.0, f"{common.explanation}, but the exact DOB agrees")
    return common


def common_names_feature(
    pairs: Sequence[tuple[int, int, float]],
    common_mask: int,
    *,
    left: int,
    unmatched_listed: int = 0,
) -> Feature | None:
    """How much the matched names tell this person apart from namesakes.

    `pairs` are the alignment's (query mask, listed position, similarity); a query
    position is common when its spelling is in many listed names (MOHAMMED, ALI, KHAN).
    A name match rests on a distinctive part: one that is not common, matched (nearly)
    exactly. Without one, a namesake is likelier than the listed person, so the date of
    birth has to agree before a person is asked to look:

    - only common names matched and one side has names the other lacks: `COMMON_NAMES_ONLY`;
    - only common names, one of them as a look-alike name rather than a spelling
      (HASSAN~EHSAN): `COMMON_LOOKALIKE`;
    - the uncommon names matched only as other spellings (NASARI~ASGARI), the rest common:
      `DISTINCTIVE_APPROXIMATE`;
    - one distinctive name beside common ones while listed names are left unmatched
      (ALI AHMADI against Ali AGHA-AHMADI): `ONE_DISTINCTIVE`.
    A name made only of common names that agrees spelling for spelling is left alone (it is
    the listed name: its DOB decides; without an exact one, `unidentified_feature` replaces
    this one). A match without any common name (a misspelt distinctive name) is left alone."""
    if not pairs:
        return None
    rare = [sim for m, _, sim in pairs if m & ~common_mask]
    if not rare:
        if left > 0:
            return Feature("common", COMMON_NAMES_ONLY, f"only common names matched, {left} other not")
        if min(sim for _, _, sim in pairs) < SPELLING_SIMILARITY:
            return Feature("common", COMMON_LOOKALIKE, "only common names matched, one as a look-alike name")
        return None
    if len(rare) == len(pairs):
        return None  # no common part matched: a (misspelt) distinctive name
    distinctive = sum(1 for sim in rare if sim >= DISTINCTIVE_SIMILARITY)
    if distinctive == 1 and len(rare) == 1 and unmatched_listed > 0:
        return Feature(
            "common", ONE_DISTINCTIVE, f"one distinctive name matched, {unmatched_listed} listed not"
        )
    if distinctive:
        return None
    return Feature(
        "common",
        DISTINCTIVE_APPROXIMATE,
        "only common names matched exactly, the distinctive one as a variant",
    )


def surname_feature(
    *,
    parts: int,
    matched: int,
    matched_by_surname: bool,
    strong: bool = False,
    query_roles: bool,
    n_query: int,
) -> Feature | None:
    """Soft evidence from roles, when the list marks which of its `parts` are the surname.

    The listed surname matched by the traveller's surname supports a little; matched only
    by a given name (fields swapped, or a namesake whose given name is the listed surname)
    doubts a little; each listed surname part left unmatched doubts more than a missing
    middle name; no part matched at all, while the traveller gave more than one name,
    doubts clearly (`HUSSEIN, Mohammed` is not Mohammad Hussein AL-JASIM)."""
    if not parts:
        return None
    if not matched:
        if n_query < 2:
            return None
        return Feature("surname", SURNAME_MISSING, "listed surname not matched")
    value, why = 0.0, "listed surname matched"
    if matched_by_surname:
        value, why = (SURNAME_MATCH if strong else 0.0), "listed surname matches the surname"
    elif query_roles:
        value, why = SURNAME_CROSS, "listed surname matches a given name"
    if matched < parts:
        value += SURNAME_PART_MISSING * (parts - matched)
        why += f", {parts - matched} of its {parts} parts not"
    return Feature("surname", round(value, 4), why) if value or matched_by_surname else None


def combine(features: Sequence[Feature]) -> float:
    """The score: features summed, clamped to 0..1, rounded for stable output."""
    return round(max(0.0, min(1.0, sum(f.value for f in features))), 4)


def explain(features: Sequence[Feature]) -> str:
    """One line for CSV: each feature's reason with its signed contribution."""
    return "; ".join(
        f"{f.explanation} ({f.value:+.2f})" if f.feature != "name" else f.explanation for f in features
    )
