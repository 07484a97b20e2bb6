"""payments: Checkout.com's balances and the amount paybridge requested

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(
            sa.Column(
                "requested_minor",
                sa.BigInteger(),
                nullable=True,
                comment="the amount paybridge asked Checkout.com for (null: created elsewhere)",
            )
        )
        batch.add_column(
            sa.Column(
                "balances",
                sa.JSON(),
                nullable=True,
                comment="Checkout.com's own totals, the furthest observation (data.balances)",
            )
        )
    # Payments paybridge created through its API: their amount is the one it requested.
    op.execute(
        "UPDATE payments SET requested_minor = amount_minor WHERE id IN ("
        "SELECT payment_id FROM payment_actions WHERE source = 'api' "
        "AND type IN ('authorization', 'card_verification'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("balances")
        batch.drop_column("requested_minor")
