"""The schema as SQLAlchemy Core tables; Alembic migrations are kept equal to it (tested)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from paybridge.persistence.types import BigIntPK, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(36), primary_key=True, comment="paybridge's own payment record id"),
    Column("checkout_payment_id", String(64), nullable=False, unique=True),
    Column("order_id", String(18), nullable=True, index=True),
    Column("account_id", String(18), nullable=True),
    Column("reference", String(50), nullable=True, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column(
        "requested_minor",
        BigInteger,
        nullable=True,
        comment="the amount paybridge asked Checkout.com for (null: created elsewhere)",
    ),
    Column(
        "balances",
        JSON,
        nullable=True,
        comment="Checkout.com's own totals, the furthest observation (data.balances)",
    ),
    Column("authorized_minor", BigInteger, nullable=False, server_default="0"),
    Column("captured_minor", BigInteger, nullable=False, server_default="0"),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("status", String(32), nullable=False),
    Column("approved", Boolean, nullable=True),
    Column("response_code", String(16), nullable=True),
    Column("response_summary", String(255), nullable=True),
    Column("redirect_url", Text, nullable=True),
    Column("payment_method", String(32), nullable=True),
    Column("card_last4", String(4), nullable=True),
    Column("market", String(64), nullable=True),
    Column("metadata", JSON, nullable=False, default=dict),
    Column("disputed", Boolean, nullable=False, server_default=text("false")),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("synced_version", Integer, nullable=False, server_default="0"),
    Column("last_synced_at", UTCDateTime, nullable=True),
    Column("last_sync_error", Text, nullable=True),
    Column("last_event_at", UTCDateTime, nullable=True),
    Column(
        "authorization_expires_at",
        UTCDateTime,
        nullable=True,
        comment="when the authorization lapses if not captured (method validity)",
    ),
    Column("expiry_warned_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_payments_authorization_expires_at", "status", "authorization_expires_at"),
)

payment_actions = Table(
    "payment_actions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=False, index=True),
    Column(
        "checkout_action_id",
        String(64),
        nullable=False,
        unique=True,
        comment="Checkout.com act_… id, or the event id for facts that carry none",
    ),
    Column("type", String(24), nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("final", Boolean, nullable=True),
    Column("response_code", String(16), nullable=True),
    Column("response_summary", String(255), nullable=True),
    Column("reference", String(50), nullable=True),
    Column("source", String(16), nullable=False),
    Column("idempotency_key_id", String(36), nullable=True),
    Column("requested_at", UTCDateTime, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column(
        "unsettled_warned_at",
        UTCDateTime,
        nullable=True,
        comment="when paybridge warned that this capture is still unsettled",
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

action_settlements = Table(
    "action_settlements",
    metadata,
    Column(
        "checkout_action_id", String(64), primary_key=True, comment="act_… of the capture/refund"
    ),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=False, index=True),
    Column("action_type", String(32), nullable=False, comment="capture|refund"),
    Column("currency", String(3), nullable=False, comment="the settlement (holding) currency"),
    Column("gross_minor", BigInteger, nullable=True),
    Column("processing_fees_minor", BigInteger, nullable=False),
    Column("scheme_fees_minor", BigInteger, nullable=False),
    Column("interchange_minor", BigInteger, nullable=False),
    Column("payout_id", String(64), nullable=True),
    Column("settled_on", Date, nullable=False),
    Column(
        "processed_at",
        UTCDateTime,
        nullable=False,
        comment="Checkout.com's processed_on: a later one is a correction",
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("operation", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("request_payload", JSON, nullable=True),
    Column("recovery_point", String(32), nullable=False),
    Column("locked_at", UTCDateTime, nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("response_body", JSON, nullable=True),
    Column("payment_id", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("type", String(64), nullable=True),
    Column("subject_id", String(64), nullable=True, index=True),
    Column("raw_body", LargeBinary, nullable=False),
    Column("signature_verified", Boolean, nullable=False),
    Column(
        "status", String(16), nullable=False, comment="received|handled|ignored|quarantined|failed"
    ),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("handled_at", UTCDateTime, nullable=True),
    UniqueConstraint("source", "event_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("dedupe_key", String(200), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, comment="pending|running|done|dead"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    # At most one *pending* row per dedupe key: newer changes coalesce into it, while a
    # running row (which may have read older state) leaves room for one new pending row.
    Index(
        "uq_outbox_pending_dedupe_key",
        "dedupe_key",
        unique=True,
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
)

integration_logs = Table(
    "integration_logs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("payment_id", String(36), nullable=True, index=True),
    Column("checkout_payment_id", String(64), nullable=True),
    Column("level", String(8), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=True),
    Column("correlation_id", String(64), nullable=True),
    Column("cko_request_id", String(64), nullable=True),
    Column("cko_event_id", String(128), nullable=True),
    Column("cko_action_id", String(64), nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("summary", JSON, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("sync_status", String(16), nullable=False, comment="pending|synced|skipped"),
    Column("synced_at", UTCDateTime, nullable=True),
    Index("ix_integration_logs_pending", "sync_status", "occurred_at"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", String(64), primary_key=True, comment="Checkout.com dsp_… id"),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=True, index=True),
    Column("checkout_payment_id", String(64), nullable=True, index=True),
    Column("payment_action_id", String(64), nullable=True),
    Column("payment_reference", String(50), nullable=True),
    Column("category", String(64), nullable=True),
    Column("reason_code", String(32), nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("status", String(48), nullable=False),
    Column("resolved_reason", String(64), nullable=True),
    Column("evidence_required_by", UTCDateTime, nullable=True),
    Column("received_on", UTCDateTime, nullable=True),
    Column("last_update", UTCDateTime, nullable=True),
    Column("relevant_evidence", JSON, nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

payment_links = Table(
    "payment_links",
    metadata,
    Column("id", String(36), primary_key=True, comment="paybridge's own link record id"),
    Column("checkout_link_id", String(64), nullable=False, unique=True),
    Column("order_id", String(18), nullable=False, index=True),
    Column("account_id", String(18), nullable=True),
    Column("reference", String(50), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, comment="Active|Paid|Expired"),
    Column("url", Text, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("checkout_payment_id", String(64), nullable=True),
    Column("market", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_payment_links_due", "status", "expires_at"),
)

# Actions requested by the Salesforce payment gateway adapter (`Paybridge-Origin` header):
# once Checkout.com settles one, the org gets a signed gateway notification, exactly once.
gateway_requests = Table(
    "gateway_requests",
    metadata,
    Column("idempotency_key_id", String(36), primary_key=True, comment="the request's key record"),
    Column("checkout_payment_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False, comment="capture|refund|void"),
    Column("checkout_action_id", String(64), nullable=True, comment="set when notified"),
    Column("notified_at", UTCDateTime, nullable=True),
    Column("notified_status", Integer, nullable=True, comment="the org's HTTP answer"),
    Column("created_at", UTCDateTime, nullable=False),
)
