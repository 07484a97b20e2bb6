"""gateway_requests: actions the Salesforce payment gateway adapter asked for

Revision ID: 0004_gateway
Revises: 0003_links
Create Date: 2026-12-05 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_gateway"
down_revision: str | None = "0003_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_requests",
        sa.Column(
            "idempotency_key_id",
            sa.String(36),
            nullable=False,
            comment="the request's key record",
        ),
        sa.Column("checkout_payment_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, comment="capture|refund|void"),
        sa.Column("checkout_action_id", sa.String(64), nullable=True, comment="set when notified"),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_status", sa.Integer(), nullable=True, comment="the org's HTTP answer"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key_id", name=op.f("pk_gateway_requests")),
    )


def downgrade() -> None:
    op.drop_table("gateway_requests")
