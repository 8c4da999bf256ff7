"""`make bench-steps`: what each database step of an order costs the thread that runs it.

The worker runs an order's database steps as local activities in its threads. This calls the
same activity methods, in one process on a seeded SQLite file (the stack's settings), for `--n`
orders going through their lifecycle one step at a time (a third of them pickups, paid with
stored value), and prints each step's median thread CPU over 5 rounds. The Temporal SDK's own
work around each step is not in these figures: they are what our code, SQLAlchemy and SQLite
spend.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from activities import contracts as c
from activities.orders import OrderActivities
from adapters.catalog import CatalogRepository
from adapters.db import make_engine
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from domain.orders import Address, FulfilmentChoice, LineRequest, OrderRequest, PlannedPart
from domain.settlement import business_day
from workers.demo import MEMBERS, seed_demo
from workers.migrate import migrate

ADDRESS = Address("Zhejiang", "Hangzhou", 30.2741, 120.1551, line1="1 Lakeside Rd")
SKUS = ["MILK-1L", "BREAD-WHITE", "APPLE-1KG", "EGGS-10"]
PICKUP_STORE = "S-HZ-01"


class Order:
    def __init__(self, i: int) -> None:
        self.pickup = i % 3 == 0
        self.request = OrderRequest(
            order_id=f"B{i}-{uuid.uuid4().hex[:8]}",
            channel="app",
            channel_order_id=f"bench-{i}-{uuid.uuid4().hex[:8]}",
            lines=[LineRequest(SKUS[i % 4], 1 + i % 3), LineRequest(SKUS[(i + 1) % 4], 1)],
            fulfilment=FulfilmentChoice("pickup", location_id=PICKUP_STORE)
            if self.pickup
            else FulfilmentChoice("delivery", address=ADDRESS),
            payment_method="stored_value",
            member_phone=MEMBERS[2][0],
        )
        self.prepared: c.PreparedOrder | None = None

    @property
    def parts(self) -> list[PlannedPart]:
        assert self.prepared is not None
        return self.prepared.parts


def steps(acts: OrderActivities, at: datetime) -> list[tuple[str, Callable[[Order], object]]]:
    def prepare(o: Order) -> None:
        o.prepared = acts.prepare_order(c.PrepareOrder(o.request, at))

    def record(o: Order) -> None:
        p = o.prepared
        assert p is not None and p.member_id is not None
        acts.record_order(
            c.RecordOrder(
                o.request,
                p.pricing,
                p.parts,
                "paid",
                p.member_id,
                c.PaymentRecord(
                    f"PAY-{o.request.order_id}",
                    "stored_value",
                    p.pricing.payable_amount,
                    "succeeded",
                ),
            )
        )
        acts.pay_stored_value(
            c.StoredValuePayment(o.request.order_id, p.member_id, p.pricing.payable_amount)
        )

    def part_status(status: str) -> Callable[[Order], None]:
        def project(o: Order) -> None:
            for part in o.parts:
                acts.project_fulfilment(c.FulfilmentProjection(part.fulfilment_id, status, status))

        return project

    def deduct(o: Order) -> None:
        acts.deduct_stock(c.StockChange(o.request.order_id, o.parts))

    def complete(o: Order) -> None:
        p = o.prepared
        assert p is not None and p.member_id is not None
        oid = o.request.order_id
        acts.earn_points(c.PointsMove(oid, p.member_id, p.pricing.payable_amount // 100))
        acts.record_settlement(
            c.SettlementRecord(
                oid,
                key=f"{oid}:completed",
                amount=p.pricing.payable_amount,
                party=f"location:{o.parts[0].location_id}",
                day=business_day(at),
                channel=o.request.channel,
            )
        )
        acts.evaluate_tier(c.TierCheck(oid, p.member_id))
        acts.project_order(c.OrderProjection(oid, "completed", "completed"))

    return [
        ("prepare (price, member, plan, reserve)", prepare),
        ("record (order, stored-value payment)", record),
        ("part accepted", part_status("accepted")),
        ("part picked", part_status("ready_to_ship")),
        ("hand-over stock deduction", deduct),
        ("part delivered", part_status("delivered")),
        ("completion (points, settlement, tier, status)", complete),
    ]


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        url = f"sqlite:///{home}/oms.db"
        migrate(url)
        engine = make_engine(url)
        seed_demo(engine, Path(home))
        inventory = InventoryRepository(engine)
        for (location_id, sku), _ in inventory.snapshot(
            SKUS, day=datetime.now(UTC).date()
        ).available.items():
            inventory.set_counted(location_id, sku, on_hand=10**7, safety_stock=0)
        members = MemberRepository(engine)
        member = members.by_phone(MEMBERS[2][0])
        assert member is not None
        members.top_up(member.member_id, 10**12, key="bench-steps")
        acts = OrderActivities(
            catalog=CatalogRepository(engine),
            inventory=inventory,
            members=members,
            read_model=ReadModel(engine),
            pricing=PricingService(engine),
            codes=PickupCodes("bench"),
        )
        at = datetime.now(UTC)
        plan = steps(acts, at)
        rounds: dict[str, list[float]] = {name: [] for name, _ in plan}
        for r in range(-1, 5):  # a round to warm up, then 5 measured
            orders = [Order(r * n + i) for i in range(n)]
            for name, step in plan:
                t0 = time.thread_time()
                for o in orders:
                    step(o)
                if r >= 0:
                    rounds[name].append((time.thread_time() - t0) * 1000 / n)
        print(f"{'step':48} {'thread cpu ms':>13}")
        total = 0.0
        for name, per in rounds.items():
            total += statistics.median(per)
            print(f"{name:48} {statistics.median(per):13.3f}")
        print(f"{'an order, these steps together':48} {total:13.3f}")
        engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="orders per round")
    main(parser.parse_args().n)
