"""orders that travel together: a part's shipment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fulfilment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shipment_id", sqlmodel.sql.sqltypes.AutoString(length=90), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_fulfilment_shipment_id"), ["shipment_id"])


def downgrade() -> None:
    with op.batch_alter_table("fulfilment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfilment_shipment_id"))
        batch_op.drop_column("shipment_id")
