"""Concurrent reservations on SQLite and PostgreSQL: never oversell, never lose an update, and
no error but insufficient_stock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from activities.orders import OrderActivities
from adapters.catalog import CatalogRepository
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from domain.orders import Address, FulfilmentChoice, LineRequest, OrderRequest
from tests import factories as f
from tests.conftest import PICKUP_SECRET, uid

pytestmark = pytest.mark.integration
TODAY = date(2026, 11, 11).isoformat()


def activities(engine: Engine) -> OrderActivities:
    return OrderActivities(
        catalog=CatalogRepository(engine),
        inventory=InventoryRepository(engine),
        members=MemberRepository(engine),
        read_model=ReadModel(engine),
        pricing=PricingService(engine),
        codes=PickupCodes(PICKUP_SECRET),
    )


def reserve(acts: OrderActivities, sku: str, qty: int, choice: FulfilmentChoice) -> str:
    req = OrderRequest(
        order_id=uid("O"),
        channel=uid("ch-"),
        channel_order_id=uid(),
        lines=[LineRequest(sku, qty)],
        fulfilment=choice,
        payment_method="cash",
    )
    try:
        acts.reserve_again(c.PlanRequest(req, TODAY))
        return "reserved"
    except ApplicationError as err:
        return err.type or "untyped"


def test_fifty_concurrent_orders_for_ten_units_reserve_exactly_ten(engine: Engine) -> None:
    loc = f.location(engine)
    sku = f.sku(engine)
    f.stock(engine, loc, sku, 10)
    acts = activities(engine)
    choice = FulfilmentChoice(mode="pickup", location_id=loc)
    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(lambda _: reserve(acts, sku, 1, choice), range(50)))
    assert results.count("reserved") == 10
    assert results.count("insufficient_stock") == 40
    row = InventoryRepository(engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (10, 10)


def test_two_hundred_concurrent_reservations_of_a_hot_sku_fail_only_for_stock(
    engine: Engine,
) -> None:
    sku = f.sku(engine)
    locs = [f.location(engine) for _ in range(4)]
    for i, loc in enumerate(locs):
        f.stock(engine, loc, sku, 30 + 10 * i, safety=2)
    acts = activities(engine)
    choice = FulfilmentChoice(mode="delivery", address=Address(**f.HANGZHOU))
    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(lambda i: reserve(acts, sku, 1 + i % 3, choice), range(200)))
    assert set(results) <= {"reserved", "insufficient_stock"}
    inventory = InventoryRepository(engine)
    total_reserved = 0
    for loc in locs:
        row = inventory.get(loc, sku)
        assert row is not None and 0 <= row.reserved <= row.on_hand - row.safety_stock
        total_reserved += row.reserved
    assert results.count("reserved") > 0
    assert total_reserved <= 30 + 40 + 50 + 60 - 8
    assert not [d for d in inventory.drift() if d["sku"] == sku]


def pickup_order(loc: str, lines: list[LineRequest]) -> OrderRequest:
    return OrderRequest(
        order_id=uid("O"),
        channel="app",
        channel_order_id=uid(),
        lines=lines,
        fulfilment=FulfilmentChoice(mode="pickup", location_id=loc),
        payment_method="cash",
    )


def test_reserving_twice_with_the_same_key_changes_nothing(engine: Engine) -> None:
    loc = f.location(engine)
    sku = f.sku(engine)
    f.stock(engine, loc, sku, 10)
    acts = activities(engine)
    req = pickup_order(loc, [LineRequest(sku, 3)])
    first = acts.reserve_again(c.PlanRequest(req, TODAY))
    inventory = InventoryRepository(engine)
    assert inventory.reserve(req.order_id, first, day=date(2026, 11, 11))
    row = inventory.get(loc, sku)
    assert row is not None and row.reserved == 3
    inventory.release(req.order_id, first[0])
    inventory.release(req.order_id, first[0])
    row = inventory.get(loc, sku)
    assert row is not None and row.reserved == 0
    assert not [d for d in inventory.drift() if d["sku"] == sku]


def test_concurrent_reservations_and_hand_overs_of_the_same_skus_never_deadlock(
    engine: Engine,
) -> None:
    """Orders whose lines name the same SKUs in different orders, reserved and handed over at
    once (on PostgreSQL rows are locked one by one: taken in different orders they deadlock)."""
    loc = f.location(engine)
    skus = [f.sku(engine) for _ in range(4)]
    for sku in skus:
        f.stock(engine, loc, sku, 10_000)
    acts = activities(engine)
    choice = FulfilmentChoice(mode="pickup", location_id=loc)

    def order(i: int) -> str:
        lines = [LineRequest(sku, 1) for sku in (skus if i % 2 else skus[::-1])]
        req = OrderRequest(
            order_id=uid("O"),
            channel=uid("ch-"),
            channel_order_id=uid(),
            lines=lines,
            fulfilment=choice,
            payment_method="cash",
        )
        parts = acts.reserve_again(c.PlanRequest(req, TODAY))
        acts.deduct_stock(c.StockChange(req.order_id, parts, "picked_up"))
        return "handed over"

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(order, range(160)))
    assert results == ["handed over"] * 160
    inventory = InventoryRepository(engine)
    for sku in skus:
        row = inventory.get(loc, sku)
        assert row is not None and (row.on_hand, row.reserved) == (10_000 - 160, 0)
    assert not [d for d in inventory.drift() if d["sku"] in skus]


def test_a_hand_over_settles_each_line_once_and_a_later_release_changes_nothing(
    engine: Engine,
) -> None:
    """A part of three SKUs handed over short on one: each line's reservation ends once, on_hand
    drops by what left; the same hand-over again, or a release after it, changes nothing."""
    loc = f.location(engine)
    skus = sorted(f.sku(engine) for _ in range(3))
    for sku in skus:
        f.stock(engine, loc, sku, 10)
    acts = activities(engine)
    req = pickup_order(loc, [LineRequest(sku, 2) for sku in skus])
    [part] = acts.reserve_again(c.PlanRequest(req, TODAY))
    inventory = InventoryRepository(engine)
    never_reserved = uid("O")
    inventory.release(never_reserved, part)  # another order's key: nothing to give back
    handed = {skus[0]: 2, skus[1]: 1, skus[2]: 2}
    for _ in range(2):
        inventory.deduct(req.order_id, part, handed=handed)
    inventory.release(req.order_id, part)
    rows = [inventory.get(loc, sku) for sku in skus]
    assert [(r.on_hand, r.reserved) for r in rows if r] == [(8, 0), (9, 0), (8, 0)]
    assert not [d for d in inventory.drift() if d["sku"] in skus]
