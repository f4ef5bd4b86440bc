"""Settings, validated once at start-up (pydantic-settings), from PNRGUARD_* variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The node's configuration. Secrets are `SecretStr`, so their repr is redacted."""

    model_config = SettingsConfigDict(env_prefix="PNRGUARD_", env_file=None, extra="ignore")

    #: SQLAlchemy URL. The embedded default is a SQLite file under ./var/.
    database_url: SecretStr = Field(default=SecretStr("sqlite:///var/pnrguard.db"))
    #: The local key file (master keys and the node signing key); a KMS replaces it in production.
    key_file: Path = Path("var/keys.json")
    #: The node's name: the origin line of audit checkpoints and its identity towards peers.
    node_name: str = "pnrguard.local/piu"
    #: Retention profile (see docs/data-protection.md).
    retention_profile: str = "eu-2016-681"
    #: Largest message a carrier may push, in bytes.
    max_message_bytes: int = 20 * 1024 * 1024


def load_settings() -> Settings:
    return Settings()
