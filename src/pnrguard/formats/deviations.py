"""Every kind of `Deviation` the readers record: the catalogue, with what each means.

A deviation is something a reader tolerated and carried on from (never content: a code, a
segment index, a tag). The catalogue is the contract with operators and carriers: the data
quality report counts by these codes, docs/formats.md lists them, and a test checks that
the code records no other kind and that each kind is produced by some input.
"""

from __future__ import annotations

#: code -> what the carrier sent (and what the reader did about it).
DEVIATION_KINDS: dict[str, str] = {
    # character set (edifact.decode)
    "utf8_under_declared_charset": "UTF-8 text under a UNOA..UNOK declaration: read as UTF-8",
    "charset_mismatch": "bytes invalid in the declared character set: read as Latin-1",
    "non_ascii_in_unoa": "non-ASCII, non-UTF-8 bytes under UNOA/UNOB: read as Latin-1",
    # syntax and envelopes (edifact.tokenize, edifact.parse_interchange)
    "leading_text_skipped": "text before UNA/UNB, skipped",
    "una_irregular": "a short or padded UNA advice, read by position",
    "una_terminator_mismatch": "UNA declares a terminator the interchange does not use",
    "line_break_in_segment": "line breaks inside segments (line wrapping), removed",
    "irregular_tag": "a segment tag that is not three letters or digits",
    "several_interchanges": "a further interchange in the same push, read too",
    "text_after_unz": "segments after UNZ that start no interchange, not read",
    "segment_outside_message": "a segment between messages, not read",
    "unt_without_unh": "UNT with no open message",
    "unt_count_mismatch": "UNT segment count wrong",
    "unt_reference_mismatch": "UNT reference differs from UNH",
    "unt_reference_missing": "UNT without a message reference",
    "ung_not_closed": "UNG before the previous group's UNE",
    "une_without_ung": "UNE with no open group",
    "une_count_mismatch": "UNE message count wrong",
    "unz_count_mismatch": "UNZ count wrong",
    "unz_reference_mismatch": "UNZ reference differs from UNB",
    # PNRGOV (formats/pnrgov/)
    "unsupported_version": "a PNRGOV version outside 10.1..21.1, read as the known ones",
    "message_type_skipped": "a message of another type in a PNRGOV interchange, not read",
    "unknown_segment": "a segment that is not PNRGOV or PAXLST, counted and not kept",
    "segment_out_of_order": "a segment outside its group, kept where it belongs",
    "src_missing": "a PNR without its SRC segment, read as a new PNR",
    "rci_missing": "a PNR without RCI (no locator)",
    "eqn_count_mismatch": "EQN declares another number of PNRs than sent",
    "ssr_code_irregular": "an SSR code in lower case or with blanks, read upper case",
    "docs_date_unreadable": "an SSR DOCS date that is not a date, left empty",
    "doco_date_unreadable": "an SSR DOCO date of issue that is not a date, left empty",
    "datetime_unreadable": "an impossible date or time (e.g. 4321), left empty, not midnight",
    "ssr_traveller_unknown": "an SSR DOCS/DOCA/DOCO whose traveller cannot be found, not kept",
    "infant_from_docs": "an infant known only from its DOCS (FI/MI): made a traveller",
    "traveller_repeated": "a traveller group sent again, merged with the first",
    "seat_without_traveller": "an SSD seat with no traveller group before it",
    "bag_without_traveller": "a TBD bag with no traveller group before it",
    # PAXLST (formats/paxlst/)
    "not_paxlst": "a message of another type in a PAXLST interchange, not read",
    "tdt_qualifier": "TDT with a transport stage qualifier other than 20",
    "flight_missing": "TDT without a flight number: its persons have no flight",
    "flight_designator_differs": "a progressive flight's legs name different flights",
    "message_without_flight": "a PAXLST message without TDT: its persons not read",
    "port_outside_flight": "a declared port of (dis)embarkation outside the flight: kept",
    "segment_out_of_place": "a person's segment before any person (NAD)",
    "invalid_date": "a DTM that is not a date",
    "duplicate_value": "a value sent twice for one person, the first kept",
    "cnt_mismatch": "CNT declares another number of persons than sent",
}
