"""A retention rule for every table, as data (issue 10, item 6: "every table has a rule").

Why data: a DPO or a supervisory authority reads one list; `docs/data-protection.md` shows
it, and `tests/lifecycle/test_lifecycle_table_rules.py` walks the migrated schema and fails
when a table has no rule here, so a new table cannot be added without deciding how long it
lives. `enforced_by` names the code that applies the rule; for every table that can hold
personal data it is the retention run, the booking's crypto-shredding, or a purge on a
shorter clock (the gateway's housekeeping, sessions' expiry).

Pure: names and text only (no import from `store/`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TABLE_RULES", "TableRule"]


@dataclass(frozen=True, slots=True)
class TableRule:
    """How long rows of one table live, why, and which code enforces it."""

    table: str
    personal: bool  # can hold personal data (of travellers, or of staff for accounts)
    rule: str
    article: str
    enforced_by: str


_RUN = "retention run"
_SHRED = "retention run (crypto-shredding with the booking)"
_GATEWAY = "gateway housekeeping (`pnrguard worker`) and the retention run"
_NONE = "no personal data: kept"

TABLE_RULES: dict[str, TableRule] = {
    r.table: r
    for r in (
        # --- bookings and their keys --------------------------------------------------------
        TableRule(
            "booking", True,
            "identity masked at 6 months; deleted at 6 months without an objective link "
            "(default profile), else at 5 years; a tombstone (id, state, dates, flight) stays "
            "so audit entries resolve",
            "Dir. 2016/681 Art. 12(1)-(4); C-817/19 para. 255-262", _SHRED,
        ),
        TableRule("booking_version", True, "deleted with the booking", "Art. 12(4)", _SHRED),
        TableRule("booking_key", True, "identity key sealed at 6 months, all keys destroyed at "
                  "deletion", "Art. 12(3), 12(4)", _SHRED),
        TableRule("sealed_key", True, "destroyed at deletion", "Art. 12(4)", _SHRED),
        TableRule("message", False, "receipt metadata (digest, sender code, counts): kept as long "
                  "as the audit log", "Art. 13(6) accountability", _NONE),
        TableRule(
            "quarantine", True,
            "raw bytes at most 72 hours after receipt (setting), then only reason and digest; "
            "the entry is deleted after 30 days",
            "Art. 6(2), 13(4) (it holds data the filter deletes)", _RUN,
        ),
        TableRule("node_secret", False, "node keys: for the node's life", "-", _NONE),
        TableRule("node_marker", False, "facts about the database (demo marker)", "-", _NONE),
        TableRule("exchange_result", False, "which bookings a peer's request found (ids): deleted "
                  "with the booking or the request", "Art. 12(4)", _SHRED),
        TableRule("account_change", False, "staff account changes and their approvals: kept as "
                  "long as the audit log", "LED Art. 25", _NONE),
        TableRule("login_throttle", False, "failed-login counters (digests): cleared when the lock "
                  "ends", "security of processing (LED Art. 29)", _NONE),

        TableRule("search_token", True, "blind-index tokens: deleted at masking (a masked name "
                  "can no longer be searched or linked) and with the booking", "Art. 12(2), 12(4)",
                  _SHRED),
        TableRule("traveller_member", True, "which records are one traveller: deleted with the "
                  "booking", "Art. 12(4)", _SHRED),
        TableRule("hit_source", True, "a second source of a hit: deleted with the booking",
                  "Art. 12(4)", _SHRED),
        TableRule("exchange_message_booking", False, "which bookings an exchange copy holds (ids): "
                  "deleted with the copy", "Art. 12(4)", _SHRED),
        TableRule("sensitive_deletion", False, "deletion counts per carrier and day: kept as long "
                  "as the statistics (Art. 20)", "Art. 13(4), 20", _NONE),
        TableRule("carrier_quality", False, "data-quality counts per carrier and day: kept as long "
                  "as the statistics", "Art. 8(3) compliance", _NONE),
        TableRule("audit_cosignature", False, "peers' cosignatures of our checkpoints: kept as long "
                  "as the audit log", "Art. 13(6) accountability", _NONE),
        TableRule("witness_state", False, "the last checkpoint cosigned per peer log: for the "
                  "node's life", "Art. 13(6) accountability", _NONE),
        TableRule("witness_evidence", False, "refused checkpoint submissions: kept as long as the "
                  "audit log", "Art. 13(6) accountability", _NONE),

        # --- carrier gateway ----------------------------------------------------------------
        TableRule(
            "gateway_inbox", True,
            "raw interchange until processed; a failed push keeps it at most 72 hours "
            "(profile), then becomes `done/expired`; done rows (no payload) go after the "
            "replay window",
            "Art. 6(2), 8", _GATEWAY,
        ),
        TableRule("gateway_quarantine", False, "refused pushes (codes, sizes, digests): 30 days",
                  "-", _GATEWAY),
        TableRule("carrier_credential", False, "token digests: until revoked and removed", "-", _NONE),
        # --- screening ----------------------------------------------------------------------
        TableRule("watchlist", False, "list metadata: for the list's life", "-", _NONE),
        TableRule("watchlist_version", False, "version metadata", "-", _NONE),
        TableRule("watchlist_entry", True, "list entries (encrypted): replaced or removed by the "
                  "next import of their list", "Art. 6(3)(b)", "watchlist import"),
        TableRule("criteria_rule", False, "pre-determined criteria: for their validity", "Art. 6(4)",
                  _NONE),
        TableRule("hit", True, "the person digest goes with the booking; free text under the "
                  "booking's keys", "Art. 6(5), 12", _SHRED),
        TableRule("hit_note", True, "notes and reopening reasons: sealed at masking, erased with "
                  "the booking", "Art. 6(5), 12", _SHRED),
        TableRule("suppression", True, "identity digests retired with the booking", "Art. 6(5), 12",
                  _SHRED),
        # --- workspace and disclosure -------------------------------------------------------
        TableRule("competent_authority", False, "the Art. 7 list", "Art. 7", _NONE),
        TableRule("authority_request", True, "request texts under the keys of the bookings they "
                  "concern", "Art. 6(2)(b), 12", _SHRED),
        TableRule("request_result", False, "booking ids found (opaque)", "Art. 13(6)", _NONE),
        TableRule("transmission", True, "justifications under the booking's keys", "Art. 6(2)(b), 12",
                  _SHRED),
        TableRule("retention_hold", False, "case references (opaque)", "C-817/19 para. 262", _NONE),
        TableRule("unmasking_request", True, "reasons under the keys of the bookings named",
                  "Art. 12(3)", _SHRED),
        TableRule("unmasking_request_booking", False, "booking ids (opaque)", "Art. 12(3)", _NONE),
        TableRule("unmasking_approval", True, "judicial reasons: as the request", "Art. 12(3)", _SHRED),
        TableRule("dpo_notification", False, "ids and counts", "Art. 12(3)", _NONE),
        TableRule(
            "rectification_request", True,
            "deleted once the booking it names is deleted (the decision reason may quote it)",
            "LED Art. 16, 17", _RUN,
        ),
        TableRule("subject_request", False, "travellers' requests register (no content): as long "
                  "as the audit log", "LED Art. 14-17; Art. 13(6)", _RUN),
        TableRule("retention_run", False, "run counts: as long as the audit log", "Art. 13(6)", _RUN),
        # --- audit --------------------------------------------------------------------------
        TableRule("audit_entry", False, "ids and counts only: the profile's audit_log_months (5 "
                  "years), pruned at a signed checkpoint", "Art. 13(6)", _RUN),
        TableRule("audit_checkpoint", False, "signed tree heads: kept", "Art. 13(6)", _NONE),
        # --- accounts -----------------------------------------------------------------------
        TableRule("account", True, "staff accounts: until removed by an administrator", "LED Art. 25",
                  "administrator"),
        TableRule("web_session", True, "token digests of staff sessions: deleted when expired",
                  "-", _RUN),
        # --- exchange with peers ------------------------------------------------------------
        TableRule("peer", False, "peer identities", "-", _NONE),
        TableRule("exchange_message", True, "payload copies under keys the bookings' deletion "
                  "destroys", "Art. 9, 12", _SHRED),
        TableRule("exchange_permission", False, "H2 permissions (ids)", "Art. 9", _NONE),
        TableRule("replay_nonce", False, "nonces: minutes", "-", "peer API"),
    )
}  # fmt: skip
