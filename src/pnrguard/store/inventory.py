"""The personal-data inventory: every table and column, as data, with its protection.

Why data and not prose: a new feature that adds a column holding a name, a reason an
analyst typed about a person, or a copy of a booking must say here how that column is
protected, masked (Art. 12(2)) and deleted (Art. 12(1), 13), or the schema test
(`tests/storage/test_inventory.py`) fails on the migrated schema of SQLite and PostgreSQL.
The same data renders the table in docs/data-protection.md (`render_markdown`), and a test
keeps the two in sync. Every column is in exactly one of `PERSONAL` (can hold personal data)
or `NOT_PERSONAL` (with the reason it holds none); a table wholly without personal data is
listed in `NOT_PERSONAL_TABLES`.

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
    "PersonalColumn",
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


_SHRED = "shredded with the booking (its keys are destroyed)"
_SEALED = "identity key sealed: unreadable without a decided judicial unmasking (Art. 12(3))"

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
        "booking",
        "travellers",
        "traveller: number of travellers (Art. 12(2)(a))",
        "clear count, written only at masking for the Art. 20 statistics",
        "kept as an aggregate input only; never shown per booking",
        "kept on the tombstone (a count, no person)",
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
        "clear while active",
        "sealed: AES-GCM under the booking's identity key",
        "erased (NULL); the key is destroyed too",
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
        "clear",
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
        "clear",
        "kept (the request is the legal basis of what it found)",
        "erased when a booking it found is deleted",
    ),
    PersonalColumn(
        "authority_request",
        "decision_reason",
        "traveller: the PIU's reasoning",
        "clear",
        "kept",
        "erased when a booking it found is deleted",
    ),
    PersonalColumn(
        "transmission",
        "justification",
        "traveller: why the booking is disclosed",
        "clear while active",
        "sealed: AES-GCM under the booking's identity key",
        "erased",
    ),
    PersonalColumn(
        "transmission",
        "decision_reason",
        "traveller: the supervisor's reasoning",
        "clear while active",
        "sealed: AES-GCM under the booking's identity key",
        "erased",
    ),
    PersonalColumn(
        "rectification_request",
        "decision_reason",
        "traveller: the DPO's reasoning",
        "clear while active",
        "sealed: AES-GCM under the booking's identity key",
        "erased",
    ),
    PersonalColumn(
        "unmasking_request",
        "reason",
        "traveller: the requester's reasoning",
        "clear",
        "kept (the judge decides on it)",
        "erased when every booking it names is deleted",
    ),
    PersonalColumn(
        "unmasking_approval",
        "reason",
        "traveller: the judge's reasoning",
        "clear",
        "kept",
        "erased when every booking of its request is deleted",
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
        "clear while the copy is live",
        "sealed: AES-GCM under the copy's message key, itself sealed",
        "erased with the copy",
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

#: Tables that hold no personal data at all (reason).
NOT_PERSONAL_TABLES: dict[str, str] = {
    "alembic_version": "schema version",
    "account_change": "staff account changes awaiting a second person: ids, roles, dates, link digests",
    "audit_checkpoint": "signed tree heads: hashes and counts",
    "audit_cosignature": "peers' cosignatures of our checkpoints: signatures over hashes and sizes",
    "carrier_quality": "data-quality counters per carrier, day and metric: numbers only",
    "carrier_credential": "carrier API tokens (hashes) and sender codes",
    "competent_authority": "authorities: public bodies",
    "criteria_rule": "pre-determined criteria: rules, never persons (Art. 6(4))",
    "login_throttle": "failed-login counters keyed by SHA-256 of a username or an address",
    "node_marker": "facts about the database itself (the demo marker)",
    "node_secret": "node-wide keys, wrapped by the key store",
    "peer": "peer PIUs: public certificates and keys",
    "replay_nonce": "signature nonces",
    "retention_run": "run counts",
    "subject_request": "travellers' request register: kind, dates, staff, counts, outcome; no name",
    "sensitive_deletion": "deletions per carrier, day and category: counts, small ones shown as <5",
    "watchlist": "list names and formats",
    "watchlist_version": "import counts and file digests",
    "witness_evidence": "refused checkpoint submissions of peers: signed notes over hashes and sizes",
    "witness_state": "the last checkpoint cosigned per peer log: origin, size, root hash",
}

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
    },
    "search_token": {"field": _CODE, "booking_id": _ID, "traveller_ref": "ref within the booking"},
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


def render_markdown() -> str:
    """The inventory table of docs/data-protection.md (kept in sync by a test)."""
    lines = [
        "| table.column | holds | protection | at masking (6 months) | at deletion |",
        "|---|---|---|---|---|",
    ]
    for p in sorted(PERSONAL, key=lambda p: (p.table, p.column)):
        cells = (f"`{p.table}.{p.column}`", p.holds, p.protection, p.masking, p.deletion)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines.append("")
    lines.append(
        "Tables with no personal data at all: "
        + ", ".join(f"`{t}` ({why})" for t, why in sorted(NOT_PERSONAL_TABLES.items()))
        + "."
    )
    return "\n".join(lines) + "\n"
