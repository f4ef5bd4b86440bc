"""Country names and codes to ISO 3166-1 alpha-3, as lists and carriers write them."""

from __future__ import annotations

import functools

import pycountry

# Names that lists use and pycountry does not resolve (or resolves ambiguously).
_OVERRIDES: dict[str, str] = {
    "RUSSIA": "RUS",
    "IRAN": "IRN",
    "SYRIA": "SYR",
    "BURMA": "MMR",
    "KOREA, NORTH": "PRK",
    "NORTH KOREA": "PRK",
    "KOREA, SOUTH": "KOR",
    "SOUTH KOREA": "KOR",
    "PALESTINIAN": "PSE",
    "PALESTINE": "PSE",
    "WEST BANK": "PSE",
    "GAZA": "PSE",
    "KOSOVO": "XKX",
    "TAIWAN": "TWN",
    "THE GAMBIA": "GMB",
    "GAMBIA, THE": "GMB",
    "CONGO, DEMOCRATIC REPUBLIC OF THE": "COD",
    "DEMOCRATIC REPUBLIC OF THE CONGO": "COD",
    "CONGO, REPUBLIC OF THE": "COG",
    "NORTH MACEDONIA, THE REPUBLIC OF": "MKD",
    "MACEDONIA": "MKD",
    "TURKEY": "TUR",
    "VIETNAM": "VNM",
    "LAOS": "LAO",
    "BOLIVIA": "BOL",
    "VENEZUELA": "VEN",
    "TANZANIA": "TZA",
    "MOLDOVA": "MDA",
    "CZECH REPUBLIC": "CZE",
    "IVORY COAST": "CIV",
    "COTE D IVOIRE": "CIV",
    "HONG KONG": "HKG",
    "MACAU": "MAC",
    "BRUNEI": "BRN",
    "CAPE VERDE": "CPV",
    "SWAZILAND": "SWZ",
    "UNITED KINGDOM": "GBR",
    "UK": "GBR",
    "D": "DEU",  # German passports write D, not DEU
    "UNITED STATES": "USA",
    "USA": "USA",
    "BAHAMAS, THE": "BHS",
    "MICRONESIA, FEDERATED STATES OF": "FSM",
    "SAINT VINCENT AND THE GRENADINES": "VCT",
    "ST. KITTS AND NEVIS": "KNA",
    "SAINT KITTS AND NEVIS": "KNA",
    "SOVIET UNION": "SUN",  # not a current code; kept so the value is not lost
    "YUGOSLAVIA": "YUG",
}


@functools.lru_cache(maxsize=4096)
def to_alpha3(value: str | None) -> str | None:
    """Return the alpha-3 code for a country name, alpha-2 or alpha-3 code, or None.

    Why a cache: lists repeat the same few hundred country strings millions of times.
    """
    if not value:
        return None
    text = " ".join(value.replace("\u00a0", " ").split()).strip(" .;,").upper()
    for prefix in ("POSSIBLY ", "REPORTEDLY ", "PROBABLY "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if not text:
        return None
    if text in _OVERRIDES:
        return _OVERRIDES[text]
    if len(text) == 3 and text.isalpha() and text in {"XKX", "XKK"}:
        return "XKX"
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        return None
    code: str = country.alpha_3
    return code
