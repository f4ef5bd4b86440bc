# ruff: noqa: SIM905 -- name lists read better as one string
"""The screening the compiled and the pure-Python matchers must do identically: a seeded
list of people from several naming cultures, and travellers made from it the ways
carriers and lists differ (typos, transliteration, swapped fields, dropped or glued parts,
initials, other dates of birth, documents) plus namesakes made of the same names.

`python tests/compiled_screening_corpus.py` prints every candidate of every traveller
(entity, score, features, explanation) as JSON, at a low threshold so that the bounds,
the alignment and the explanations of weak candidates are compared too (run under the
pure-Python build by tests/unit/screening/test_compiled_matcher.py, which compares them with its
own)."""

from __future__ import annotations

import datetime as dt
import json
import random
import sys

from pnrguard.screening.models import Gender, IdentityDocument, PartialDate, PersonQuery, WatchlistEntry
from pnrguard.screening.screener import Screener

GIVEN = (
    "MOHAMMED AHMED ALI OMAR YUSUF IBRAHIM KHALID HASSAN HUSSEIN ABDULLAH MAHMOUD FATIMA "
    "ALEKSANDR SERGEI DMITRI YURI OLGA NATALIA WEI FANG JUN MING XIAOMING JOSE JUAN CARLOS "
    "MARIA JOHN JAMES MARY REZA MEHMET AYSE KWANG IL MINH AMINA OLUWASEUN ABD"
).split()
SURNAMES = (
    "AL-ZAWAHIRI AL-HASHIMI KHALIDI NASSAR QADULI ZHUKOV SHEVCHENKO DZHABAROV IVANOV "
    "KUZNETSOV WANG LI ZHANG CHEN GARCIA LOPEZ RODRIGUEZ MARTINEZ SMITH JOHNSON AHMADI "
    "HOSSEINI YILMAZ KAYA KIM PARK NGUYEN TRAN OKONKWO ADEYEMI BIN LADEN ABU BAKR VAN DER BERG"
).split()
SWAPS = (
    ("KH", "H"),
    ("DZH", "J"),
    ("ZH", "J"),
    ("SH", "SCH"),
    ("Y", "I"),
    ("OU", "U"),
    ("EE", "I"),
    ("Q", "K"),
)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.random()
    if op < 0.3:
        return word[:i] + word[i + 1 :]
    if op < 0.6:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("AEIOURSTN") + word[i + 1 :]


def entries(rng: random.Random, n: int) -> list[WatchlistEntry]:
    out: list[WatchlistEntry] = []
    for k in range(n):
        given = " ".join(rng.sample(GIVEN, rng.choice((1, 1, 2, 3))))
        surname = " ".join(rng.sample(SURNAMES, rng.choice((1, 1, 1, 2))))
        style = rng.random()
        name = f"{surname}, {given.title()}" if style < 0.3 else f"{given.title()} {surname}"
        aliases = tuple(
            f"{_typo(rng, given)} {surname.replace(*rng.choice(SWAPS))}"
            for _ in range(rng.choice((0, 0, 1, 2)))
        )
        dobs: tuple[PartialDate, ...] = ()
        r = rng.random()
        if r < 0.5:
            dobs = (PartialDate(rng.randint(1950, 1995), rng.randint(1, 12), rng.randint(1, 28)),)
        elif r < 0.7:
            first = rng.randint(1950, 1990)
            dobs = tuple(PartialDate(y) for y in range(first, first + rng.choice((1, 3))))
        elif r < 0.8:
            dobs = (PartialDate(rng.randint(1950, 1995), rng.randint(1, 12)),)
        docs = (
            (IdentityDocument(f"P{rng.randint(10**6, 10**7)}", "passport", "XX"),)
            if rng.random() < 0.2
            else ()
        )
        nationalities = (rng.choice(("IRQ", "RUS", "CHN", "ESP", "GBR")),) if rng.random() < 0.4 else ()
        if k % 11 == 0:  # a hereditary honorific (no draw: the rest of the corpus stays as it was)
            name = f"Seyyed {name}" if "," not in name else name.replace(", ", ", Sayyid ", 1)
        gender = (Gender.MALE, Gender.FEMALE, None)[k % 3]
        out.append(WatchlistEntry(f"E{k}", "t", name, aliases, dobs, nationalities, docs, gender))
    return out


def queries(rng: random.Random, listed: list[WatchlistEntry], n: int) -> list[PersonQuery]:
    out: list[PersonQuery] = []
    for k in range(n):
        e = rng.choice(listed)
        words = e.name.replace(",", "").upper().split()
        surname, given = words[-1], " ".join(words[:-1])
        kind = k % 9
        if kind == 1:
            surname = _typo(rng, surname)
        elif kind == 2:
            surname = surname.replace(*rng.choice(SWAPS))
        elif kind == 3:
            surname, given = given, surname
        elif kind == 4:
            given = given.split()[0] if given else given
        elif kind == 5:
            given = given[:1]
        elif kind == 6:
            given = given.replace(" ", "")
        elif kind == 7:
            given = ""
        elif kind == 8:  # a namesake: names of the pools, not of this entry
            surname, given = rng.choice(SURNAMES), " ".join(rng.sample(GIVEN, 2))
        dob = None
        if e.dobs and rng.random() < 0.8:
            p = e.dobs[0]
            dob = dt.date(p.year, p.month or 1, p.day or 1)
        elif rng.random() < 0.5:
            dob = dt.date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
        document = e.documents[0].number if e.documents and rng.random() < 0.5 else None
        nationality = rng.choice(("IQ", "RU", "CN", "ES", None))
        if k % 13 == 0 and given:
            given = f"SEYED {given}"
        gender = ("M", "F", "U", None, "FI")[k % 5]
        out.append(
            PersonQuery(
                f"Q{k}", surname, given, dob=dob, document=document, nationality=nationality, gender=gender
            )
        )
    return out


def results() -> str:
    rng = random.Random(14)
    listed = entries(rng, 1500)
    screener = Screener.build(listed)
    out = []
    for q in queries(rng, listed, 2500):
        found = screener.screen(q, threshold=0.5)
        out.append(
            [
                [
                    c.entity_id,
                    c.score,
                    [[f.feature, f.value, f.explanation] for f in c.features],
                    c.explanation,
                ]
                for c in found
            ]
        )
    return json.dumps(out, indent=0, sort_keys=True)


if __name__ == "__main__":
    sys.stdout.write(results())
