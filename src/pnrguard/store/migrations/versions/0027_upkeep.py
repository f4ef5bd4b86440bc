"""Joint travel as one booking-wide row per leg: ``search_token`` field 37.

Link analysis's flight digest (`links.tokens.LinkField.FLIGHT`: carrier, number, date) was
stored once per traveller per leg, the same token on every traveller of a booking: a tenth
of the index, and a tenth of the rows ingest writes. The itinerary is the booking's, so it
is now one row per leg with traveller ref ``""`` (as phones and e-mails are), read as every
traveller still on the booking (`service.links`). A traveller with no other row of its own
(no name part, birth date, document, seat, ...) keeps its own flight rows, so a booking's
travellers stay told apart from one a later version dropped.

No key is needed: the token does not depend on the traveller, so the rows are rewritten
in SQL (what `pnrguard index rebuild` would write, without decrypting anything).

Revision ID: 0027_upkeep
Revises: 0026_links_speed
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0027_upkeep"
down_revision = "0026_links_speed"
branch_labels = None
depends_on = None

#: Field 37 is `links.tokens.LinkField.FLIGHT` (a migration keeps its own copy of the number).

#: One booking-wide row per (token, day, booking) that has per-traveller ones.
_WIDE = """
INSERT INTO search_token (token, field, day, booking_id, traveller_ref)
SELECT DISTINCT t.token, t.field, t.day, t.booking_id, ''
FROM search_token t
WHERE t.field = 37 AND t.traveller_ref <> ''
AND NOT EXISTS (
    SELECT 1 FROM search_token w
    WHERE w.token = t.token AND w.field = t.field AND w.day = t.day
    AND w.booking_id = t.booking_id AND w.traveller_ref = ''
)
"""
#: Then the per-traveller rows of travellers that hold another row of their own.
_OWN = """
DELETE FROM search_token
WHERE field = 37 AND traveller_ref <> ''
AND EXISTS (
    SELECT 1 FROM search_token o
    WHERE o.booking_id = search_token.booking_id AND o.traveller_ref = search_token.traveller_ref
    AND o.field <> 37
)
"""
#: Back: every traveller holding a row of its own gets the booking's flight rows again.
_PER_TRAVELLER = """
INSERT INTO search_token (token, field, day, booking_id, traveller_ref)
SELECT DISTINCT w.token, w.field, w.day, w.booking_id, o.traveller_ref
FROM search_token w
JOIN search_token o ON o.booking_id = w.booking_id AND o.traveller_ref <> '' AND o.field <> 37
WHERE w.field = 37 AND w.traveller_ref = ''
AND NOT EXISTS (
    SELECT 1 FROM search_token x
    WHERE x.token = w.token AND x.field = w.field AND x.day = w.day
    AND x.booking_id = w.booking_id AND x.traveller_ref = o.traveller_ref
)
"""


def upgrade() -> None:
    op.execute(_WIDE)
    op.execute(_OWN)


def downgrade() -> None:
    op.execute(_PER_TRAVELLER)
    op.execute("DELETE FROM search_token WHERE field = 37 AND traveller_ref = ''")
