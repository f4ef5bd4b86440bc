"""Hand-written carrier messages for the fidelity tests: small, one quirk each."""

from __future__ import annotations

UNB = "UNB+{syntax}:4+UA+PIU+190825:1120+22'"
HEAD = [
    "MSG+:22'",
    "ORG+UA:DJE+55107'",
    "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'",
    "EQN+1'",
    "SRC'",
    "RCI+UA:0995F0::270719:1120'",
]
ADULT = "TIF+RAVAL+CHRISTOPHER:A:1'"
DOCS_ADULT = "SSR+DOCS:HK::UA:::::/P/GBR/117557052/GBR/09SEP64/M/16MAY30/RAVAL/CHRISTOPHER'"
DOCS_INFANT = "SSR+DOCS:HK::UA:::::/P/GBR/999/GBR/01JAN24/FI/01JAN30/RAVAL/MAYA'"


def message(*segments: str, version: str = "13:1", reference: str = "1", head: bool = True) -> str:
    """One UNH..UNT PNRGOV message; `head` puts the flight, one SRC and its RCI first."""
    body = [f"UNH+{reference}+PNRGOV:{version}:IA+1'", *(HEAD if head else []), *segments]
    return "".join(body) + f"UNT+{len(body) + 1}+{reference}'"


def pnr(*segments: str, syntax: str = "UNOC", head: bool = True, unz: str = "UNZ+1+22'") -> str:
    """A whole PNRGOV interchange around `segments`."""
    return UNB.format(syntax=syntax) + message(*segments, head=head) + unz


PAX_FLIGHT = [
    "BGM+745'",
    "NAD+MS+++AIRLINE'",
    "TDT+20+LH0400+++LH'",
    "LOC+125+FRA'",
    "DTM+189:2403011025:201'",
    "LOC+87+JFK'",
    "DTM+232:2403011320:201'",
]


def pax_message(*segments: str, reference: str = "1", flight: bool = True) -> str:
    body = [f"UNH+{reference}+PAXLST:D:02B:UN:IATA'", *(PAX_FLIGHT if flight else []), *segments]
    return "".join(body) + f"UNT+{len(body) + 1}+{reference}'"


def paxlst(*segments: str, flight: bool = True, syntax: str = "UNOC") -> str:
    return f"UNB+{syntax}:4+XX+PIU+240301:0600+1'" + pax_message(*segments, flight=flight) + "UNZ+1+1'"
