"""Runs last: after the whole suite, the databases it used reconcile with no discrepancy; and
the reconciliation does catch what it is meant to catch."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.db import session_scope
from adapters.settings import Settings
from adapters.tables import Order, OrderSettlement, StockMovement
from tests import factories as f
from tests.conftest import uid
from workers.reconcile import CannotReconcile, check_database, check_temporal, reconcile

pytestmark = pytest.mark.integration


def test_the_suites_database_reconciles_with_no_discrepancy(engine: Engine) -> None:
    assert check_database(engine) == []


def test_reconciliation_reports_tampered_stock_lingering_reservations_and_over_refunds(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from adapters.db import make_engine
    from workers.migrate import migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('broken') / 'oms.db'}"
    migrate(url)
    engine = make_engine(url)
    loc, sku = f.location(engine), f.sku(engine)
    f.stock(engine, loc, sku, 10)
    oid = uid("O")
    with session_scope(engine) as s:
        s.add(
            Order(
                order_id=oid,
                channel="app",
                channel_order_id=uid(),
                status="cancelled",
                mode="pickup",
                payment_method="cash",
            )
        )
        s.flush()
        s.add(
            StockMovement(
                key=uid("k-"),
                location_id=loc,
                sku=sku,
                kind="reserve",
                reserved_delta=2,
                order_id=oid,
            )
        )
        s.execute(text("UPDATE stock SET reserved = 2 WHERE location_id = :l"), {"l": loc})
        s.execute(
            text(
                "INSERT INTO refund (refund_id, order_id, amount, reason, status, lines, "
                "created_at, updated_at) VALUES ('R1', :o, 100, '', 'succeeded', '[]', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"o": oid},
        )
        s.execute(text("UPDATE stock SET on_hand = 99 WHERE location_id = :l"), {"l": loc})
        s.add(
            Order(
                order_id=(done := uid("O")),
                channel="app",
                channel_order_id=uid(),
                status="completed",
                mode="pickup",
                payment_method="cash",
            )
        )
        s.flush()
        s.execute(
            text(
                "INSERT INTO payment (payment_id, order_id, method, amount, status, "
                "updated_at) VALUES ('P1', :o, 'cash', 500, 'succeeded', "
                "CURRENT_TIMESTAMP)"
            ),
            {"o": done},
        )
        s.add(
            OrderSettlement(
                order_id=done, model="buy_sell", params={}, fulfiller="location:X", net_amount=400
            )
        )
    problems = check_database(engine)
    assert any("refunded 100 fen of 0 paid" in p for p in problems)
    assert any("2 units still reserved" in p for p in problems)
    assert any(f"stock {loc}/{sku}" in p for p in problems)
    assert any(
        f"order {done} (completed): paid 500 fen but refunded 0 + settled 0" in p for p in problems
    )
    assert any(f"order {done}: settled net 400 fen but entries add up to 0" in p for p in problems)


async def test_reconciliation_reports_an_open_order_without_a_workflow(
    sqlite_engine: Engine, dev_env: WorkflowEnvironment
) -> None:
    oid = uid("O")
    with session_scope(sqlite_engine) as s:
        s.add(
            Order(
                order_id=oid,
                channel="app",
                channel_order_id=uid(),
                status="fulfilling",
                mode="pickup",
                payment_method="cash",
            )
        )
    try:
        problems = await check_temporal(sqlite_engine, dev_env.client)
        assert any(oid in p and "no workflow" in p for p in problems)
    finally:
        with session_scope(sqlite_engine) as s:
            row = s.get(Order, oid)
            assert row is not None
            s.delete(row)


async def test_reconciling_a_database_with_no_tables_says_what_to_do(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(CannotReconcile) as refused:
        await reconcile(settings)
    assert "has no orders' tables" in str(refused.value)
    assert "make dev" in str(refused.value) and "oms migrate" in str(refused.value)


async def test_reconciling_with_the_stack_down_reports_what_was_not_checked(
    tmp_path: Path,
) -> None:
    from workers.dev import free_port
    from workers.migrate import migrate

    url = f"sqlite:///{tmp_path / 'oms.db'}"
    migrate(url)
    closed = free_port()  # nothing listens there
    settings = Settings(
        home=tmp_path,
        database_url=url,
        temporal_address=f"127.0.0.1:{closed}",
        gateway_url=f"http://127.0.0.1:{closed}",
    )
    problems = await reconcile(settings)
    assert len(problems) == 2, problems
    gateway, temporal = problems
    assert gateway.startswith("the payment gateway's bill could not be read")
    assert temporal.startswith(f"Temporal at 127.0.0.1:{closed} could not be reached (")
    assert temporal.endswith("): workflows not checked")
