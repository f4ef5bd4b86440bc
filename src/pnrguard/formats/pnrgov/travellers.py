"""Group 2, the travellers (TIF, FTI), infants and their adults, and the placement of
documents and addresses on travellers once the SRC group has ended."""

from __future__ import annotations

from typing import Final

from pnrguard.domain.model import Address, Document, FrequentFlyer, Traveller, TravellerType
from pnrguard.formats.edifact import Deviation, Segment
from pnrguard.formats.pnrgov.state import _LEG, _TRAVELLER, BookingReader, Pending
from pnrguard.formats.pnrgov.values import _NONE

_TYPE_CODES: Final[dict[str, TravellerType]] = {
    "": TravellerType.ADULT,
    "A": TravellerType.ADULT,
    "C": TravellerType.CHILD,
    "CH": TravellerType.CHILD,
    "CHD": TravellerType.CHILD,
    "IN": TravellerType.INFANT,
    "INF": TravellerType.INFANT,
    "CREW": TravellerType.CREW,
    "OTHER": TravellerType.OTHER,
}


def tif(rd: BookingReader, seg: Segment) -> bool:
    els = seg.elements
    # Guarded indexing, written out: 3x faster than `_comp` calls or tuple padding (measured).
    n = len(els)
    e0 = els[0] if n else _NONE
    e1 = els[1] if n > 1 else _NONE
    m = len(e1)
    ref = e1[2] if m > 2 else ""
    if rd.state == _LEG:
        if rd.tri_expect_tif:
            rd.tri_expect_tif = False
            if ref:
                rd.tri_ref = ref
                if rd.tri_checkin is not None:
                    rd.tri_checkin.traveller_ref = ref
            return False
        if ref and rd.b.traveller(ref) is not None:
            rd.ctx.deviate("segment_out_of_order", seg)
            rd.start_tri(ref)
            return False
        rd.ctx.deviate("segment_out_of_order", seg)
    if n < 2 and len(e0) > 1 and e0[1] == "G":  # a group name, not a person
        rd.ctx.result.unknown_segments["TIF"] += 1
        return False
    if rd.pending_fare is not None:
        rd.flush_fare()
    surname, given = e0[0] if e0 else "", e1[0] if m else ""
    if ref:
        same = rd.b.traveller(ref)
        if same is not None and (same.surname, same.given_names) == (surname, given):
            # The traveller group sent again (some systems repeat it per leg or per
            # change): one person, whose later segments join the first group.
            rd.ctx.deviate("traveller_repeated", seg)
            rd.enter_traveller(same)
            return False
    add_traveller(rd, surname, given, e1[1] if m > 1 else "", ref, m > 3 and e1[3] == "1")
    return False


def add_traveller(
    rd: BookingReader, surname: str, given: str, type_code: str, ref: str, with_infant: bool
) -> None:
    """A new traveller group (by `tif`, or from the raw text by `fast.tif`): the traveller,
    an infant's adult, and the reader now in this traveller's group."""
    if rd.pending_fare is not None:
        rd.flush_fare()
    t_type = _TYPE_CODES.get(type_code, TravellerType.OTHER)
    t = Traveller(ref=ref, surname=surname, given_names=given, traveller_type=t_type)
    if t_type is TravellerType.INFANT:
        t.accompanied_by_ref = infant_adult(rd, ref)
    elif with_infant:
        rd.infant_flagged.append(t)
    rd.b.travellers.append(t)
    rd.enter_traveller(t)


def infant_adult(rd: BookingReader, infant_ref: str) -> str:
    """The reference of the adult an infant travels with (the infant's TIF says nothing
    itself): `<adult ref>I`, else the adult just before flagged "with infant", else the
    first flagged adult not yet linked."""
    b = rd.b
    if infant_ref.endswith("I") and len(infant_ref) > 1:
        adult = b.traveller(infant_ref[:-1])
        if adult is not None and adult.traveller_type is not TravellerType.INFANT:
            rd.linked.add(adult.ref)
            return adult.ref
    for t in reversed(b.travellers):
        if t.traveller_type is not TravellerType.INFANT:
            if any(t is f for f in rd.infant_flagged) and t.ref not in rd.linked:
                rd.linked.add(t.ref)
                return t.ref
            break
    for t in rd.infant_flagged:
        if t.ref not in rd.linked:
            rd.linked.add(t.ref)
            return t.ref
    return ""


