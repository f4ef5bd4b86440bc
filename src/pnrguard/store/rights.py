"""The data-subject request register (LED Art. 14-17, Directive 2016/681 Art. 13(1)):
one row per request a traveller made (access, rectification, erasure, restriction), how it
was answered and when. Accountability, not content: no name, birth date, field value or
free text is stored (the audit log holds which booking ids each answer touched, under the
request's id as reference). Kept as long as the audit log (the profile's
`audit_log_months`), then deleted by the retention run.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Table

from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = ["REQUEST_KINDS", "REQUEST_STATUSES", "subject_request"]

REQUEST_KINDS = ("access", "rectification", "erasure", "restriction")
REQUEST_STATUSES = ("answered", "refused")

subject_request = Table(
    "subject_request",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("status", String(8), nullable=False),
    Column("answered_at", UTCDateTime(), nullable=False),
    # How many bookings the answer found or acted on.
    Column("bookings", Integer, nullable=False),
    # A short code: "report", "none_found", "erased", "restricted", "linked", ...
    Column("outcome", String(16), nullable=False),
    CheckConstraint(in_values("kind", REQUEST_KINDS), name="kind"),
    CheckConstraint(in_values("status", REQUEST_STATUSES), name="status"),
    Index("ix_subject_request_received_at", "received_at"),
)
