"""channel events: webhooks, the outbox and its deliveries, and sold-out state

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "channelwebhook",
        sa.Column("channel", S(length=64), nullable=False),
        sa.Column("url", S(length=500), nullable=False),
        sa.Column("secret", S(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )
    op.create_table(
        "channelevent",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", S(length=40), nullable=False),
        sa.Column("channel", S(length=64), nullable=False),
        sa.Column("type", S(length=40), nullable=False),
        sa.Column("order_id", S(length=64), nullable=True),
        sa.Column("stream", S(length=200), nullable=False),
        sa.Column("data", S(), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("status", S(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", T(), nullable=True),
        sa.Column("next_attempt_at", T(), nullable=True),
        sa.Column("delivered_at", T(), nullable=True),
        sa.Column("last_error", S(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("channelevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channelevent_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_channelevent_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channelevent_status"), ["status"], unique=False)
    op.create_table(
        "stocktouch",
        sa.Column("location_id", S(length=64), nullable=False),
        sa.Column("sku", S(length=64), nullable=False),
        sa.Column("touched_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "sku"),
    )
    op.create_table(
        "stockstate",
        sa.Column("location_id", S(length=64), nullable=False),
        sa.Column("sku", S(length=64), nullable=False),
        sa.Column("sold_out", sa.Boolean(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "sku"),
    )


def downgrade() -> None:
    op.drop_table("stockstate")
    op.drop_table("stocktouch")
    with op.batch_alter_table("channelevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channelevent_status"))
        batch_op.drop_index(batch_op.f("ix_channelevent_order_id"))
        batch_op.drop_index(batch_op.f("ix_channelevent_channel"))
    op.drop_table("channelevent")
    op.drop_table("channelwebhook")
