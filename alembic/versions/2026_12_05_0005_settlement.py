"""settlement: fees and settlement per capture/refund; authorization expiry; unsettled warnings

Revision ID: 0005_settlement
Revises: 0004_gateway
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_settlement"
down_revision: str | None = "0004_gateway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_settlements",
        sa.Column(
            "checkout_action_id",
            sa.String(64),
            nullable=False,
            comment="act_… of the capture/refund",
        ),
        sa.Column("payment_id", sa.String(36), nullable=False),
        sa.Column("action_type", sa.String(32), nullable=False, comment="capture|refund"),
        sa.Column(
            "currency", sa.String(3), nullable=False, comment="the settlement (holding) currency"
        ),
        sa.Column("gross_minor", sa.BigInteger(), nullable=True),
        sa.Column("processing_fees_minor", sa.BigInteger(), nullable=False),
        sa.Column("scheme_fees_minor", sa.BigInteger(), nullable=False),
        sa.Column("interchange_minor", sa.BigInteger(), nullable=False),
        sa.Column("payout_id", sa.String(64), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Checkout.com's processed_on: a later one is a correction",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_action_settlements_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("checkout_action_id", name=op.f("pk_action_settlements")),
    )
    op.create_index(op.f("ix_action_settlements_payment_id"), "action_settlements", ["payment_id"])
    with op.batch_alter_table("payments") as batch:
        batch.add_column(
            sa.Column(
                "authorization_expires_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="when the authorization lapses if not captured (method validity)",
            )
        )
        batch.add_column(sa.Column("expiry_warned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_payments_authorization_expires_at",
        "payments",
        ["status", "authorization_expires_at"],
    )
    with op.batch_alter_table("payment_actions") as batch:
        batch.add_column(
            sa.Column(
                "unsettled_warned_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="when paybridge warned that this capture is still unsettled",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_actions") as batch:
        batch.drop_column("unsettled_warned_at")
    op.drop_index("ix_payments_authorization_expires_at", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("expiry_warned_at")
        batch.drop_column("authorization_expires_at")
    op.drop_index(op.f("ix_action_settlements_payment_id"), table_name="action_settlements")
    op.drop_table("action_settlements")
