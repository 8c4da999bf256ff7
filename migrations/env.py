"""Alembic environment: migrates the database named by OMS_DATABASE_URL (or the given URL)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import adapters.tables  # noqa: F401  (registers the tables)
from adapters.db import make_engine
from adapters.settings import Settings

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or Settings().db_url
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
