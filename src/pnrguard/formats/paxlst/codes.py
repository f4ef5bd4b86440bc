"""PAXLST code lists the reader and the writer share: party functions, document and
channel qualifiers, what is counted but not kept."""

from __future__ import annotations

MESSAGE_TYPE = "PAXLST"

# Party function codes (3035) on NAD: who a person is.
_PASSENGER_PARTIES = frozenset({"FL", "DDU"})  # passenger, in-transit passenger
_CREW_PARTIES = frozenset({"FM", "DDT"})  # crew member, in-transit crew member
# BGM document codes that announce a crew list (250 crew list, 336 master crew list).
_CREW_LISTS = frozenset({"250", "336"})
# Segments PAXLST defines whose content has no place in the Annex I model: counted, not kept,
# and no deviation, because sending them is normal.
_NOT_KEPT = frozenset({"GEI", "FTX", "MEA", "EMP", "QTY"})
# COM channel qualifiers (3155) <-> Contact.kind.
_COM_KINDS = {"TE": "phone", "FX": "fax", "EM": "email"}
_COM_CODES = {kind: code for code, kind in _COM_KINDS.items()}
