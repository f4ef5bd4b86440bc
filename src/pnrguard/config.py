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
    #: The last audit checkpoint this node signed, kept outside the database (the signer
    #: signs only consistent extensions of it; docs/audit.md). Default: beside the key file,
    #: ``<key file>.audit-checkpoint.json``.
    audit_state_file: Path | None = None
    #: The node's name: the origin line of audit checkpoints and its identity towards peers.
    node_name: str = "pnrguard.local/piu"
    #: Retention profile (see docs/data-protection.md): the default is Directive 2016/681 as
    #: C-817/19 reads it (unlinked bookings deleted at 6 months).
    retention_profile: str = "eu-2016-681-cjeu"
    #: Hours a quarantined message keeps its raw bytes (then only reason and digest).
    #: None: the retention profile's value (72).
    quarantine_raw_hours: int | None = Field(default=None, gt=0)
    #: The DPO's own sensitive-term table (CSV, same columns as the packaged one), added to
    #: the packaged table at start (docs/data-protection.md, "The term table").
    sensitive_terms_file: Path | None = None
    #: Largest message a carrier may push, in bytes.
    max_message_bytes: int = 20 * 1024 * 1024
    # --- federation (docs/federation.md) ---
    #: ISO country code of this node's member state (on its identity card).
    node_country: str = "XX"
    #: The node's TLS certificate chain (PEM, leaf first) and key, for mutual TLS with peers.
    tls_cert_file: Path = Path("var/tls/node.pem")
    tls_key_file: Path = Path("var/tls/node.key")
    #: The CA that issued `tls_cert_file` (goes on the identity card peers register).
    tls_ca_file: Path = Path("var/tls/ca.pem")
    #: Where the mutual-TLS peer API listens (`pnrguard peers serve`).
    peer_api_host: str = "127.0.0.1"
    peer_api_port: int = 8443
    #: The public base URL peers call (on the identity card; its authority is checked on
    #: every signed request). Default: https://<peer_api_host>:<peer_api_port>.
    peer_api_url: str | None = None
    #: Largest accepted age of a signed message, in seconds (RFC 9421 created/expires).
    signature_window: int = 300


def audit_state_path(settings: Settings) -> Path:
    """Where the signer keeps its last checkpoint: beside the key store unless configured."""
    if settings.audit_state_file is not None:
        return settings.audit_state_file
    return settings.key_file.with_name(settings.key_file.name + ".audit-checkpoint.json")


def load_settings() -> Settings:
    return Settings()
