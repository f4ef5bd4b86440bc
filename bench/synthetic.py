# ruff: noqa: SIM905 -- name lists read and diff better as one string per line
"""Deterministic synthetic people from many naming cultures, for benchmarks.

Given names come from short real-looking lists (given names are concentrated in real
populations); surnames are built from per-culture syllables, so a million entries have a
realistic long tail of surnames. Everything derives from one seed.
"""

from __future__ import annotations

import datetime as dt
import random

from pnrguard.screening.models import PartialDate, WatchlistEntry

CULTURES: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    # culture: (given names, surname starts, surname middles, surname ends)
    "arabic": (
        "MOHAMMED AHMED ALI OMAR YUSUF IBRAHIM KHALID HASSAN HUSSEIN ABDULLAH MAHMOUD SAID "
        "TARIQ WALID FAISAL NASSER SAMIR KARIM FATIMA AISHA MARYAM KHADIJA ZAINAB LAYLA NOUR "
        "SALMA HALA RANIA AMINA HAMZA BILAL ZIAD JAMAL RASHID SULEIMAN ISSA MUSTAFA".split(),
        "AL-HAS AL-QAH AL-TAM AL-RAH BA HAD SHA ZAH MAN KHA NAS QAS JAB SAL HAM AZ".split(),
        "HA SHI MI RA WA BA DA ZA LA NA QA".split(),
        "IMI ANI ARI OUD AWI ANI SHI ABI ADI".split(),
    ),
    "russian": (
        "ALEKSANDR SERGEI DMITRI ANDREI ALEXEI IVAN MIKHAIL NIKOLAI VLADIMIR YURI PAVEL OLEG "
        "VIKTOR IGOR EVGENY ANNA OLGA ELENA TATIANA NATALIA IRINA SVETLANA MARINA EKATERINA "
        "YULIA ANASTASIA BORIS GRIGORY KONSTANTIN ROMAN".split(),
        "IVAN PETR SMIR KUZ POP VOLK SOKOL LEB KOZ NOVIK MOROZ VAS ZAITS BELOV ORLOV TERLIK "
        "KRAS GRACH MED".split(),
        "",
        "OV EV IN SKY ENKO YUK OVICH".split(),
    ),
    "chinese": (
        "WEI FANG XIU JUN MING HUA LI JING YAN LEI QIANG YING HAO TAO XIN YUN PENG LIN CHAO "
        "XIAOMING JIANHUA GUOQIANG LIHUA".split(),
        "WANG LI ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU SUN MA ZHU HU GUO HE GAO LIN LUO".split(),
        "",
        "",
    ),
    "hispanic": (
        "JOSE JUAN CARLOS LUIS MIGUEL JORGE PEDRO MANUEL FRANCISCO ANTONIO MARIA CARMEN ANA "
        "LAURA SOFIA ISABEL LUCIA PAULA DIEGO ALEJANDRO JAVIER RAFAEL FERNANDO".split(),
        "GONZ RODRIG FERN LOP MART SANCH PER GOM DIAZ ALVAR MOR ROM NAV TORR DOM VAZQ RAM".split(),
        "",
        "EZ AL ES O A ERO ANO".split(),
    ),
    "english": (
        "JOHN JAMES ROBERT MICHAEL WILLIAM DAVID RICHARD THOMAS CHARLES MARY PATRICIA JENNIFER "
        "LINDA ELIZABETH SARAH JESSICA EMMA OLIVIA GEORGE HARRY JACK".split(),
        "SMITH JOHN WILL BROWN JON MILL DAV WIL ANDER TAY THOM MOOR JACK WHIT HARR CLARK LEW "
        "ROBIN WALK".split(),
        "",
        " SON S ER INGTON FORD WOOD TON".split(" "),
    ),
    "german": (
        "HANS KLAUS JURGEN STEFAN WOLFGANG ANDREAS THOMAS MICHAEL PETER UTE SABINE MONIKA PETRA "
        "KATRIN ANJA LUKAS FELIX MAXIMILIAN".split(),
        "MULL SCHMI SCHNEI FISCH WEB MEY WAG BECK SCHUL HOFF KOCH RICHT KLEIN WOLF NEU ZIMMER".split(),
        "",
        "ER T DER MANN BERG HARDT".split(),
    ),
    "indian": (
        "RAHUL AMIT SANJAY VIJAY RAJESH SURESH ANIL SUNIL PRIYA ANJALI SUNITA KAVITA POOJA "
        "DEEPAK ARJUN RAVI MANOJ ASHOK".split(),
        "SHAR VER GUP SING KUM PAT REDD NAIR IYER MEH JOSH CHOP KAP MALH BAN".split(),
        "",
        "MA MA TA H AR EL DY A RA".split(),
    ),
    "turkish_persian": (
        "MEHMET MUSTAFA AHMET HUSEYIN EMRE MURAT FATMA AYSE ZEYNEP ELIF REZA HOSSEIN MEHDI "
        "ALIREZA MOHAMMAD FARZANEH NEDA ARASH DARIUS".split(),
        "YIL KAY DEM SAH CEL YIL OZ ARS KOC TEHR HOSS MOHAMM REZ KAZ JAF AHMAD".split(),
        "",
        "MAZ A IR IN IK LAN DOGAN ANI I EMI ZADEH".split(),
    ),
    "west_african": (
        "CHINEDU EMEKA OLUWASEUN ADEBAYO IBRAHIM MUSA AMINU FATIMA NGOZI CHIOMA FOLAKE KWAME "
        "KOFI AMA ABENA YAW SEKOU MAMADOU AMINATA".split(),
        "ADE OKON OKA OBI NWA EZE BAL ABU DIAL TRAO KEI MENS ASAN OWU".split(),
        "",
        "YEMI KWU FOR GWU LO RE TA SAH BOA SU".split(),
    ),
    "vietnamese_korean": (
        "MINH ANH TUAN HUNG LINH HOA THANH DUNG JIHOON MINJUN SEOYEON JIWOO HYUN SUNG".split(),
        "NGUYEN TRAN LE PHAM HOANG VU KIM LEE PARK CHOI JUNG KANG".split(),
        "",
        "",
    ),
    "french": (
        "JEAN PIERRE MICHEL PHILIPPE ALAIN NICOLAS MARIE NATHALIE ISABELLE SYLVIE CATHERINE "
        "LOUIS CAMILLE".split(),
        "MART BERN DUB THOM ROB RICH PET DUR LER MOR LAUR SIM MICH GARN DE LA FONT".split(),
        "",
        "IN ARD OIS AS ET AND EAU IER AINE".split(),
    ),
}


