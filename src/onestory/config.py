"""Typed settings, read from ``ONESTORY_*`` environment variables.

The demo needs no configuration at all: the data directory defaults to ``./.onestory``, the
database to a SQLite file inside it, and a secret key is generated into it on first use.
In production (``ONESTORY_ENV=production``) a real secret key must be supplied.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLE_SECRET_KEYS = frozenset({"", "change-me", "changeme", "secret", "example", "dev"})
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(Exception):
    """The configuration cannot be used; the message says what to change."""


class OidcProvider(BaseModel):
    """One OpenID Connect provider people may sign in with (a force's IdP, GOV.UK One Login)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Short name used in URLs")
    label: str = Field(description="Shown on the sign-in button")
    issuer: str
    client_id: str
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email"])


class Settings(BaseSettings):
    """Everything OneStory reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ONESTORY_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path(".onestory"))
    database_url: str | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    policies_dir: Path = Field(
        default=Path(__file__).resolve().parents[2] / "policies",
        description="Folder of data-sharing agreements (YAML), checked at start-up",
    )
    ledger_origin: str = Field(
        default="onestory.localhost/ledger",
        description="The ledger's name in its checkpoints (C2SP origin: a schema-less URL)",
    )
    ledger_checkpoint_interval: int = Field(
        default=300, ge=0, description="Seconds between checkpoints the server cuts; 0 = never"
    )
    # Notifications (onestory.notify): where messages to people go.
    notify_channel: Literal["file", "smtp", "govuk_notify"] = Field(
        default="file",
        description="file: written under DATA_DIR/outbox (the demo); smtp; or govuk_notify",
    )
    notify_interval: float = Field(
        default=5.0, ge=0, description="Seconds between delivery runs in the server; 0 = never"
    )
    max_upload_bytes: int = Field(
        default=4 * 1024**3,
        ge=1,
        description="The largest file an agency may send through the upload page or API",
    )
    webhook_interval: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between webhook delivery runs in the server; 0 = never",
    )
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "OneStory <no-reply@onestory.localhost>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    govuk_notify_api_key: SecretStr | None = None
    govuk_notify_base_url: str = "https://api.notifications.service.gov.uk"
    govuk_notify_email_template_id: str | None = None
    govuk_notify_sms_template_id: str | None = None
    # Sign-in through OpenID Connect providers (JSON list in ONESTORY_OIDC_PROVIDERS).
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address people reach OneStory at (for OIDC redirect URIs and links)",
    )
    # The skills passport's verifier accepts this instance's own credentials (its did:web) and,
    # besides, these issuers: did:key identifiers, or paths to DID documents (JSON files).
    passport_trusted_issuers: list[str] = Field(default_factory=list)
    passport_issue_interval: float = Field(
        default=60.0,
        ge=0,
        description="Seconds between runs issuing credentials for new achievements; 0 = never",
    )
    # Insights releases (onestory.insights.sdc): disclosure control of published figures.
    insights_threshold: int = Field(
        default=5, ge=1, description="Published counts under this are suppressed (0 is shown)"
    )
    insights_rounding: int = Field(
        default=0, ge=0, description="Round published counts to a multiple of this; 0 = no rounding"
    )

    @cached_property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'onestory.sqlite3').resolve()}"

    def ensure_data_dir(self) -> Path:
        """Create the data directory if needed, refusing a path that is not a directory."""
        path = self.data_dir
        if path.exists() and not path.is_dir():
            raise ConfigurationError(
                f"data directory {path} exists but is not a directory; "
                "remove it or set ONESTORY_DATA_DIR to another path"
            )
        path.mkdir(parents=True, exist_ok=True)
        return path

    def resolve_secret_key(self) -> str:
        """The secret key for signing cookies and tokens.

        Outside production a missing key is generated once into the data directory so that
        sessions survive a restart of the demo. In production a missing, short or example key
        is refused.
        """
        given = self.secret_key.get_secret_value() if self.secret_key else None
        if self.env == "production":
            if not given or given.strip().lower() in EXAMPLE_SECRET_KEYS:
                raise ConfigurationError(
                    "ONESTORY_SECRET_KEY must be set to a random value in production "
                    '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))")'
                )
            if len(given) < MIN_SECRET_KEY_LENGTH:
                raise ConfigurationError(
                    f"ONESTORY_SECRET_KEY is {len(given)} characters; "
                    f"production needs at least {MIN_SECRET_KEY_LENGTH}"
                )
            return given
        if given:
            return given
        key_file = self.ensure_data_dir() / SECRET_KEY_FILE
        if key_file.exists():
            key = key_file.read_text(encoding="utf-8").strip()
            if len(key) < MIN_SECRET_KEY_LENGTH:
                raise ConfigurationError(
                    f"{key_file} holds a key that is too short; delete it to generate a new one"
                )
            return key
        key = secrets.token_urlsafe(48)
        key_file.write_text(key + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        return key


def get_settings() -> Settings:
    """Read the settings afresh from the environment."""
    return Settings()
