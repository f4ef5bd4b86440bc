"""Where the test databases are (one place, imported by conftest and by tests that need a
database of their own)."""

from __future__ import annotations

import os

#: PostgreSQL for the storage tests; "skip" runs without it (CI never does).
PG_URL = os.environ.get("PNRGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
