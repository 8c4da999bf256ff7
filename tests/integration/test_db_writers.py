"""Writers in one process take turns on SQLite at `session_scope`, and do not on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from adapters.db import session_scope

pytestmark = pytest.mark.integration


def second_writer_waits(engine: Engine) -> tuple[bool, bool]:
    """Whether a second writer got into its session while the first held its transaction open,
    and whether it got in once the first had committed."""
    first_in, release, second_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with session_scope(engine) as s:
            s.execute(text("SELECT 1"))  # the transaction begins (on SQLite: BEGIN IMMEDIATE)
            first_in.set()
            release.wait(10)

    def second() -> None:
        with session_scope(engine) as s:
            second_in.set()
            s.execute(text("SELECT 1"))

    a = threading.Thread(target=first)
    a.start()
    assert first_in.wait(10)
    b = threading.Thread(target=second)
    b.start()
    while_held = second_in.wait(0.3)
    release.set()
    after = second_in.wait(10)
    a.join(10)
    b.join(10)
    return while_held, after


def test_on_sqlite_a_second_writer_waits_for_the_first_to_commit(sqlite_engine: Engine) -> None:
    assert second_writer_waits(sqlite_engine) == (False, True)


@pytest.mark.postgres
def test_on_postgresql_writers_do_not_wait_for_each_other(pg_engine: Engine) -> None:
    assert second_writer_waits(pg_engine) == (True, True)
