"""The personal-data inventory: every table and every column, as data, with its rules.

The one data source for "what is stored, how it is protected, and how long it lives":

- `TABLES`: every table of the schema and its retention rule, the article it implements
  and the code that enforces it (issue 10, item 6: every table has a rule);
- `PERSONAL`: every column that can hold personal data, how it is protected, what masking
  does to it (Art. 12(2)) and what deletion does (Art. 12(1), 13);
- `NOT_PERSONAL`: every other column of a table with personal data, and why it holds none;
  a table wholly without personal data says so in its rule (`TableRule.none`) instead.

Why data and not prose: a new feature that adds a table, or a column holding a name, a
reason an analyst typed about a person or a copy of a booking, must say here how it is
protected, masked and deleted, or the schema tests (`tests/storage/test_inventory.py`,
`tests/lifecycle/test_lifecycle_table_rules.py`) fail on the migrated schema of SQLite and
PostgreSQL. The same data renders both tables of docs/data-protection.md
(`render_markdown`), and a test keeps the two in sync.

Words used below:

- *identity key*: the booking's identity data key (crypto.py); sealed at masking, destroyed
  at deletion. *content key*: the booking's other data key; destroyed at deletion.
- *message key*: a data key of its own per row, wrapped by the key store.
- *digest key*: the node's HMAC key (node_secret); a keyed digest reveals nothing without
  it and is retired (set to NULL or the row deleted) when its booking is masked.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "NOT_PERSONAL",
    "NOT_PERSONAL_TABLES",
    "PERSONAL",
    "TABLES",
    "PersonalColumn",
    "TableRule",
    "covered",
    "render_markdown",
]


@dataclass(frozen=True, slots=True)
class PersonalColumn:
    """One column that can hold personal data, and the rules that apply to it."""

    table: str
    column: str
    holds: str  # whose data, what
    protection: str  # how it is stored
    masking: str  # what happens at 6 months (Art. 12(2))
    deletion: str  # what happens at the end of retention (Art. 12(1))


@dataclass(frozen=True, slots=True)
class TableRule:
    """How long rows of one table live, why, and which code enforces it (issue 10, item 6:
    "every table has a retention rule"). `none`: for a table that holds no personal data at
    all, what it holds instead; its columns are then not listed one by one."""

    table: str
    personal: bool  # can hold personal data (of travellers, or of staff for accounts)
    rule: str
    article: str
    enforced_by: str
    none: str = ""


_SHRED = "shredded with the booking (its keys are destroyed)"
_SEALED = "identity key sealed: unreadable without a decided judicial unmasking (Art. 12(3))"
_TEXT_BOOKING = "AES-GCM under the booking's identity key from its first write (store/texts.py)"
_TEXT_MONTH = (
    "AES-GCM under the month text key of the request (text_key, wrapped under that month's "
    "period KEK; store/texts.py)"
)

PERSONAL: tuple[PersonalColumn, ...] = (
    # --- bookings ---------------------------------------------------------------------------
    PersonalColumn(
        "booking",
        "locator",
        "traveller: booking reference (links to the person at the carrier)",
        "clear (the key carriers and analysts use)",
        "kept (not an Art. 12(2) element)",
        "set to '' on the tombstone row",
    ),
    PersonalColumn(
        "booking",
        "created",
        "traveller: reservation time",
        "clear",
        "kept",
        "set to NULL on the tombstone row",
    ),
    PersonalColumn(
        "booking",
        "identity_digest",
        "traveller: keyed HMAC of the natural key",
        "HMAC under the digest key",
        "retired (NULL)",
        "NULL",
    ),
    PersonalColumn(
        "booking_version",
        "identity_blob",
        "traveller: names, contacts, API data, ...",
        "AES-GCM under the identity key",
        _SEALED,
        _SHRED + "; row deleted",
    ),
    PersonalColumn(
        "booking_version",
        "content_blob",
        "traveller: itinerary, ticketing, baggage, ...",
        "AES-GCM under the content key",
        "readable (not an Art. 12(2) element)",
        _SHRED + "; row deleted",
    ),
    PersonalColumn(
        "booking_version",
        "content_digest",
        "traveller: keyed HMAC of the content",
        "HMAC under the digest key",
        "kept (compares re-pushes only)",
        "row deleted",
    ),
    PersonalColumn(
        "booking_key",
        "wrapped",
        "key: the booking's data keys",
        "wrapped by the key store",
        "identity key moved to sealed_key",
        "row deleted (crypto-shredding)",
    ),
    PersonalColumn(
        "sealed_key",
        "wrapped",
        "key: the sealed identity key of a masked booking",
        "wrapped under the seal context (seal key store)",
        "created",
        "row deleted",
    ),
    PersonalColumn(
        "quarantine",
        "raw_blob",
        "traveller: an unreadable raw message",
        "AES-GCM under a message key",
        "n/a (kept a limited time)",
        "row deleted after the quarantine period",
    ),
    PersonalColumn(
        "quarantine",
        "wrapped_key",
        "key: the quarantined message's key",
        "wrapped by the key store",
        "n/a",
        "row deleted",
    ),
    PersonalColumn(
        "gateway_inbox",
        "payload",
        "traveller: a pushed message awaiting processing",
        "AES-GCM under a message key",
        "n/a (hours)",
        "cleared once processed",
    ),
    PersonalColumn(
        "gateway_inbox",
        "wrapped_key",
        "key: the pushed message's key",
        "wrapped by the key store",
        "n/a",
        "cleared once processed",
    ),
    # --- screening ----------------------------------------------------------------------------
    PersonalColumn(
        "hit",
        "person_digest",
        "traveller: keyed HMAC of name, DOB, document",
        "HMAC under the digest key",
        "retired (NULL): a guessed identity cannot be confirmed",
        "NULL",
    ),
    PersonalColumn(
        "hit",
        "review_reason",
        "traveller: the reviewer's free-text reason",
        _TEXT_BOOKING,
        "sealed with the identity key: shown as [masked] unless a decided judicial unmasking covers it",
        "erased (NULL); the key that encrypted it is destroyed too",
    ),
    PersonalColumn(
        "hit_note",
        "text",
        "traveller: an analyst's note, a reopening reason, a decision set aside",
        _TEXT_BOOKING,
        "sealed with the identity key: shown as [masked] unless a decided judicial unmasking covers it",
        "erased (NULL); the key that encrypted it is destroyed too",
    ),
    PersonalColumn(
        "hit",
        "features",
        "traveller: per-feature match scores",
        "clear numbers",
        "not shown for a masked booking",
        "erased ([])",
    ),
    PersonalColumn(
        "search_token",
        "token",
        "traveller: keyed digests of name parts, phonetic keys, date of birth, document, contact, "
        "card, seat and the link digests (links/tokens.py)",
        "HMAC-SHA256 (16 bytes) under the blind-index node secret; equality and frequency visible",
        "deleted (a masked name can no longer be searched or linked)",
        "deleted",
    ),
    PersonalColumn(
        "traveller_member",
        "conflicts",
        "traveller: names of the fields on which the API and PNR records disagree",
        "clear field names, never values",
        "kept (ids and field names only)",
        "deleted with the booking",
    ),
    PersonalColumn(
        "financing_lead",
        "card_token",
        "payer: keyed digest of the card a financing lead is about (links/leads.py)",
        "HMAC-SHA256 (16 bytes) under the blind-index node secret",
        "set to NULL (the lead itself goes while still open)",
        "row deleted with any booking the lead names",
    ),
    PersonalColumn(
        "financing_lead_record",
        "person",
        "traveller: the link graph's opaque person id (a hash of identity digests)",
        "SHA-256 over keyed digests: nothing without the node secret",
        "row deleted while the lead is open; kept with a decided lead (ids only)",
        "row deleted with the booking",
    ),
    PersonalColumn(
        "financing_lead_record",
        "traveller_ref",
        "traveller: which traveller of the booking a lead names",
        "clear ref within the booking",
        "as `person`",
        "row deleted with the booking",
    ),
    PersonalColumn(
        "hit_source",
        "score",
        "traveller: match score of the second source",
        "clear number",
        "not shown for a masked booking",
        "row deleted with the booking",
    ),
    PersonalColumn(
        "hit",
        "score",
        "traveller: match score confirming an identity",
        "clear number",
        "not shown for a masked booking",
        "set to 0",
    ),
    PersonalColumn(
        "suppression",
        "person_digest",
        "traveller: keyed HMAC of name, DOB, document",
        "HMAC under the digest key",
        "row deleted (digest retired)",
        "row deleted",
    ),
    PersonalColumn(
        "suppression",
        "reason",
        "traveller: the reviewer's free-text reason",
        _TEXT_BOOKING,
        "row deleted",
        "row deleted",
    ),
    PersonalColumn(
        "watchlist_entry",
        "data",
        "listed person: the list author's entry",
        "clear (published reference data the PIU is entitled to hold)",
        "shown for a masked booking's hit by list and id only",
        "kept with the list version; removed entries stay for the hits that name them",
    ),
    # --- workspace ----------------------------------------------------------------------------
    PersonalColumn(
        "authority_request",
        "reason",
        "traveller: the requesting authority's reasoning",
        _TEXT_MONTH,
        "kept (the request is the legal basis of what it found)",
        "erased when a booking it found is deleted; unreadable once its month's KEK is destroyed",
    ),
    PersonalColumn(
        "authority_request",
        "decision_reason",
        "traveller: the PIU's reasoning",
        _TEXT_MONTH,
        "kept",
        "erased when a booking it found is deleted; unreadable once its month's KEK is destroyed",
    ),
    PersonalColumn(
        "transmission",
        "justification",
        "traveller: why the booking is disclosed",
        _TEXT_BOOKING,
        "sealed with the identity key (Art. 12(3))",
        "erased; the key is destroyed too",
    ),
    PersonalColumn(
        "transmission",
        "decision_reason",
        "traveller: the supervisor's reasoning",
        _TEXT_BOOKING,
        "sealed with the identity key (Art. 12(3))",
        "erased; the key is destroyed too",
    ),
    PersonalColumn(
        "rectification_request",
        "decision_reason",
        "traveller: the DPO's reasoning",
        _TEXT_BOOKING,
        "sealed with the identity key (Art. 12(3))",
        "row deleted with the booking; the key is destroyed too",
    ),
    PersonalColumn(
        "unmasking_request",
        "reason",
        "traveller: the requester's reasoning",
        _TEXT_MONTH,
        "kept (the judge decides on it)",
        "erased when every booking it names is deleted; unreadable once its month's KEK is destroyed",
    ),
    PersonalColumn(
        "unmasking_approval",
        "reason",
        "traveller: the judge's reasoning",
        _TEXT_MONTH,
        "kept",
        "erased when every booking of its request is deleted; unreadable once its month's KEK is destroyed",
    ),
    # --- federation ---------------------------------------------------------------------------
    PersonalColumn(
        "exchange_message",
        "payload",
        "traveller: a copy of bookings sent or received, or a request's subject",
        "AES-GCM under a message key",
        "message key sealed with the booking (sent copies) or 6 months after receipt "
        "(received copies); retry_delivery refuses a masked copy",
        "message key and payload erased with the booking (sent) or at the end of "
        "retention after receipt (received)",
    ),
    PersonalColumn(
        "exchange_message",
        "wrapped_key",
        "key: the copy's message key",
        "wrapped by the key store",
        "re-wrapped under the sealed context",
        "erased",
    ),
    PersonalColumn(
        "exchange_message",
        "decision_reason",
        "traveller: the decider's reasoning",
        _TEXT_MONTH,
        "shown as [masked] once the copy is sealed (service/exchange_payload.shown_reason)",
        "erased with the copy; unreadable once the month's period KEK is destroyed",
    ),
    PersonalColumn(
        "exchange_message",
        "case_ref",
        "case reference (may name an operation)",
        "clear",
        "kept",
        "kept (no person; reconciled by both DPOs)",
    ),
    PersonalColumn(
        "exchange_message_booking",
        "booking_id",
        "link: which local bookings a copy holds",
        "clear opaque id",
        "kept",
        "kept (points to the tombstone)",
    ),
    PersonalColumn(
        "text_key",
        "wrapped",
        "key: a month's text key (opens request and judicial texts of that month)",
        "wrapped under the month's period KEK",
        "n/a",
        "row deleted, and unreadable everywhere, when the month's period KEK is destroyed",
    ),
    # --- staff (not travellers): the accountability record ----------------------------------
    PersonalColumn(
        "account",
        "username",
        "staff: login name",
        "clear",
        "n/a",
        "kept while the account exists (audit entries name it)",
    ),
    PersonalColumn(
        "account",
        "oidc_subject",
        "staff: identity-provider subject",
        "clear",
        "n/a",
        "kept while the account exists",
    ),
    PersonalColumn(
        "audit_entry",
        "actor",
        "staff: who acted",
        "clear, hash-chained",
        "n/a",
        "log retention profile setting",
    ),
)

#: Every table of the schema and its retention rule.
_BY_RUN = "retention run"
_BY_SHRED = "retention run (crypto-shredding with the booking)"
_BY_GATEWAY = "gateway housekeeping (`pnrguard worker`) and the retention run"
_BY_NONE = "no personal data: kept"

TABLES: dict[str, TableRule] = {
    r.table: r
    for r in (
        TableRule(
            "booking",
            True,
            "identity masked at 6 months; deleted at 6 months without an objective link (default "
            "profile), else at 5 years; a tombstone (id, state, dates, flight) stays so audit entries"
            " resolve",
            "Dir. 2016/681 Art. 12(1)-(4); C-817/19 para. 255-262",
            _BY_SHRED,
        ),
        TableRule(
            "booking_version",
            True,
            "deleted with the booking",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "booking_key",
            True,
            "identity key sealed at 6 months, all keys destroyed at deletion",
            "Art. 12(3), 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "sealed_key",
            True,
            "destroyed at deletion",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "message",
            False,
            "receipt metadata (digest, sender code, counts): kept as long as the audit log",
            "Art. 13(6) accountability",
            _BY_NONE,
        ),
        TableRule(
            "quarantine",
            True,
            "raw bytes at most 72 hours after receipt (setting), then only reason and digest; the "
            "entry is deleted after 30 days",
            "Art. 6(2), 13(4) (it holds data the filter deletes)",
            _BY_RUN,
        ),
        TableRule(
            "alembic_version",
            False,
            "the schema version: for the node's life",
            "-",
            _BY_NONE,
            none="schema version",
        ),
        TableRule(
            "node_secret",
            False,
            "node keys: for the node's life",
            "-",
            _BY_NONE,
            none="node-wide keys, wrapped by the key store",
        ),
        TableRule(
            "node_marker",
            False,
            "facts about the database (demo marker)",
            "-",
            _BY_NONE,
            none="facts about the database itself (the demo marker)",
        ),
        TableRule(
            "exchange_result",
            False,
            "which bookings a peer's request found (ids): deleted with the booking or the request",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "account_change",
            False,
            "staff account changes and their approvals: kept as long as the audit log",
            "LED Art. 25",
            _BY_NONE,
            none="staff account changes awaiting a second person: ids, roles, dates, link digests",
        ),
        TableRule(
            "login_throttle",
            False,
            "failed-login counters (digests): cleared when the lock ends",
            "security of processing (LED Art. 29)",
            _BY_NONE,
            none="failed-login counters keyed by SHA-256 of a username or an address",
        ),
        TableRule(
            "search_token",
            True,
            "blind-index tokens: deleted at masking (a masked name can no longer be searched or "
            "linked) and with the booking",
            "Art. 12(2), 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "traveller_member",
            True,
            "which records are one traveller: deleted with the booking",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "financing_lead",
            True,
            "a payment pattern for review: deleted with any booking it names; at masking an open "
            "lead goes and a decided one loses its card digest",
            "Art. 6(2)(a), 12(2), 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "financing_lead_record",
            True,
            "which travellers a lead names (ids): deleted with the booking",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "lead_disclosure",
            False,
            "a lead's disclosure to the FIU (ids, codes, package digest): deleted with the lead",
            "Art. 6(2)(a), 13(6)",
            _BY_SHRED,
        ),
        TableRule(
            "hit_note",
            True,
            "notes and reopening reasons: encrypted under the booking's keys, erased with the booking",
            "Art. 6(5), 12",
            _BY_SHRED,
        ),
        TableRule(
            "hit_source",
            True,
            "a second source of a hit: deleted with the booking",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "exchange_message_booking",
            True,
            "which bookings an exchange copy holds (ids): deleted with the copy",
            "Art. 12(4)",
            _BY_SHRED,
        ),
        TableRule(
            "sensitive_deletion",
            False,
            "deletion counts per carrier and day: kept as long as the statistics (Art. 20)",
            "Art. 13(4), 20",
            _BY_NONE,
            none="deletions per carrier, day and category: counts, small ones shown as <5",
        ),
        TableRule(
            "carrier_quality",
            False,
            "data-quality counts per carrier and day: kept as long as the statistics",
            "Art. 8(3) compliance",
            _BY_NONE,
            none="data-quality counters per carrier, day and metric: numbers only",
        ),
        TableRule(
            "audit_cosignature",
            False,
            "peers' cosignatures of our checkpoints: kept as long as the audit log",
            "Art. 13(6) accountability",
            _BY_NONE,
            none="peers' cosignatures of our checkpoints: signatures over hashes and sizes",
        ),
        TableRule(
            "witness_state",
            False,
            "the last checkpoint cosigned per peer log: for the node's life",
            "Art. 13(6) accountability",
            _BY_NONE,
            none="the last checkpoint cosigned per peer log: origin, size, root hash",
        ),
        TableRule(
            "witness_evidence",
            False,
            "refused checkpoint submissions: kept as long as the audit log",
            "Art. 13(6) accountability",
            _BY_NONE,
            none="refused checkpoint submissions of peers: signed notes over hashes and sizes",
        ),
        TableRule(
            "gateway_inbox",
            True,
            "raw interchange until processed; a failed push keeps it at most 72 hours (profile), then"
            " becomes `done/expired`; done rows (no payload) go after the replay window",
            "Art. 6(2), 8",
            _BY_GATEWAY,
        ),
        TableRule(
            "gateway_quarantine",
            False,
            "refused pushes (codes, sizes, digests): 30 days",
            "-",
            _BY_GATEWAY,
        ),
        TableRule(
            "carrier_credential",
            False,
            "token digests: until revoked and removed",
            "-",
            _BY_NONE,
            none="carrier API tokens (hashes) and sender codes",
        ),
        TableRule(
            "watchlist",
            False,
            "list metadata: for the list's life",
            "-",
            _BY_NONE,
            none="list names and formats",
        ),
        TableRule(
            "watchlist_version",
            False,
            "version metadata",
            "-",
            _BY_NONE,
            none="import counts and file digests",
        ),
        TableRule(
            "watchlist_entry",
            True,
            "list entries (encrypted): replaced or removed by the next import of their list",
            "Art. 6(3)(b)",
            "watchlist import",
        ),
        TableRule(
            "criteria_rule",
            False,
            "pre-determined criteria: for their validity",
            "Art. 6(4)",
            _BY_NONE,
            none="pre-determined criteria: rules, never persons (Art. 6(4))",
        ),
        TableRule(
            "hit",
            True,
            "the person digest goes with the booking; the reviewer's reason is encrypted under the "
            "booking's identity key from its first write, so masking seals it and deletion destroys "
            "it",
            "Art. 6(5), 12",
            _BY_SHRED,
        ),
        TableRule(
            "suppression",
            True,
            "identity digests and reasons (encrypted under the booking's identity key) deleted at "
            "masking",
            "Art. 6(5), 12",
            _BY_SHRED,
        ),
        TableRule(
            "competent_authority",
            False,
            "the Art. 7 list",
            "Art. 7",
            _BY_NONE,
            none="authorities: public bodies",
        ),
        TableRule(
            "authority_request",
            True,
            "reason and decision encrypted under the month text key of the registration; erased when "
            "a booking the request found is deleted; unreadable everywhere once the month's period "
            "KEK is destroyed (its last booking deleted)",
            "Art. 6(2)(b), 12",
            _BY_SHRED,
        ),
        TableRule(
            "link_addition",
            False,
            "booking ids a link analysis added to a hit's or request's case, and the graph's start (opaque)",
            "Art. 13(6)",
            _BY_NONE,
        ),
        TableRule(
            "request_result",
            False,
            "booking ids found (opaque)",
            "Art. 13(6)",
            _BY_NONE,
        ),
        TableRule(
            "transmission",
            True,
            "justification and decision encrypted under the booking's identity key from their first "
            "write; erased with the booking",
            "Art. 6(2)(b), 12",
            _BY_SHRED,
        ),
        TableRule(
            "retention_hold",
            False,
            "case references (opaque)",
            "C-817/19 para. 262",
            _BY_NONE,
        ),
        TableRule(
            "unmasking_request",
            True,
            "reason encrypted under the month text key of the request; erased when every booking it "
            "names is deleted; unreadable once the month's period KEK is destroyed",
            "Art. 12(3)",
            _BY_SHRED,
        ),
        TableRule(
            "unmasking_request_booking",
            False,
            "booking ids (opaque)",
            "Art. 12(3)",
            _BY_NONE,
        ),
        TableRule(
            "unmasking_approval",
            True,
            "judicial reason under the request's month text key: as the request",
            "Art. 12(3)",
            _BY_SHRED,
        ),
        TableRule(
            "dpo_notification",
            False,
            "ids and counts",
            "Art. 12(3)",
            _BY_NONE,
        ),
        TableRule(
            "rectification_request",
            True,
            "decision encrypted under the booking's identity key from its first write; the request is"
            " deleted once the booking it names is deleted",
            "LED Art. 16, 17",
            _BY_RUN,
        ),
        TableRule(
            "subject_request",
            False,
            "travellers' requests register (no content): as long as the audit log",
            "LED Art. 14-17; Art. 13(6)",
            _BY_RUN,
            none="travellers' request register: kind, dates, staff, counts, outcome; no name",
        ),
        TableRule(
            "retention_run",
            False,
            "run counts: as long as the audit log",
            "Art. 13(6)",
            _BY_RUN,
            none="run counts",
        ),
        TableRule(
            "audit_entry",
            True,
            "ids and counts only: the profile's audit_log_months (5 years), pruned at a signed "
            "checkpoint",
            "Art. 13(6)",
            _BY_RUN,
        ),
        TableRule(
            "audit_checkpoint",
            False,
            "signed tree heads: kept",
            "Art. 13(6)",
            _BY_NONE,
            none="signed tree heads: hashes and counts",
        ),
        TableRule(
            "account",
            True,
            "staff accounts: until removed by an administrator",
            "LED Art. 25",
            "administrator",
        ),
        TableRule(
            "web_session",
            True,
            "token digests of staff sessions: deleted when expired",
            "-",
            _BY_RUN,
        ),
        TableRule(
            "peer",
            False,
            "peer identities",
            "-",
            _BY_NONE,
            none="peer PIUs: public certificates and keys",
        ),
        TableRule(
            "exchange_message",
            True,
            "payload copies under keys the bookings' deletion destroys",
            "Art. 9, 12",
            _BY_SHRED,
        ),
        TableRule(
            "exchange_permission",
            False,
            "H2 permissions (ids)",
            "Art. 9",
            _BY_NONE,
        ),
        TableRule(
            "replay_nonce",
            False,
            "nonces: minutes",
            "-",
            "peer API",
            none="signature nonces",
        ),
        TableRule(
            "text_key",
            True,
            "one text key per month, wrapped under that month's period KEK: deleted, and unreadable "
            "in every copy, when the period KEK is destroyed",
            "Art. 12(4); LED Art. 4(1)(e)",
            "retention run (period KEK destruction)",
        ),
        TableRule(
            "traveller_tally",
            False,
            "travellers and bookings per day of first receipt and source: kept as long as the "
            "statistics",
            "Art. 12(2)(a), 20",
            _BY_NONE,
            none="travellers and bookings per day of receipt and source: counts only (never per booking)",
        ),
    )
}

#: Tables that hold no personal data at all (what they hold instead).
NOT_PERSONAL_TABLES: dict[str, str] = {t: r.none for t, r in TABLES.items() if r.none}

_ID = "opaque id or foreign key"
_TIME = "a point in time"
_CODE = "a code from a closed list"
_COUNT = "a count or number"
_STAFF = "a staff login name (the accountability record, see account.username)"

#: Columns of tables that hold personal data elsewhere, which themselves hold none (reason).
NOT_PERSONAL: dict[str, dict[str, str]] = {
    "account": {
        "id": _ID,
        "role": _CODE,
        "password_hash": "argon2id hash",
        "disabled": "flag",
        "failed_logins": _COUNT,
        "locked_until": _TIME,
        "created_at": _TIME,
        "last_login_at": _TIME,
        "approved": "flag: a second person approved the account (two-person rule)",
        "totp_wrapped": "staff TOTP secret, encrypted under a node secret",
        "totp_last_step": "the last TOTP step used (no reuse)",
        "enrol_hash": "SHA-256 of a one-time enrolment link",
        "enrol_expires_at": _TIME,
        "locale": "workspace language code chosen by the staff member",
    },
    "web_session": {
        "stage": "login stage (password done, second factor pending, ...)",
        "token_hash": "SHA-256 of a random cookie",
        "account_id": _ID,
        "csrf_token": "random",
        "created_at": _TIME,
        "last_seen_at": _TIME,
        "expires_at": _TIME,
    },
    "audit_entry": {
        "seq": _COUNT,
        "at": _TIME,
        "role": _CODE,
        "operation": _CODE,
        "purpose": _CODE,
        "record_ids": "opaque ids",
        "counts": "aggregate counts",
        "reference": _ID,
        "leaf_hash": "hash",
        "chain_hash": "hash",
    },
    "authority_request": {
        "id": _ID,
        "authority_id": _ID,
        "case_reference": "case number",
        "purpose": _CODE,
        "status": _CODE,
        "registered_by": _STAFF,
        "registered_at": _TIME,
        "decided_by": _STAFF,
        "decided_at": _TIME,
    },
    "booking": {
        "restricted_at": "when the DPO restricted processing (LED Art. 16(3)): a date",
        "id": _ID,
        "source": _CODE,
        "carrier": _CODE,
        "flight_carrier": _CODE,
        "flight_number": "flight (non-personal)",
        "flight_date": "flight date",
        "origin": _CODE,
        "destination": _CODE,
        "first_seen": _TIME,
        "last_seen": _TIME,
        "state": _CODE,
        "masked_at": _TIME,
        "deleted_at": _TIME,
        "latest_version": _COUNT,
        "dormant_at": _TIME,
    },
    "text_key": {"period": "a month (YYYY-MM)", "kek_version": _COUNT},
    "booking_key": {"booking_id": _ID, "kind": _CODE, "key_version": _COUNT, "kek_version": _COUNT},
    "booking_version": {
        "booking_id": _ID,
        "version": _COUNT,
        "message_id": _ID,
        "received_at": _TIME,
        "key_version": _COUNT,
    },
    "dpo_notification": {
        "id": _ID,
        "created_at": _TIME,
        "kind": _CODE,
        "reference": _ID,
        "counts": "aggregate counts",
        "acknowledged_by": _STAFF,
        "acknowledged_at": _TIME,
    },
    "exchange_message": {
        "id": _ID,
        "direction": _CODE,
        "peer_id": _ID,
        "message_id": _ID,
        "peer_message_id": _ID,
        "kind": _CODE,
        "purpose": _CODE,
        "in_reply_to": _ID,
        "forwarded_from": _ID,
        "handling": "handling codes",
        "evaluation": _CODE,
        "outcome": _CODE,
        "records": _COUNT,
        "masked_records": _COUNT,
        "status": _CODE,
        "created_at": _TIME,
        "decided_by": _STAFF,
        "decided_at": _TIME,
        "second_approver": _STAFF,
        "second_approved_at": _TIME,
        "sent_at": _TIME,
        "error": "error code and text without data",
        "kek_version": _COUNT,
        "lifecycle": _CODE,
        "lifecycle_at": _TIME,
    },
    "exchange_message_booking": {"exchange_id": _ID},
    "exchange_permission": {
        "id": _ID,
        "message_id": _ID,
        "to_peer_id": _ID,
        "reference": "originator's letter id",
        "recorded_by": _STAFF,
        "recorded_at": _TIME,
    },
    "gateway_inbox": {
        "id": _ID,
        "carrier": _CODE,
        "control_ref": "interchange reference",
        "received_at": _TIME,
        "size": _COUNT,
        "sha256": "digest of the raw bytes",
        "status": _CODE,
        "attempts": _COUNT,
        "available_at": _TIME,
        "lease_until": _TIME,
        "claim_token": "random",
        "kek_version": _COUNT,
        "processed_at": _TIME,
        "message_id": _ID,
        "outcome": _CODE,
        "last_error": _CODE,
    },
    "gateway_quarantine": {
        "id": _ID,
        "at": _TIME,
        "carrier": _CODE,
        "credential_id": _ID,
        "control_ref": "interchange reference",
        "size": _COUNT,
        "sha256": "digest",
        "http_status": _CODE,
        "reason_code": _CODE,
        "reason_text": "positions and codes only",
    },
    "hit": {
        "id": _ID,
        "traveller_id": "opaque id of the linked traveller",
        "booking_id": _ID,
        "booking_version": _COUNT,
        "traveller_ref": "ref within the booking",
        "kind": _CODE,
        "purpose": _CODE,
        "match_key": "list/rule and entry id",
        "watchlist_id": _ID,
        "list_version": _COUNT,
        "entity_id": "list entry id",
        "fingerprint": "digest of the list entry",
        "rule_id": _ID,
        "rule_version": _COUNT,
        "status": _CODE,
        "created_at": _TIME,
        "reviewed_by": _STAFF,
        "reviewed_at": _TIME,
        "assignee": _STAFF,
        "priority": _COUNT,
    },
    "hit_note": {
        "id": _ID,
        "hit_id": _ID,
        "booking_id": _ID,
        "kind": _CODE,
        "status": _CODE,
        "created_by": _STAFF,
        "created_at": _TIME,
    },
    "search_token": {
        "field": _CODE,
        "day": "the booking's flight date as a day number (also clear in booking.flight_date)",
        "booking_id": _ID,
        "traveller_ref": "ref within the booking",
    },
    "traveller_member": {
        "booking_id": _ID,
        "traveller_ref": "ref within the booking",
        "traveller_id": "opaque id of the linked traveller",
        "source": _CODE,
        "linked_by": _CODE,
    },
    "hit_source": {
        "hit_id": _ID,
        "booking_id": _ID,
        "traveller_ref": "ref within the booking",
        "booking_version": _COUNT,
        "attached_at": _TIME,
    },
    "message": {
        "id": _ID,
        "received_at": _TIME,
        "sha256": "digest of the raw bytes",
        "size": _COUNT,
        "message_type": _CODE,
        "sender": "carrier code",
        "channel": _CODE,
        "status": _CODE,
        "duplicate_of": _ID,
        "bookings_new": _COUNT,
        "bookings_new_version": _COUNT,
        "bookings_duplicate": _COUNT,
        "deviations": "counts by code",
        "minimisation": "counts by tag",
        "sensitive": "counts by category",
    },
    "quarantine": {
        "message_id": _ID,
        "quarantined_at": _TIME,
        "reason_code": _CODE,
        "reason_text": "positions and codes only",
        "attempts": _COUNT,
        "kek_version": _COUNT,
    },
    "rectification_request": {
        "id": _ID,
        "received_at": _TIME,
        "recorded_by": _STAFF,
        "booking_id": _ID,
        "field": "a field path, never a value",
        "channel": _CODE,
        "status": _CODE,
        "decided_by": _STAFF,
        "decided_at": _TIME,
        "new_version": _COUNT,
    },
    "request_result": {"request_id": _ID, "booking_id": _ID, "found_at": _TIME},
    "link_addition": {
        "basis": "the hit or request (an opaque id)",
        "booking_id": _ID,
        "start_booking_id": _ID,
        "start_ref": "a traveller's position within a booking (a number, not a name)",
        "depth": _COUNT,
        "added_by": _STAFF,
        "added_at": _TIME,
    },
    "exchange_result": {"message_id": _ID, "booking_id": _ID, "found_at": _TIME},
    "retention_hold": {
        "id": _ID,
        "booking_id": _ID,
        "case_reference": "case number",
        "created_by": _STAFF,
        "created_at": _TIME,
        "released_by": _STAFF,
        "released_at": _TIME,
    },
    "sealed_key": {
        "booking_id": _ID,
        "tier": _CODE,
        "key_version": _COUNT,
        "kek_version": _COUNT,
        "sealed_at": _TIME,
    },
    "suppression": {
        "hit_id": _ID,
        "match_key": "list/rule and entry id",
        "fingerprint": "digest of the list entry",
        "created_at": _TIME,
        "created_by": _STAFF,
    },
    "transmission": {
        "id": _ID,
        "hit_id": _ID,
        "request_id": _ID,
        "booking_id": _ID,
        "booking_version": _COUNT,
        "authority_id": _ID,
        "purpose": _CODE,
        "status": _CODE,
        "proposed_by": _STAFF,
        "proposed_at": _TIME,
        "decided_by": _STAFF,
        "decided_at": _TIME,
        "released_at": _TIME,
        "package_sha256": "digest of the released package",
    },
    "financing_lead": {
        "id": _ID,
        "kind": _CODE,
        "fingerprint": "SHA-256 over the kind, the card digest or route and booking ids",
        "origin": "airport code",
        "destination": "airport code",
        "first_day": "a flight date",
        "last_day": "a flight date",
        "persons": _COUNT,
        "bookings": _COUNT,
        "hit_id": _ID,
        "rule_id": _ID,
        "purpose": _CODE,
        "status": _CODE,
        "found_at": _TIME,
        "reviewed_by": _STAFF,
        "reviewed_at": _TIME,
        "review_code": _CODE,
    },
    "financing_lead_record": {"lead_id": _ID, "booking_id": _ID},
    "lead_disclosure": {
        "id": _ID,
        "lead_id": _ID,
        "authority_id": _ID,
        "purpose": _CODE,
        "status": _CODE,
        "proposed_by": _STAFF,
        "proposed_at": _TIME,
        "decided_by": _STAFF,
        "decided_at": _TIME,
        "released_at": _TIME,
        "package_sha256": "digest of the released package",
    },
    "unmasking_approval": {
        "request_id": _ID,
        "judge": _STAFF,
        "judge_role": _CODE,
        "decision": _CODE,
        "decided_at": _TIME,
    },
    "unmasking_request": {
        "id": _ID,
        "requested_at": _TIME,
        "requester": _STAFF,
        "purpose": _CODE,
        "case_reference": "case number",
        "valid_from": _TIME,
        "valid_until": _TIME,
        "level": _CODE,
        "status": _CODE,
    },
    "unmasking_request_booking": {"request_id": _ID, "booking_id": _ID},
    "watchlist_entry": {
        "watchlist_id": _ID,
        "entity_id": "list entry id",
        "first_version": _COUNT,
        "removed_version": _COUNT,
        "fingerprint": "digest of the entry",
    },
}


def covered() -> dict[str, set[str]]:
    """table -> columns the inventory accounts for (personal or not); tables listed as wholly
    non-personal map to an empty set, meaning every column."""
    out: dict[str, set[str]] = {t: set() for t in NOT_PERSONAL_TABLES}
    for t, cols in NOT_PERSONAL.items():
        out.setdefault(t, set()).update(cols)
    for p in PERSONAL:
        out.setdefault(p.table, set()).add(p.column)
    return out


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def render_markdown() -> str:
    """Both inventory tables of docs/data-protection.md, per table then per column (kept in
    sync by a test)."""
    lines = [
        "**Every table**: its retention rule, the article it implements and the code that enforces it.",
        "",
        "| table | personal data | rule | article | enforced by |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(TABLES.values(), key=lambda r: r.table):
        lines.append(_row((f"`{r.table}`", "yes" if r.personal else "no", r.rule, r.article, r.enforced_by)))
    lines += [
        "",
        "**Every column that can hold personal data**: how it is stored, masked and deleted.",
        "",
        "| table.column | holds | protection | at masking (6 months) | at deletion |",
        "|---|---|---|---|---|",
    ]
    for p in sorted(PERSONAL, key=lambda p: (p.table, p.column)):
        lines.append(_row((f"`{p.table}.{p.column}`", p.holds, p.protection, p.masking, p.deletion)))
    lines.append("")
    lines.append(
        "Tables with no personal data at all: "
        + ", ".join(f"`{t}` ({why})" for t, why in sorted(NOT_PERSONAL_TABLES.items()))
        + "."
    )
    return "\n".join(lines) + "\n"
