"""Labelled queries for bench/screen.py: one category per way a listed name is really
written differently, built from the OFAC list, and two pools of innocent travellers.

Each category takes list entries at random (seeded) for which the change applies, writes
the traveller the way a carrier would send them (surname field, given-names field, the
date of birth consistent with what the list says) and labels the query with the entity.
The change is applied to the listed primary name (for `alias`: to nothing, the query is a
real a.k.a. alias of the list, which the matcher also indexes).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pnrguard.screening.models import PersonQuery, WatchlistEntry
from pnrguard.screening.names import PARTICLES, TITLES, normalise, surname_tokens
from synthetic import CULTURES

COMMON_NAMES = Path(__file__).with_name("common_names.csv")


@dataclass(frozen=True)
class Labelled:
    query: PersonQuery
    text: str  # the full-name string the baselines see (given names then surname)
    answer: str | None  # entity id, None for an innocent
    group: str  # category, or the innocent's culture
    gender: str | None = None  # M/F when the pool drew it (common names), for `with_documents`


def _dob(entry: WatchlistEntry, rng: random.Random) -> dt.date | None:
    """A real date of birth consistent with the first listed one (None if none listed)."""
    if not entry.dobs:
        return None
    d = entry.dobs[0]
    return dt.date(d.year, d.month or rng.randint(1, 12), d.day or rng.randint(1, 28))


def _split(raw: str) -> tuple[list[str], list[str]] | None:
    """(given tokens, surname tokens) of a listed name, from the list's own marking, else
    the last token as surname. None when fewer than two tokens."""
    tokens = normalise(raw).split()
    if len(tokens) < 2:
        return None
    marked = surname_tokens(raw)
    if marked:
        is_surname = [t in marked for t in tokens]
        for i in range(len(tokens) - 2, 0, -1):  # a particle belongs to the surname after it
            if tokens[i] in PARTICLES and is_surname[i + 1]:
                is_surname[i] = True
        given = [t for t, s in zip(tokens, is_surname, strict=True) if not s]
        surname = [t for t, s in zip(tokens, is_surname, strict=True) if s]
        if given and surname:
            return given, surname
    return tokens[:-1], tokens[-1:]


def _query(qid: str, given: Sequence[str], surname: Sequence[str], dob: dt.date | None) -> PersonQuery:
    return PersonQuery(qid, surname=" ".join(surname), given_names=" ".join(given), dob=dob)


# ---------------------------------------------------------------- changes per category
# Spelling families of real romanisation (Arabic, Persian, Russian, French and English
# habits), applied once to one name part. Some are folded by the matcher, some are not
# (vowel choices, EI/AY): the category measures both.
_TRANSLIT: tuple[tuple[str, str], ...] = (
    ("J", "DZH"), ("J", "DJ"), ("DZH", "J"), ("DJ", "J"), ("KH", "H"), ("H", "KH"), ("ZH", "J"),
    ("SH", "SCH"), ("SCH", "SH"), ("YU", "IU"), ("IU", "YU"), ("YA", "IA"), ("U", "OU"), ("OU", "U"),
    ("I", "EE"), ("EE", "I"), ("OO", "U"), ("U", "OO"), ("Q", "K"), ("K", "Q"), ("W", "V"), ("V", "W"),
    ("F", "PH"), ("PH", "F"), ("T", "TH"), ("TH", "T"), ("SS", "S"), ("MM", "M"), ("LL", "L"),
    ("S", "SS"), ("Y", "I"), ("I", "Y"), ("OV", "OFF"), ("EV", "EFF"), ("EI", "AY"), ("AY", "EI"),
    ("AI", "EI"), ("E", "I"), ("O", "U"), ("U", "O"), ("IA", "IYA"), ("AA", "A"), ("GH", "G"),
    ("DH", "D"), ("X", "KS"), ("KS", "X"), ("CK", "K"),
)  # fmt: skip


def _translit(tokens: list[str], rng: random.Random) -> list[str] | None:
    options = [
        (i, a, b)
        for i, t in enumerate(tokens)
        if len(t) >= 3 and t not in PARTICLES
        for a, b in _TRANSLIT
        if a in t[1:] or (a in t and a[0] not in "AEIOU")
    ]
    if not options:
        return None
    i, a, b = rng.choice(options)
    t = tokens[i]
    starts = [m.start() for m in re.finditer(re.escape(a), t)]
    p = rng.choice(starts)
    out = list(tokens)
    out[i] = t[:p] + b + t[p + len(a) :]
    return out if out[i] != t else None


def _edit(token: str, rng: random.Random, op: str) -> str:
    p = rng.randrange(1, len(token) - 1)
    if op == "sub":
        letter = rng.choice([c for c in "AEIOUNRSTLKMHD" if c != token[p]])
        return token[:p] + letter + token[p + 1 :]
    if op == "del":
        return token[:p] + token[p + 1 :]
    if op == "ins":
        return token[:p] + rng.choice("AEIOUNRSTLKMH") + token[p:]
    return token[: p - 1] + token[p] + token[p - 1] + token[p + 1 :]  # transposition


def _typos(tokens: list[str], rng: random.Random, n: int, min_len: int) -> list[str] | None:
    long = [i for i, t in enumerate(tokens) if len(t) >= min_len and t not in PARTICLES]
    if not long:
        return None
    i = rng.choice(long)
    t = tokens[i]
    if n == 2:  # the case first: a transposition plus a dropped letter
        ops = rng.choice((("swap", "del"), ("sub", "sub"), ("swap", "sub"), ("del", "sub")))
    else:
        ops = (rng.choice(("sub", "del", "ins", "swap")),)
    for op in ops:
        t = _edit(t, rng, op)
    out = list(tokens)
    out[i] = t
    return out


_TITLES = ("DR", "MR", "SHEIKH", "HAJI", "ENG", "PROF", "MAULANA")


def _glued(given: list[str], surname: list[str], rng: random.Random) -> tuple[list[str], list[str]] | None:
    """Glue what lists and carriers glue: ABD AL X / ABDUL X / ABDULX, two surnames, a
    particle and its name; or add a title. Returns new (given, surname)."""
    tokens = given + surname
    joined = " ".join(tokens)
    m = re.search(r"\bABD(?:UL|EL|AL)? (?:(?:AL|EL|UL) )?([A-Z]{3,})", joined)
    if m and rng.random() < 0.8:
        forms = (f"ABDUL{m.group(1)}", f"ABD AL {m.group(1)}", f"ABDUL {m.group(1)}", f"ABDEL{m.group(1)}")
        choice = rng.choice([f for f in forms if f != m.group(0)])
        new = (joined[: m.start()] + choice + joined[m.end() :]).split()
        return new[: len(given)], new[len(given) :] or surname
    core_surname = [t for t in surname if t not in PARTICLES]
    if len(core_surname) >= 2 and rng.random() < 0.7:
        return given, ["".join(surname)]
    if len(surname) >= 2 and surname[0] in PARTICLES:
        return given, ["".join(surname[:2]), *surname[2:]]
    title = rng.choice(_TITLES)
    if title in TITLES or title in {"DR", "MR", "PROF", "ENG"}:
        return [title, *given], surname
    return None


Maker = Callable[[WatchlistEntry, random.Random, str], Labelled | None]


def _from_primary(
    change: Callable[[list[str], list[str], random.Random], tuple[list[str], list[str]] | None], group: str
) -> Maker:
    def make(entry: WatchlistEntry, rng: random.Random, qid: str) -> Labelled | None:
        split = _split(entry.name)
        if split is None:
            return None
        changed = change(*split, rng)
        if changed is None:
            return None
        given, surname = changed
        q = _query(qid, given, surname, _dob(entry, rng))
        return Labelled(q, " ".join([*given, *surname]), entry.entity_id, group)

    return make


def _whole(fn: Callable[[list[str], random.Random], list[str] | None]):  # type: ignore[no-untyped-def]
    def change(
        given: list[str], surname: list[str], rng: random.Random
    ) -> tuple[list[str], list[str]] | None:
        out = fn(given + surname, rng)
        if out is None:
            return None
        return out[: len(given)], out[len(given) :]

    return change


def _alias(entry: WatchlistEntry, rng: random.Random, qid: str) -> Labelled | None:
    aliases = [a for a in entry.aliases if len(normalise(a).split()) >= 2]
    if not aliases:
        return None
    split = _split(rng.choice(aliases))
    if split is None:
        return None
    given, surname = split
    return Labelled(
        _query(qid, given, surname, _dob(entry, rng)), " ".join(given + surname), entry.entity_id, "alias"
    )


def _swap(given: list[str], surname: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    return surname, given


def _drop_middle(
    given: list[str], surname: list[str], rng: random.Random
) -> tuple[list[str], list[str]] | None:
    core = [i for i, t in enumerate(given) if t not in PARTICLES]
    if len(core) < 2:
        return None
    drop = rng.choice(core[1:])
    return [t for i, t in enumerate(given) if i != drop], surname


def _initials(given: list[str], surname: list[str], rng: random.Random) -> tuple[list[str], list[str]] | None:
    core = [t for t in given if t not in PARTICLES]
    if not core:
        return None
    return [core[0][0]], surname


def _surname_only(entry: WatchlistEntry, rng: random.Random, qid: str) -> Labelled | None:
    if not entry.dobs or entry.dobs[0].day is None:
        return None
    split = _split(entry.name)
    if split is None or not surname_tokens(entry.name):
        return None
    _, surname = split
    q = _query(qid, (), surname, _dob(entry, rng))
    return Labelled(q, " ".join(surname), entry.entity_id, "surname only + DOB")


# A middle name the reservation gives instead of the listed one (the category below); any
# name will do as long as it is not one of the listed person's.
_OTHER_GIVEN = ("YOUSSEF", "HASSAN", "IVAN", "PETER", "JOSE", "KENJI", "SAMUEL", "TARIQ", "LUIS", "ANDREI")


def _two_of_three(entry: WatchlistEntry, rng: random.Random, qid: str) -> Labelled | None:
    """Two of three names or more and the exact listed date: the first given name and the
    surname kept, another given name replaced by a name the listed person does not bear."""
    if not entry.dobs or entry.dobs[0].day is None:
        return None
    split = _split(entry.name)
    if split is None:
        return None
    given, surname = split
    core = [i for i, t in enumerate(given) if t not in PARTICLES]
    if len(core) < 2:
        return None
    other = rng.choice([n for n in _OTHER_GIVEN if n not in given and n not in surname])
    replaced = rng.choice(core[1:])
    new_given = [other if i == replaced else t for i, t in enumerate(given)]
    q = _query(qid, new_given, surname, _dob(entry, rng))
    return Labelled(q, " ".join([*new_given, *surname]), entry.entity_id, "two of three names + DOB")


CATEGORIES: dict[str, Maker] = {
    "alias": _alias,
    "transliteration": _from_primary(_whole(_translit), "transliteration"),
    "one typo": _from_primary(_whole(lambda t, r: _typos(t, r, 1, 5)), "one typo"),
    "two typos in one part": _from_primary(_whole(lambda t, r: _typos(t, r, 2, 8)), "two typos in one part"),
    "order swap": _from_primary(_swap, "order swap"),
    "dropped middle name": _from_primary(_drop_middle, "dropped middle name"),
    "glued parts and titles": _from_primary(_glued, "glued parts and titles"),
    "initials": _from_primary(_initials, "initials"),
    "surname only + DOB": _surname_only,
    "two of three names + DOB": _two_of_three,  # last: the categories above keep their seeds
}


def labelled(entries: Sequence[WatchlistEntry], per_category: int, seed: int) -> list[Labelled]:
    """`per_category` queries of every category (fewer if the list has fewer candidates)."""
    out: list[Labelled] = []
    for c, (name, make) in enumerate(CATEGORIES.items()):
        rng = random.Random(seed * 100 + c)
        order = list(range(len(entries)))
        rng.shuffle(order)
        made = 0
        for i in order:
            if made >= per_category:
                break
            item = make(entries[i], rng, f"{name[:3]}{made}")
            if item is not None and item.query.surname:
                out.append(Labelled(item.query, item.text, item.answer, name))
                made += 1
    return out


# ---------------------------------------------------------------- innocents
def _random_dob(rng: random.Random) -> dt.date:
    start = dt.date(1945, 1, 1).toordinal()
    return dt.date.fromordinal(start + rng.randrange(60 * 365))


def mixed_innocents(n: int, seed: int) -> list[Labelled]:
    """Travellers of eleven naming cultures with synthetic surnames (bench/synthetic.py's
    pools), random dates of birth."""
    rng = random.Random(seed)
    cultures = list(CULTURES)
    out: list[Labelled] = []
    for i in range(n):
        culture = cultures[i % len(cultures)]
        given_pool, starts, middles, ends = CULTURES[culture]
        given = [rng.choice(given_pool)]
        if rng.random() < 0.35:
            given.append(rng.choice(given_pool))
        surname = rng.choice(starts)
        if middles and rng.random() < 0.5:
            surname += rng.choice(middles)
        if ends:
            surname += rng.choice(ends)
        q = _query(f"M{i}", given, [surname], _random_dob(rng))
        out.append(Labelled(q, " ".join([*given, surname]), None, culture))
    return out


def _common_pools() -> dict[str, dict[str, list[str]]]:
    pools: dict[str, dict[str, list[str]]] = {}
    with COMMON_NAMES.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for row in rows:
            pools.setdefault(row["culture"], {})[row["kind"]] = row["names"].split()
    return pools


def _weighted(rng: random.Random, names: list[str]) -> str:
    """Common names are common: the first of a list is drawn most (Zipf-like)."""
    return rng.choices(names, [1.0 / (k + 1) ** 0.8 for k in range(len(names))])[0]


def common_innocents(per_culture: int, seed: int) -> list[Labelled]:
    """Travellers made of the commonest names of ten cultures, in each culture's usual
    shape (father's name, patronymic, Vietnamese middle name, two Hispanic surnames)."""
    rng = random.Random(seed)
    out: list[Labelled] = []
    for culture, pool in _common_pools().items():
        for i in range(per_culture):
            female = rng.random() < 0.4
            given = [_weighted(rng, pool["female" if female else "male"])]
            middle = pool.get("middle")
            if culture == "hispanic":
                if rng.random() < 0.3:
                    given.append(_weighted(rng, pool["female" if female else "male"]))
                surname = [_weighted(rng, pool["surname"]), _weighted(rng, pool["surname"])]
            else:
                if middle and rng.random() < (
                    0.9 if culture in {"russian_central_asian", "vietnamese"} else 0.5
                ):
                    given.append(_weighted(rng, middle))
                surname = [_weighted(rng, pool["surname"])]
            q = _query(f"C{culture[:3]}{i}", given, surname, _random_dob(rng))
            out.append(Labelled(q, " ".join(given + surname), None, culture, "F" if female else "M"))
    return out


# ---------------------------------------------------------------- document nationality
#: The countries whose passports travellers of each naming culture of the two pools mostly
#: carry (a rough, uniform draw: which country matters, not how often).
CULTURE_COUNTRIES: dict[str, tuple[str, ...]] = {
    "arabic": ("EGY", "SAU", "IRQ", "SYR", "JOR", "MAR", "DZA", "YEM", "ARE", "LBN"),
    "south_asian": ("IND", "PAK", "BGD"),
    "indian": ("IND",),
    "iranian": ("IRN",),
    "turkish": ("TUR",),
    "turkish_persian": ("TUR", "IRN"),
    "russian_central_asian": ("RUS", "UZB", "KAZ", "TJK", "KGZ"),
    "russian": ("RUS",),
    "chinese": ("CHN",),
    "korean": ("KOR",),
    "vietnamese": ("VNM",),
    "vietnamese_korean": ("VNM", "KOR"),
    "hispanic": ("MEX", "ESP", "COL", "ARG", "PER"),
    "west_african": ("NGA", "GHA", "SEN", "CIV", "MLI"),
    "english": ("GBR", "USA"),
    "french": ("FRA",),
    "german": ("DEU",),
}


def _given_name_genders() -> dict[str, str]:
    """Given name -> M or F, for the names `common_names.csv` lists under one gender only
    (in any culture); names it lists under both, or not at all, are left out."""
    seen: dict[str, set[str]] = {}
    for pool in _common_pools().values():
        for kind, letter in (("male", "M"), ("female", "F")):
            for name in pool.get(kind, []):
                seen.setdefault(name, set()).add(letter)
    return {name: letters.pop() for name, letters in seen.items() if len(letters) == 1}


def with_documents(
    queries: Sequence[Labelled], entries: Sequence[WatchlistEntry], seed: int
) -> list[Labelled]:
    """The same travellers carrying a document nationality and gender, as API data gives
    them: a listed person the first nationality the list gives (else the country of a listed
    passport, else none) and the listed gender (none if not listed); an innocent a country of
    their naming culture and a gender: the one the common-names pool drew the given name
    for; in the mixed pool, the gender `common_names.csv` gives the first given name if it
    lists it under one gender only, else male or female at even odds (seeded, drawn apart
    from the nationality so that the nationalities are those of the runs without gender)."""
    rng = random.Random(seed)
    coin = random.Random(seed + 1_000_003)
    genders = _given_name_genders()
    by_id = {e.entity_id: e for e in entries}
    out: list[Labelled] = []
    for lq in queries:
        if lq.answer is not None:
            e = by_id[lq.answer]
            countries = list(e.nationalities) or [d.country for d in e.documents if d.country]
            nationality = countries[0] if countries else None
            gender = {"male": "M", "female": "F"}.get(e.gender.value) if e.gender else None
        else:
            nationality = rng.choice(CULTURE_COUNTRIES[lq.group])
            first = lq.query.given_names.split()[:1]
            gender = lq.gender or (genders.get(first[0]) if first else None) or coin.choice(("M", "F"))
        query = PersonQuery(
            lq.query.query_id,
            lq.query.surname,
            lq.query.given_names,
            lq.query.full_name,
            lq.query.dob,
            nationality,
            lq.query.document,
            gender,
        )
        out.append(Labelled(query, lq.text, lq.answer, lq.group, gender))
    return out