def fti(rd: BookingReader, seg: Segment) -> bool:
    if rd.state != _TRAVELLER or rd.traveller is None:
        rd.ctx.result.unknown_segments["FTI"] += 1
        return False
    for el in seg.elements:
        if any(el):
            tier = el[4] if len(el) > 4 and el[4] else (el[6] if len(el) > 6 else "")
            rd.traveller.frequent_flyers.append(
                FrequentFlyer(airline=el[0], number=el[1] if len(el) > 1 else "", tier=tier)
            )
    return False


def infant_for(rd: BookingReader, item: Pending) -> None:
    """Make sure an infant DOCS has its infant: with no infant TIF, the DOCS (gender FI
    or MI) is the only record of the infant, who becomes a traveller accompanied by
    the adult the DOCS was sent with, whichever DOCS came first. Without this the adult
    took the infant's date of birth."""
    b = rd.b
    base = (b.traveller(item.ref) if item.ref else None) or item.context
    if base is None and len(b.travellers) == 1:
        base = b.travellers[0]
    if base is not None and base.traveller_type is TravellerType.INFANT:
        return
    infants = [t for t in b.travellers if t.traveller_type is TravellerType.INFANT]
    if base is not None and any(t.accompanied_by_ref == base.ref for t in infants):
        return
    if base is None and infants:
        return  # placed among the infants there are (by surname, or the only one)
    if base is None:
        adults = [t for t in b.travellers if t.traveller_type is not TravellerType.INFANT]
        if len(adults) != 1 or any(t.accompanied_by_ref for t in infants):
            return  # whose infant is unknown: left to `_place`, which records it
        base = adults[0]
    doc = item.obj
    assert isinstance(doc, Document)
    ref = base.ref + "I"
    while b.traveller(ref) is not None:
        ref += "I"
    b.travellers.append(
        Traveller(
            ref=ref,
            surname=doc.surname,
            given_names=doc.given_names,
            traveller_type=TravellerType.INFANT,
            accompanied_by_ref=base.ref,
        )
    )
    rd.ctx.result.deviations.append(Deviation("infant_from_docs", item.index, "SSR"))


def place(rd: BookingReader, item: Pending) -> None:
    b = rd.b
    target: Traveller | None = None
    if item.kind == "ADD":
        target = item.context
    else:
        by_ref = b.traveller(item.ref) if item.ref else None
        base = by_ref or item.context
        if item.infant:
            if base is not None and base.traveller_type is TravellerType.INFANT:
                target = base
            else:
                infants = [t for t in b.travellers if t.traveller_type is TravellerType.INFANT]
                if base is not None:
                    target = next((t for t in infants if t.accompanied_by_ref == base.ref), None)
                if target is None and item.surname:
                    named = [t for t in infants if t.surname == item.surname]
                    target = named[0] if len(named) == 1 else None
                if target is None and len(infants) == 1:
                    target = infants[0]
                if target is None:  # an infant's document never goes to an adult
                    rd.ctx.result.unknown_segments["SSR"] += 1
                    rd.ctx.result.deviations.append(Deviation("ssr_traveller_unknown", item.index, "SSR"))
                    return
        if target is None:
            target = base
        if target is None and item.surname:
            named = [t for t in b.travellers if t.surname == item.surname]
            target = named[0] if len(named) == 1 else None
        if target is None and len(b.travellers) == 1:
            target = b.travellers[0]
    if target is None:
        rd.ctx.result.unknown_segments["SSR"] += 1
        rd.ctx.result.deviations.append(Deviation("ssr_traveller_unknown", item.index, "SSR"))
        return
    if item.kind == "DOCO" and item.birth_place and not target.birth_place:
        target.birth_place = item.birth_place
    obj = item.obj
    if isinstance(obj, Document):
        if obj not in target.documents:  # the same DOCS at traveller and itinerary level
            target.documents.append(obj)
    elif isinstance(obj, Address):
        target.addresses.append(obj)
