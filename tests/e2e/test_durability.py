"""Crashes and faults with real processes: the stack runs as `make dev` runs it, simulated channels
and staff drive orders through the API, and a process is killed with SIGKILL in the middle.
Afterwards every order has completed, nothing was charged or reserved twice, no order was lost,
and the reconciliation finds nothing."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from adapters.db import make_engine, session_scope
from benchmarks.traffic import Driver
from tests.e2e.conftest import processes
from workers.dev import Stack
from workers.reconcile import check_database, check_temporal
from workers.temporal import connect

pytestmark = [pytest.mark.e2e, pytest.mark.durability]

ORDERS = 50


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with processes(tmp_path_factory.mktemp("durable") / "oms") as s:
        yield s


@pytest.fixture(scope="module")
def engine(stack: Stack) -> Iterator[Engine]:
    e = make_engine(stack.settings.db_url)
    yield e
    e.dispose()


@pytest.fixture
async def driver(stack: Stack) -> AsyncIterator[Driver]:
    d = Driver(
        [f"http://127.0.0.1:{stack.settings.api_port}"],
        stack.settings.secret("admin_token"),
        stack.home,
    )
    await d.setup(10, stock=10**6)
    try:
        yield d
    finally:
        await d.close()


def statuses(engine: Engine, orders: list[str]) -> collections.Counter[str]:
    with session_scope(engine) as s:
        rows = s.execute(text('SELECT order_id, status FROM "order"')).all()
    wanted = set(orders)
    return collections.Counter(status for oid, status in rows if oid in wanted)


async def crash_midway(
    driver: Driver, engine: Engine, crash: Callable[[], None], *, gateway_share: float
) -> dict[str, int]:
    """Run ORDERS lifecycles; once they are at different stages, call `crash`; wait for all."""
    run = asyncio.create_task(
        driver.run(ORDERS, pickup_share=0.3, gateway_share=gateway_share, until="completed")
    )
    while len(driver.orders) < ORDERS // 2 and not run.done():
        await asyncio.sleep(0.1)
    seen = statuses(engine, driver.orders)
    await asyncio.to_thread(crash)
    await run
    return dict(seen)


async def assert_consistent(stack: Stack, engine: Engine, driver: Driver) -> None:
    assert driver.figures.failures == []
    assert len(set(driver.orders)) == ORDERS, "every order placed exactly once"
    assert statuses(engine, driver.orders) == {"completed": ORDERS}
    with session_scope(engine) as s:
        charges = s.execute(
            text(
                "SELECT o.order_id, o.payment_method, o.payable_amount, "
                "(SELECT COUNT(*) FROM storedvalueentry e WHERE e.order_id = o.order_id "
                " AND e.kind = 'pay'), "
                "(SELECT COALESCE(-SUM(e.delta), 0) FROM storedvalueentry e "
                " WHERE e.order_id = o.order_id AND e.kind = 'pay'), "
                "(SELECT COUNT(*) FROM payment p WHERE p.order_id = o.order_id "
                " AND p.status = 'succeeded') "
                'FROM "order" o'
            )
        ).all()
        reserved = s.execute(
            text(
                "SELECT m.order_id, m.location_id, m.sku, COUNT(*) FROM stockmovement m "
                "WHERE m.kind = 'reserve' GROUP BY m.order_id, m.location_id, m.sku "
                "HAVING COUNT(*) > 1"
            )
        ).all()
    mine = [c for c in charges if c[0] in set(driver.orders)]
    for order_id, method, payable, sv_pays, sv_taken, succeeded in mine:
        if method == "stored_value":
            assert (sv_pays, sv_taken) == (1, payable), order_id
        assert succeeded == 1, f"{order_id}: {succeeded} successful payments"
    assert reserved == [], "no line reserved twice"
    stats = httpx.get(f"{stack.settings.gateway_base_url}/stats", timeout=10).json()
    assert stats["duplicate_charges"] == 0
    assert check_database(engine) == []
    client = await connect(stack.settings)
    assert await check_temporal(engine, client) == []
    await assert_every_event_received(stack, engine)


async def assert_every_event_received(stack: Stack, engine: Engine) -> None:
    """Every event of the subscribed demo channels reaches the simulated channels' receiver,
    whatever was killed (it may see some twice: events carry ids)."""
    waiting: list[str] = []
    for _ in range(300):
        with session_scope(engine) as s:
            waiting = [
                r[0]
                for r in s.execute(
                    text("SELECT event_id FROM channelevent WHERE status = 'pending'")
                )
            ]
        if not waiting:
            break
        await asyncio.sleep(0.2)
    assert waiting == [], f"{len(waiting)} events still undelivered"
    with session_scope(engine) as s:
        sent = {
            r[0]
            for r in s.execute(text("SELECT event_id FROM channelevent WHERE status = 'delivered'"))
        }
        failed = s.execute(
            text("SELECT COUNT(*) FROM channelevent WHERE status = 'failed'")
        ).scalar()
    got = httpx.get(f"{stack.settings.channel_sim_url}/events", timeout=10).json()["events"]
    assert sent and sent <= {e["event_id"] for e in got}
    assert failed == 0


@pytest.mark.parametrize("process", ["worker", "api", "temporal"])
async def test_kill_9_of_a_process_under_load_loses_nothing(
    stack: Stack, engine: Engine, driver: Driver, process: str
) -> None:
    """The worker, the API, or the Temporal dev server (SQLite) killed and started again."""
    port = {
        "worker": None,
        "api": stack.settings.api_port,
        "temporal": stack.settings.temporal_port,
    }[process]

    def crash() -> None:
        stack.kill(process)
        stack.respawn(process, port=port)

    seen = await crash_midway(driver, engine, crash, gateway_share=0.3)
    assert len(seen) >= 2, f"orders were at one stage only: {seen}"
    await assert_consistent(stack, engine, driver)


async def test_a_gateway_failing_30_percent_of_calls_leaves_every_order_consistent(
    stack: Stack, engine: Engine, driver: Driver
) -> None:
    faults = f"{stack.settings.gateway_base_url}/faults"
    httpx.put(
        faults, json={"error_rate": 0.15, "timeout_rate": 0.15, "timeout_s": 6}, timeout=10
    ).raise_for_status()
    try:
        await driver.run(ORDERS, pickup_share=0.3, gateway_share=1.0, until="completed")
        # and refunds through the same failing gateway: return one unit of ten orders
        returned = []
        for oid in driver.orders[:10]:
            view = (
                await driver.request(0, "GET", f"/v1/orders/{oid}", headers=driver.admin)
            ).json()
            sku = next(ln["sku"] for ln in view["pricing"]["lines"] if not ln.get("gift"))
            r = await driver.request(
                0,
                "POST",
                f"/v1/orders/{oid}/returns",
                json={"lines": [{"sku": sku, "qty": 1}]},
                headers=driver.admin,
            )
            assert r.status_code == 200, r.text
            returned.append(oid)
        for _ in range(300):
            pending = (
                await driver.request(
                    0, "GET", "/v1/admin/refunds?status=pending", headers=driver.admin
                )
            ).json()["refunds"]
            if not [x for x in pending if x["order_id"] in returned]:
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"refunds still pending: {pending}")
    finally:
        httpx.put(faults, json={}, timeout=10).raise_for_status()
    assert driver.figures.failures == []
    ended = statuses(engine, driver.orders)  # one-unit orders are wholly returned
    assert ended["completed"] + ended["returned"] == ORDERS and ended["returned"] <= 10
    stats = httpx.get(f"{stack.settings.gateway_base_url}/stats", timeout=10).json()
    assert stats["duplicate_charges"] == 0
    with session_scope(engine) as s:
        refunded = s.execute(
            text(
                "SELECT COALESCE(SUM(r.amount), 0) FROM refund r "
                'JOIN "order" o ON o.order_id = r.order_id '
                "WHERE r.status = 'succeeded' AND o.payment_method NOT IN ('stored_value', 'cash')"
            )
        ).scalar_one()
    assert stats["refunded"] == refunded  # the gateway paid back exactly what we recorded
    assert check_database(engine) == []
