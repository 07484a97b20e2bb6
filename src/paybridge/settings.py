"""Configuration from `PAYBRIDGE_*` environment variables (nested groups split by `__`).

Every value has an embedded default so `paybridge serve` runs with no configuration at all;
production refuses placeholder secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import unquote

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a real list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Environment(StrEnum):
    DEVELOPMENT = "development"
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class SalesforceProfile(StrEnum):
    CUSTOM = "custom"
    COMMERCE = "commerce"


class DatabaseSettings(BaseModel):
    pool_size: int = Field(default=20, ge=1)
    pool_timeout_s: float = Field(default=5.0, gt=0)


class CheckoutSettings(BaseModel):
    base_url: str = "https://api.sandbox.checkout.com"
    secret_key: SecretStr = SecretStr("")
    processing_channel_id: str | None = None
    webhook_signature_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    webhook_authorization: SecretStr | None = None
    webhook_url: str | None = Field(
        default=None,
        description="The public URL Checkout.com posts webhooks to (…/v1/webhooks/checkout): "
        "`paybridge checkout webhooks setup` registers it, `paybridge doctor` checks it.",
    )
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=7.0, gt=0)
    retry_budget_s: float = Field(
        default=8.0, gt=0, description="Total time the synchronous path may spend retrying."
    )
    max_attempts: int = Field(default=3, ge=1)

    _split_keys = field_validator("webhook_signature_keys", mode="before")(_split_csv)


class GatewaySettings(BaseModel):
    """Gateway notifications to a Commerce Payments org (the `commerce` profile's adapter)."""

    notification_url: str | None = Field(
        default=None,
        description="The org's payments notification URL: https://<site>/<path>/services/data/"
        "vNN.N/commerce/payments/notify?provider=<PaymentGatewayProvider Id>. Unset: actions "
        "the adapter requested are not notified (their notifications wait, queued).",
    )
    notification_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="HMAC secrets notifications are signed with (one signature each, for "
        "rotation); the org holds one in Paybridge_Gateway_Setting__mdt.",
    )
    timeout_s: float = Field(default=10.0, gt=0)

    _split_secrets = field_validator("notification_secrets", mode="before")(_split_csv)

    @property
    def is_configured(self) -> bool:
        return bool(self.notification_url)


class SalesforceSettings(BaseModel):
    instance_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key_file: Path | None = None
    api_version: str = "66.0"
    profile: SalesforceProfile = SalesforceProfile.CUSTOM
    mapping_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    jwt_audience: str = Field(
        default="https://login.salesforce.com",
        description="JWT bearer `aud`: https://test.salesforce.com for sandboxes.",
    )
    pause_on_limit_s: float = Field(
        default=300.0, gt=0, description="Syncing pauses this long after REQUEST_LIMIT_EXCEEDED."
    )
    log_levels: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["INFO", "WARN", "ERROR"],
        description="Integration log levels mirrored to Salesforce (all go to structured logs).",
    )
    log_throttle_ratio: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Above this share of the daily API allocation, log writes are postponed.",
    )
    log_sweep_interval_s: float = Field(
        default=60.0, gt=0, description="How often logs without a payment sync are written."
    )
    batch_threshold: int = Field(
        default=2,
        ge=1,
        description="Payments in a sync batch from which they are written as sObject "
        "Collections inside Composite requests (up to 1,000 records per API call) rather "
        "than one Composite request per payment.",
    )

    gateway: GatewaySettings = Field(default_factory=GatewaySettings)

    _split_levels = field_validator("log_levels", mode="before")(_split_csv)

    @property
    def is_configured(self) -> bool:
        return bool(self.instance_url)


class WorkerSettings(BaseModel):
    embedded: bool = True
    poll_interval_s: float = Field(default=0.5, gt=0)
    batch_size: int = Field(default=50, ge=1)
    concurrency: int = Field(
        default=8,
        ge=1,
        description="Transactions a worker applies a batch of webhook events in, side by side "
        "(a payment's events all in one of them).",
    )
    lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A claimed task is re-claimable after this unless its worker renews it "
        "(it does, every third of it, while the task runs).",
    )
    max_attempts: int = Field(
        default=12, ge=1, description="Attempts before a task is dead-lettered."
    )
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=600.0, gt=0)
    outage_backoff_max_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait between tries while a provider or the database is away "
        "(outages never spend a task's attempts).",
    )
    salesforce_batch_size: int = Field(
        default=200,
        ge=1,
        description="Payment syncs a worker writes together (sObject Collections take 200 "
        "records per call), so a burst costs few API calls.",
    )
    salesforce_batches_in_flight: int = Field(
        default=4,
        ge=1,
        description="Salesforce sync batches a worker writes at once (each waits mostly on "
        "Salesforce; a payment is never in two at once).",
    )
    salesforce_linger_s: float = Field(
        default=0.2,
        ge=0,
        description="After a Salesforce batch that was not full, wait this long before the "
        "next, so batches written side by side stay large (fewer API calls).",
    )
    salesforce_busy_linger_s: float = Field(
        default=1.0,
        ge=0,
        description="After a Salesforce batch of at least `salesforce_busy_from` syncs that "
        "was not full (traffic is flowing), wait about as long as that traffic takes to fill "
        "a batch, at most this long: one API call then carries it. Bounds the extra "
        "propagation delay under load.",
    )
    salesforce_busy_from: int = Field(
        default=5,
        ge=0,
        description="Batch size from which `salesforce_busy_linger_s` applies (0: never).",
    )


