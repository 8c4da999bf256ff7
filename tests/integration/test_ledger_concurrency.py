"""Points and stored value under concurrency, on SQLite and PostgreSQL: no lost update, never
below zero, every entry applied once, and the balance always equals the sum of its ledger."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from adapters.db import session_scope
from adapters.members import MemberRepository
from adapters.settlement import SettlementLedger
from adapters.tables import PointsEntry, SettlementEntry, StoredValueEntry
from domain.errors import DomainError
from domain.settlement import SettlementTerms, split_settlement
from tests import factories as f
from tests.conftest import uid

pytestmark = pytest.mark.integration


def run_all(calls: list[Callable[[], object]]) -> list[bool]:
    """Run the calls on 20 threads at once: whether each succeeded (False: refused)."""

    def one(call: Callable[[], object]) -> bool:
        try:
            call()
            return True
        except DomainError:
            return False

    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(one, calls))


def ledger_sum(engine: Engine, table: type[PointsEntry] | type[StoredValueEntry], mid: str) -> int:
    with session_scope(engine) as s:
        total = s.exec(
            select(func.coalesce(func.sum(table.delta), 0)).where(table.member_id == mid)
        ).one()
        return int(total)


def test_stored_value_payments_never_overdraw_and_none_is_lost(engine: Engine) -> None:
    members = MemberRepository(engine)
    m, _ = members.ensure(f.phone())
    members.top_up(m.member_id, 1000, key=uid("topup-"))
    # 60 payments of 50 fen race for 1000 fen, interleaved with 20 top-ups of 10 fen
    pays: list[Callable[[], object]] = [
        partial(
            members.pay_stored_value,
            m.member_id,
            50,
            key=f"pay:{m.member_id}:{i}",
            order_id=f"O{i}",
        )
        for i in range(60)
    ]
    tops: list[Callable[[], object]] = [
        partial(members.top_up, m.member_id, 10, key=f"top:{m.member_id}:{i}") for i in range(20)
    ]
    calls = [c for pair in zip(pays[:20], tops, strict=True) for c in pair] + pays[20:]
    results = run_all(calls)
    ok, refused = results.count(True), results.count(False)
    balance = members.get(m.member_id).stored_value_amount  # type: ignore[union-attr]
    paid = ok - 20
    assert balance >= 0 and refused == 60 - paid
    assert balance == 1000 + 200 - 50 * paid
    assert paid <= 24  # 1200 fen buys at most 24 payments of 50
    assert ledger_sum(engine, StoredValueEntry, m.member_id) == balance

    # what was applied, applied again with the same keys, changes nothing
    run_all([c for c, done in zip(calls, results, strict=True) if done])
    again = members.get(m.member_id).stored_value_amount  # type: ignore[union-attr]
    assert again == balance


def test_points_redeemed_and_adjusted_at_once_never_go_below_zero(engine: Engine) -> None:
    members = MemberRepository(engine)
    m, _ = members.ensure(f.phone())
    members.adjust_points(m.member_id, 500, reason="welcome", key=uid("welcome-"))
    calls: list[Callable[[], object]] = [
        partial(
            members.adjust_points,
            m.member_id,
            -30,
            reason="redeem",
            key=f"redeem:{m.member_id}:{i}",
            kind="redeem",
        )
        for i in range(40)
    ]
    calls += [
        partial(
            members.take_back_points,
            m.member_id,
            25,
            key=f"reversal:{m.member_id}:{i}",
            order_id=f"O{i}",
        )
        for i in range(10)
    ]
    results = run_all(calls)
    row = members.get(m.member_id)
    assert row is not None and row.points >= 0
    assert ledger_sum(engine, PointsEntry, m.member_id) == row.points
    # everything that could be taken was: less than one redemption's worth is left
    assert row.points < 30
    run_all([c for c, done in zip(calls, results, strict=True) if done])  # keyed: no change
    assert members.get(m.member_id).points == row.points  # type: ignore[union-attr]


def test_concurrent_returns_settle_to_a_fresh_split_of_what_is_left(engine: Engine) -> None:
    ledger = SettlementLedger(engine)
    loc = f.location(engine)
    terms = SettlementTerms("shared", owner_ratio=7, fulfiller_ratio=2, operator_ratio=1)
    ledger.put_rule(
        terms,
        channel=None,
        location_id=loc,
    )
    order_id = f.order_row(engine, channel="app", payable_amount=100_003, refunded=[7_001] * 10)
    ledger.settle(
        order_id,
        key=f"settle:{order_id}:completed",
        delta=100_003,
        channel="app",
        location_id=loc,
        day="2026-11-23",
        cause="completed",
    )
    returns: list[Callable[[], object]] = [
        partial(
            ledger.settle,
            order_id,
            key=f"settle:{order_id}:R{i}",
            delta=-7_001,
            channel="app",
            location_id=loc,
            day="2026-11-23",
            cause=f"R{i}",
        )
        for i in range(10)
    ]
    run_all(returns + returns)  # each return twice, all at once
    view = ledger.order_settlement(order_id)
    assert view["net_amount"] == 100_003 - 10 * 7_001
    with session_scope(engine) as s:
        total = s.exec(
            select(func.sum(SettlementEntry.amount)).where(SettlementEntry.order_id == order_id)
        ).one()
    assert total == view["net_amount"]
    fresh = split_settlement(terms, 29_993, fulfiller=f"location:{loc}")
    assert {t["role"]: t["amount"] for t in view["totals"]} == {x.role: x.amount for x in fresh}
