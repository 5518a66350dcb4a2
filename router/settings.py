"""One settings class for the whole application, read from the environment (prefix ``TIERROUTE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules.vocabulary import (
    CUSTOMER_TIER_NAMES,
    CUSTOMER_TIERS,
    MAX_CUSTOMER_TIER,
    MIN_CUSTOMER_TIER,
    SUPPORT_TIER_NAMES,
    SUPPORT_TIERS,
    TAKE_POLICIES,
    TakePolicy,
)

DEFAULT_SECRET = "change-me-in-production"

RULEBOOK_DEFAULT = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"
SLA_POLICIES_DEFAULT = RULEBOOK_DEFAULT.with_name("sla.yaml")
TIER_POLICY_DEFAULT = RULEBOOK_DEFAULT.with_name("tiers.yaml")
ASSIGNMENT_DEFAULT = RULEBOOK_DEFAULT.with_name("assignment.yaml")
#: How often the worker applies the tier policy (``off``: only ``tierroute tiers score --apply`` does).
TierReviewCadence = Literal["monthly", "quarterly", "half-yearly", "yearly", "off"]


class Settings(BaseSettings):
    """Configuration by environment; the plain ``DATABASE_URL``/``REDIS_URL`` of container platforms work too."""

    model_config = SettingsConfigDict(env_prefix="TIERROUTE_", extra="ignore")

    env: str = "development"
    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TIERROUTE_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("TIERROUTE_REDIS_URL", "REDIS_URL"))
    rulebook: Path = RULEBOOK_DEFAULT
    #: SLA policies (targets, calendars, breach actions); reloaded when the file changes and is valid.
    sla_policies: Path = SLA_POLICIES_DEFAULT
    #: The customer tier policy (docs/customer-tiers.md): scoring, thresholds, the order of the scale, costs;
    #: reloaded when the file changes and is valid.
    tier_policy: Path = TIER_POLICY_DEFAULT
    #: Push assignment per tier (docs/assignment.md): strategy, offer timeout, automatic away; reloaded when the
    #: file changes and is valid. The shipped file pulls in every tier.
    assignment: Path = ASSIGNMENT_DEFAULT
    #: How often the worker re-tiers customers by the policy, once per period (``off``: never by itself).
    tier_review_cadence: TierReviewCadence = "quarterly"
    secret_key: str = DEFAULT_SECRET
    # Audit trail (docs/audit.md): keys that live outside the database.
    #: HMAC key of the audit chain (32 characters or more); unset: ``<data dir>/audit-hmac.key``, made on first start.
    audit_key: SecretStr | None = None
    #: Keys the chain was written with before a rotation, still accepted when verifying (a JSON list).
    audit_previous_keys: list[SecretStr] = Field(default_factory=list)
    #: Ed25519 key that signs checkpoints (PEM); unset: ``<data dir>/audit-signing.pem``, made on first use.
    audit_signing_key_file: Path | None = None
    #: Where the worker writes a signed checkpoint every hour; unset: ``<data dir>/checkpoints``.
    audit_checkpoint_dir: Path | None = None
    #: Checkpoint files kept in that folder (the oldest are removed); 0 keeps them all.
    audit_checkpoints_kept: int = Field(default=168, ge=0)

    max_body_bytes: int = 1024 * 1024
    # Email intake.
    max_email_bytes: int = 25 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: A reply or note with files (multipart, UI and API): the whole request at most; each file at most
    #: ``max_attachment_bytes``.
    max_reply_upload_bytes: int = 25 * 1024 * 1024
    #: Addresses the SMTP listener accepts mail for; empty accepts any recipient.
    support_addresses: list[str] = Field(default_factory=list)
    #: A sender may open at most this many tickets per window (mail storms, loops).
    mail_rate_limit: int = 20
    mail_rate_window_seconds: int = 600
    #: Outbound mail server, e.g. ``smtp://127.0.0.1:1025`` or ``smtps://user:pass@host:465``; unset keeps
    #: outbound messages pending (nothing is sent).
    smtp_url: str | None = None
    mail_from: str = "Support <support@tierroute.local>"
    mail_send_attempts: int = 6
    #: Mailboxes to poll, ``imap://user:password@host:port/INBOX`` (``imaps://`` for TLS).
    imap_urls: list[str] = Field(default_factory=list)
    imap_poll_seconds: float = 30.0
    #: A mail threaded to a ticket (``[T-...]`` in the subject, or In-Reply-To/References) from someone other
    #: than its requester, a contact of its customer or an address on its CC list: ``new_ticket`` opens a ticket
    #: of its own, ``hold`` keeps it on the ticket for an agent without adding it to the conversation.
    thread_foreign_senders: Literal["new_ticket", "hold"] = "new_ticket"
    #: Name the SMTP listener greets with.
    smtp_hostname: str = "tierroute.local"
    #: Automatic replies to one address per day, at most (RFC 3834's loop advice).
    auto_replies_per_address_per_day: int = 5
    #: A requester is acknowledged once per ticket; with this on, a tier move (escalation, de-escalation) also
    #: mails them a notice (``templates/messages/tier_notice.txt``), which the daily cap above does not count.
    tier_move_notice: bool = False
    # Self-service (tier 0, docs/self-service.md).
    #: The address requesters reach this installation at (e.g. ``https://support.example.com``): links in mail
    #: start with it. Empty: links are paths (``/self-service/...``), for a mail template that adds the host.
    public_url: str = ""
    #: Articles suggested in a tier-0 acknowledgement (0 turns suggestions off: the static pointers stay).
    self_service_suggestions: int = Field(default=3, ge=0, le=10)
    #: HMAC key of the one-click links (32 characters or more); unset: ``<data dir>/self-service-hmac.key``,
    #: made on first use.
    self_service_key: SecretStr | None = None
    #: A one-click link works this many days after the acknowledgement was written.
    self_service_link_days: int = Field(default=14, ge=1, le=365)
    #: More phrases that mean "that solved it" in a reply, per language (JSON: ``{"en": ["nailed it"]}``);
    #: the defaults (English, German, French, Spanish) are in ``rules/replies.py``.
    self_service_phrases: dict[str, list[str]] = Field(default_factory=dict)
    #: Webhook sources, vendors and subscriptions (YAML, docs/webhooks.md); unset: no webhooks.
    webhooks: Path | None = None
    #: First retry of a failed outbound webhook after this many seconds, doubling up to an hour.
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    default_customer_tier: int = Field(default=3, ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    support_tier_names: list[str] = Field(default_factory=lambda: list(SUPPORT_TIER_NAMES))
    #: The customer tiers' names, the best tier first (tier 1, or tier 4 when the tier policy says ``best: 4``).
    customer_tier_names: list[str] = Field(default_factory=lambda: list(CUSTOMER_TIER_NAMES))
    #: Per support tier (0 to 4), who may take a particular queued ticket instead of claiming the next one:
    #: ``agents`` (who work the tier; the default), ``leads`` (leads and admins only) or ``nobody``.
    take_policy: list[TakePolicy] = Field(default_factory=lambda: [TAKE_POLICIES[0]] * len(SUPPORT_TIERS))

    # Agent web UI (router/web): session cookie and sign-in throttling.
    #: Send the session cookie only over HTTPS; set true wherever the UI is served over TLS.
    session_cookie_secure: bool = False
    session_max_age_seconds: int = 12 * 3600
    #: Failed sign-ins allowed within the window, then 429 (``router/web/signin.py``): per email from one
    #: client address (strict), per email from all addresses together (softer: a stranger's guesses from
    #: one address never lock the agent out), and per address over all emails (password spraying).
    login_failures_per_email_and_ip: int = 5
    login_failures_per_email: int = 50
    login_failures_per_ip: int = 20
    login_window_seconds: int = 900
    #: How often the live-update stream looks at the tier queues (seconds).
    live_poll_seconds: float = 1.0

    # Breach forecast (router/forecast, docs/assignment.md).
    #: How far back claims count towards a tier's handling rate (claims per agent-hour).
    forecast_window_days: float = 7.0
    #: The handling rate assumed for a tier with no claims in the window (claims per agent-hour).
    forecast_default_rate: float = 4.0
    #: Predictions announced (``sla.breach_predicted``, the leads' notice) only for tickets due within this:
    #: each run (every few minutes) reaches further ones as they come near, so nothing floods. My queues'
    #: "predicted breaches in the next 2 h" counts these recorded predictions: keep it at 2 or more.
    forecast_announce_hours: float = 2.0

    # arq: keep routing jobs short so a SIGKILLed worker's lock (timeout + 10 s) frees quickly.
    route_job_timeout: int = 20
    worker_max_jobs: int = 100
    worker_poll_delay: float = 0.05
    worker_health_check_interval: int = 30
    # Tickets still ``new`` this long after intake are re-enqueued by the worker's sweep.
    # Long enough that a busy SQLite worker's normal lag does not trigger thousands of no-op re-enqueues.
    sweep_grace_seconds: int = 60
    #: How often the worker claims due SLA timers (breach detection lag is at most about this).
    sla_tick_seconds: float = 0.2

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        """Accept the ``postgres://`` URLs that hosting platforms hand out."""
        if value is None:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value[len("sqlite:///") :]
        return value

    @field_validator("support_tier_names")
    @classmethod
    def _five_support_tiers(cls, value: list[str]) -> list[str]:
        if len(value) != len(SUPPORT_TIERS):
            raise ValueError("support_tier_names needs exactly five names, for tiers 0 to 4")
        return value

    @field_validator("take_policy")
    @classmethod
    def _a_take_policy_per_tier(cls, value: list[str]) -> list[str]:
        if len(value) != len(SUPPORT_TIERS):
            raise ValueError("take_policy needs exactly five entries, for tiers 0 to 4")
        return value

    @field_validator("customer_tier_names")
    @classmethod
    def _four_customer_tiers(cls, value: list[str]) -> list[str]:
        if len(value) != len(CUSTOMER_TIERS):
            raise ValueError("customer_tier_names needs exactly four names, the best tier first")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.env == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("TIERROUTE_SECRET_KEY must be set in production")
        return self

    @field_validator("audit_key")
    @classmethod
    def _long_audit_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("TIERROUTE_AUDIT_KEY must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("self_service_key")
    @classmethod
    def _long_self_service_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("TIERROUTE_SELF_SERVICE_KEY must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("public_url")
    @classmethod
    def _plain_public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("TIERROUTE_PUBLIC_URL starts with http:// or https:// (e.g. https://support.example.com)")
        return value

    @property
    def self_service_key_file(self) -> Path:
        return (self.data_dir / "self-service-hmac.key").resolve()

    @property
    def audit_key_file(self) -> Path:
        return (self.data_dir / "audit-hmac.key").resolve()

    @property
    def effective_audit_signing_key_file(self) -> Path:
        return (self.audit_signing_key_file or self.data_dir / "audit-signing.pem").resolve()

    @property
    def effective_audit_checkpoint_dir(self) -> Path:
        return (self.audit_checkpoint_dir or self.data_dir / "checkpoints").resolve()

    @property
    def effective_database_url(self) -> str:
        """The configured database, or a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tierroute.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return (self.data_dir / "blobs").resolve()

    @property
    def embedded_redis_path(self) -> Path:
        return (self.data_dir / "redis" / "tierroute.rdb").resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