class JwtSettings(BaseModel):
    """Salesforce-minted JWTs (External Credential, JWT protocol) as an alternative to API keys."""

    certificate_file: Path | None = Field(
        default=None, description="PEM certificate (or public key) exported from Salesforce."
    )
    issuer: str | None = None
    audience: str | None = None
    algorithms: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["RS256", "RS512"])
    max_lifetime_s: int = Field(
        default=300, ge=1, description="Tokens valid for longer than this (exp - iat) are refused."
    )
    leeway_s: int = Field(default=30, ge=0, description="Clock skew tolerated on exp/iat/nbf.")

    _split_algorithms = field_validator("algorithms", mode="before")(_split_csv)

    @property
    def is_configured(self) -> bool:
        return self.certificate_file is not None


class IdempotencySettings(BaseModel):
    retention_days: int = Field(default=7, ge=1)
    lock_timeout_s: float = Field(default=30.0, gt=0)


class SettlementSettings(BaseModel):
    """Fees and settlement from Checkout.com's financial actions (DESIGN §6b)."""

    daily_sweep: bool = Field(
        default=True, description="Ask every day for the previous day's financial actions."
    )
    sweep_hour_utc: int = Field(
        default=1, ge=0, le=23, description="Hour (UTC) the daily sweep of yesterday starts."
    )
    unsettled_after_days: int = Field(
        default=3,
        ge=1,
        description="A capture still without settlement this many days after it succeeded "
        "becomes a WARN integration log and counts in `paybridge_unsettled_captures`.",
    )
    lookback_days: int = Field(
        default=14,
        ge=1,
        description="Each day's sweep also asks again about captures and refunds of this many "
        "days before it that are still unsettled.",
    )
    sweep_batch: int = Field(
        default=50, ge=1, le=1000, description="Payments asked about per sweep task run."
    )


class AuthorizationSettings(BaseModel):
    """How long authorizations last, and the warning before an uncaptured one expires."""

    default_validity_h: float = Field(
        default=168,
        gt=0,
        description="Validity of an authorization when the markets file names none for its "
        "method (Checkout.com's default for cards: 7 days).",
    )
    expiry_warning_h: float = Field(
        default=24,
        ge=0,
        description="An authorization still uncaptured this many hours before it expires "
        "becomes a WARN integration log (mirrored to Salesforce) and counts in "
        "`paybridge_expiring_authorizations`. 0: no warning.",
    )
    check_every_s: float = Field(
        default=900, gt=0, description="How often expiries are stamped and looked at."
    )


class Settings(BaseSettings):
    """The whole configuration; `create_app` and the CLI are its only readers."""

    model_config = SettingsConfigDict(
        env_prefix="PAYBRIDGE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./paybridge.db"
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    markets_file: Path | None = None
    field_map_file: Path | None = None
    log_level: str = "INFO"
    max_body_bytes: int = 256 * 1024
    max_webhook_body_bytes: int = 1024 * 1024
    inbox_retention_days: int = Field(
        default=30, ge=2, description="Handled webhooks are kept this long (≥ the 30 h retries)."
    )
    payment_link_expiry_check_s: float = Field(
        default=900,
        gt=0,
        description="How often Checkout.com is asked about Payment Links still Active past "
        "their expiry.",
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    checkout: CheckoutSettings = Field(default_factory=CheckoutSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    idempotency: IdempotencySettings = Field(default_factory=IdempotencySettings)
    jwt: JwtSettings = Field(default_factory=JwtSettings)
    settlement: SettlementSettings = Field(default_factory=SettlementSettings)
    authorizations: AuthorizationSettings = Field(default_factory=AuthorizationSettings)

    _split_api_keys = field_validator("api_keys", mode="before")(_split_csv)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_values(self) -> list[str]:
        """Every configured secret in clear (keys, signature keys, the database password):
        what log redaction masks wherever it appears, whatever its shape."""
        found = [value.get_secret_value() for value in _secrets_in(self)]
        password = _url_password(self.database_url)
        return [value for value in [*found, password] if value]

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        problems: list[str] = []
        secret = self.checkout.secret_key.get_secret_value()
        if not secret.startswith("sk_") or "change" in secret.lower():
            problems.append("PAYBRIDGE_CHECKOUT__SECRET_KEY must be a real sk_… key")
        if not self.api_keys:
            problems.append("PAYBRIDGE_API_KEYS must name at least one key")
        if any(len(key.get_secret_value()) < 24 for key in self.api_keys):
            problems.append("PAYBRIDGE_API_KEYS entries must be at least 24 characters")
        if not self.checkout.webhook_signature_keys:
            problems.append("PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS must be set")
        if self.jwt.is_configured and not (self.jwt.issuer and self.jwt.audience):
            problems.append("PAYBRIDGE_JWT__ISSUER and __AUDIENCE must be set with a certificate")
        if self.is_sqlite:
            problems.append("PAYBRIDGE_DATABASE_URL must be PostgreSQL in production")
        gateway = self.salesforce.gateway
        if gateway.is_configured and (
            not gateway.notification_secrets
            or any(len(key.get_secret_value()) < 32 for key in gateway.notification_secrets)
        ):
            problems.append(
                "PAYBRIDGE_SALESFORCE__GATEWAY__NOTIFICATION_SECRETS must hold secrets of at "
                "least 32 characters when a notification URL is set"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _secrets_in(node: object) -> Iterator[SecretStr]:
    if isinstance(node, SecretStr):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _secrets_in(getattr(node, name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _secrets_in(item)


def _url_password(url: str) -> str | None:
    """The password of a `scheme://user:password@host/db` URL, without parsing the rest."""
    _, _, rest = url.partition("://")
    credentials, at, _ = rest.rpartition("@")
    if not at or ":" not in credentials:
        return None
    return unquote(credentials.split(":", 1)[1])
