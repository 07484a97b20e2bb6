"""payment_links: Checkout.com Payment Links created for Salesforce Orders

Revision ID: 0003_links
Revises: 0002
Create Date: 2026-12-05 17:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_links"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_links",
        sa.Column("id", sa.String(36), nullable=False, comment="paybridge's own link record id"),
        sa.Column("checkout_link_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(18), nullable=False),
        sa.Column("account_id", sa.String(18), nullable=True),
        sa.Column("reference", sa.String(50), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, comment="Active|Paid|Expired"),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkout_payment_id", sa.String(64), nullable=True),
        sa.Column("market", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_links")),
        sa.UniqueConstraint("checkout_link_id", name=op.f("uq_payment_links_checkout_link_id")),
    )
    op.create_index(op.f("ix_payment_links_order_id"), "payment_links", ["order_id"])
    op.create_index(op.f("ix_payment_links_reference"), "payment_links", ["reference"])
    op.create_index("ix_payment_links_due", "payment_links", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_links_due", table_name="payment_links")
    op.drop_index("ix_payment_links_reference", table_name="payment_links")
    op.drop_index("ix_payment_links_order_id", table_name="payment_links")
    op.drop_table("payment_links")