def _weights(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (i + 1) ** s for i in range(n)]


class PeopleFactory:
    """Makes people deterministically from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cultures = list(CULTURES)
        self.culture_weights = _weights(len(self.cultures), 0.3)
        self._given_w = {c: _weights(len(CULTURES[c][0])) for c in CULTURES}

    def name(self) -> tuple[str, str, str]:
        """(given, middle or '', surname)."""
        rng = self.rng
        culture = rng.choices(self.cultures, self.culture_weights)[0]
        given_pool, starts, middles, ends = CULTURES[culture]
        given = rng.choices(given_pool, self._given_w[culture])[0]
        middle = ""
        if rng.random() < 0.35:
            middle = rng.choice(given_pool)
            if middle == given:
                middle = ""
        surname = rng.choice(starts)
        if middles and rng.random() < 0.5:
            surname += rng.choice(middles)
        if ends:
            surname += rng.choice(ends)
        return given, middle, surname

    def dob(self) -> dt.date:
        start = dt.date(1940, 1, 1).toordinal()
        return dt.date.fromordinal(start + self.rng.randrange(65 * 365))

    def entry(self, n: int) -> WatchlistEntry:
        rng = self.rng
        given, middle, surname = self.name()
        full = " ".join(p for p in (given, middle, surname) if p)
        aliases: tuple[str, ...] = ()
        if rng.random() < 0.3:
            g2, _, _ = self.name()
            aliases = (f"{surname} {g2}",) if rng.random() < 0.5 else (f"{surname} {given}",)
        dobs: tuple[PartialDate, ...] = ()
        r = rng.random()
        birth = self.dob()
        if r < 0.7:
            dobs = (PartialDate.from_date(birth),)
        elif r < 0.9:
            dobs = (PartialDate(birth.year),)
        return WatchlistEntry(
            entity_id=f"S{n:07d}", list_name="synthetic", name=full, aliases=aliases, dobs=dobs
        )


def synthetic_list(size: int, seed: int = 20240503) -> list[WatchlistEntry]:
    factory = PeopleFactory(seed)
    return [factory.entry(i) for i in range(size)]
