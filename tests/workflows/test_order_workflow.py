"""OrderWorkflow on the time-skipping server, with the real activities over a real SQLite
database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from adapters.inventory import InventoryRepository
from adapters.payment_gateway import HttpPaymentGateway
from adapters.pickup_codes import PickupCodes
from adapters.read_model import ReadModel
from domain.fulfilment import FulfilmentState
from domain.orders import FulfilmentChoice, LineRequest, OrderRequest
from domain.policy import Timeouts
from tests import factories as f
from tests.conftest import PICKUP_SECRET, uid
from workers.worker import build_worker
from workflows.messages import (
    OrderInput,
    PartAction,
    PaymentResult,
    ReturnRequest,
    StaffAction,
    order_workflow_id,
)
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow
TIMEOUTS = Timeouts(payment_s=60, accept_s=120, pickup_expiry_s=3600, delivery_confirm_s=7200)


@pytest.fixture
async def client(
    ts_env: WorkflowEnvironment,
    sqlite_engine: Engine,
    gateway_url: str,
) -> AsyncIterator[Client]:
    queue = uid("tq-")
    async with build_worker(
        ts_env.client,
        sqlite_engine,
        task_queue=queue,
        gateway=HttpPaymentGateway(gateway_url),
        notify_url="http://127.0.0.1:9/unused",
        pickup_secret=PICKUP_SECRET,
    ):
        ts_env.client.__dict__["_test_queue"] = queue
        ts_env.client.__dict__["_env"] = ts_env
        yield ts_env.client


def queue_of(client: Client) -> str:
    return client.__dict__["_test_queue"]  # type: ignore[no-any-return]


def new_order(
    engine: Engine, *, mode: str = "pickup", method: str = "cash", qty: int = 2, on_hand: int = 10
) -> tuple[OrderRequest, str, str]:
    loc = f.location(engine)
    sku = f.sku(engine, price=1250)
    f.stock(engine, loc, sku, on_hand)
    from domain.orders import Address

    choice = (
        FulfilmentChoice(mode="pickup", location_id=loc)
        if mode == "pickup"
        else FulfilmentChoice(mode="delivery", address=Address(**f.HANGZHOU))
    )
    oid = uid("O")
    req = OrderRequest(
        order_id=oid,
        channel="pos" if method == "cash" else "app",
        channel_order_id=uid("C-"),
        lines=[LineRequest(sku=sku, qty=qty)],
        fulfilment=choice,
        payment_method=method,
    )
    return req, loc, sku


async def start(client: Client, req: OrderRequest) -> WorkflowHandle:
    handle = await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(req, TIMEOUTS),
        id=order_workflow_id(req.order_id),
        task_queue=queue_of(client),
        execution_timeout=timedelta(days=30),
    )
    await handle.execute_update(OrderWorkflow.submit)
    return handle


class Part:
    """A part as its store reaches it: through its order's workflow."""

    def __init__(self, client: Client, order_id: str, fulfilment_id: str) -> None:
        self.fid = fulfilment_id
        self.order = client.get_workflow_handle(order_workflow_id(order_id))

    async def act(self, action: StaffAction) -> FulfilmentState:
        return await self.order.execute_update(OrderWorkflow.act, PartAction(self.fid, action))

    async def code(self) -> str:
        return PickupCodes(PICKUP_SECRET).code(self.fid)

    async def current(self) -> FulfilmentState:
        state = await self.order.query(OrderWorkflow.part, self.fid)
        assert state is not None, f"{self.fid} is not running"
        return state

    async def result(self) -> FulfilmentState:
        """The part's state once it has ended."""
        await self.order.result()
        return await self.current()

    async def started(self) -> Part:
        for _ in range(100):
            try:
                await self.current()
                return self
            except Exception:
                await asyncio.sleep(0.05)
        raise AssertionError(f"{self.fid} never started")


async def part(client: Client, req: OrderRequest, n: int = 1) -> Part:
    return await Part(client, req.order_id, f"{req.order_id}-F-{n}").started()


def reserved(engine: Engine, loc: str, sku: str) -> int:
    row = InventoryRepository(engine).get(loc, sku)
    assert row is not None
    return row.reserved


async def test_a_pickup_order_runs_from_cash_payment_to_picked_up(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine)
    handle = await start(client, req)
    assert reserved(sqlite_engine, loc, sku) == 2
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked"))
    code = await fh.code()
    assert code is not None and len(code) == 6
    await fh.act(StaffAction(action="pickup", code=code))
    assert await handle.result() == "completed"
    row = InventoryRepository(sqlite_engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (8, 0)
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None and view["status"] == "completed"
    # the order completes only once the part's last step is recorded
    events = [t["event"] for t in view["timeline"]]
    assert events.index("pickup") < events.index("completed") == len(events) - 1


async def test_an_out_of_order_action_is_refused_and_changes_nothing(
    client: Client, sqlite_engine: Engine
) -> None:
    req, _, _ = new_order(sqlite_engine)
    await start(client, req)
    fh = await part(client, req)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await fh.act(StaffAction(action="pickup", code="1"))
    assert getattr(err.value.cause, "type", None) == "invalid_transition"
    state = await fh.current()
    assert state.status == "dispatched"


async def test_a_wrong_pickup_code_is_refused(client: Client, sqlite_engine: Engine) -> None:
    req, _, _ = new_order(sqlite_engine)
    await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked"))
    code = await fh.code()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await fh.act(StaffAction(action="pickup", code=wrong))
    assert getattr(err.value.cause, "type", None) == "wrong_pickup_code"
    assert (await fh.current()).status == "ready_for_pickup"


async def test_the_same_action_twice_is_applied_once(client: Client, sqlite_engine: Engine) -> None:
    req, _, _ = new_order(sqlite_engine)
    await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    again = await fh.act(StaffAction(action="accept"))
    assert again.status == "accepted"
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None
    assert [t["event"] for t in view["timeline"]].count("accept") == 1


async def test_an_unpaid_order_is_cancelled_at_the_payment_timeout_and_its_stock_released(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine, mode="delivery", method="wechat")
    handle = await start(client, req)
    assert reserved(sqlite_engine, loc, sku) == 2
    assert await handle.result() == "cancelled"
    assert reserved(sqlite_engine, loc, sku) == 0
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None and view["status"] == "cancelled"
    assert view["payment"]["status"] == "closed"  # closed at the gateway: it cannot succeed now


async def test_a_paid_delivery_order_ships_and_is_confirmed_after_the_delivery_window(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine, mode="delivery", method="wechat")
    handle = await start(client, req)
    accepted = await handle.execute_update(OrderWorkflow.submit)
    await handle.signal(
        OrderWorkflow.payment_result, PaymentResult(accepted.payment_id, "succeeded", "evt-1")
    )
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked"))
    await fh.act(StaffAction(action="ship", carrier="SF", tracking_no="SF1"))
    row = InventoryRepository(sqlite_engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (8, 0)
    assert await handle.result() == "completed"  # time skips past the delivery window
    state = await fh.result()
    assert state.status == "delivered" and state.tracking_no == "SF1"


async def test_a_store_that_does_not_accept_in_time_loses_the_part(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine)
    handle = await start(client, req)
    fh = await part(client, req)
    assert await handle.result() == "cancelled"  # time skips past the accept window
    state = await fh.result()
    assert state.status == "rejected"
    assert reserved(sqlite_engine, loc, sku) == 0


async def test_an_uncollected_pickup_expires_and_its_stock_returns(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine)
    handle = await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked"))
    assert await handle.result() == "cancelled"  # time skips past the pickup expiry
    assert (await fh.result()).status == "expired"
    row = InventoryRepository(sqlite_engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (10, 0)


async def test_an_order_for_more_than_the_stock_is_refused_with_nothing_reserved(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine, qty=11)
    handle = await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(req, TIMEOUTS),
        id=order_workflow_id(req.order_id),
        task_queue=queue_of(client),
    )
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(OrderWorkflow.submit)
    cause = err.value.cause
    assert getattr(cause, "type", None) == "insufficient_stock"
    assert reserved(sqlite_engine, loc, sku) == 0
    assert ReadModel(sqlite_engine).order_view(req.order_id) is None


async def test_an_unpaid_order_gives_back_its_coupon_and_points(
    client: Client, sqlite_engine: Engine
) -> None:
    from adapters.members import MemberRepository
    from adapters.promotions import PromotionRepository
    from workers.demo import _promotion

    req, _, sku = new_order(sqlite_engine, mode="delivery", method="wechat")
    members = MemberRepository(sqlite_engine)
    member, _ = members.ensure(f.phone())
    members.adjust_points(member.member_id, 1000, reason="test")
    promos = PromotionRepository(sqlite_engine)
    pid, code = uid("P-"), uid("C-")
    promos.put(
        pid,
        _promotion(
            {"kind": "amount_off", "amount": 100, "coupon_required": True, "scope": {"skus": [sku]}}
        ),
    )
    promos.create_coupon({"promotion_id": pid, "code": code, "member_phone": None, "uses": 1})
    req.member_phone, req.coupon_codes, req.points_to_redeem = member.phone, [code], 500
    handle = await start(client, req)
    coupon = {c["code"]: c for c in promos.list_coupons()}[code]
    assert coupon["held"] == 1
    assert members.view(member.member_id)["points"] == 500
    assert await handle.result() == "cancelled"
    coupon = {c["code"]: c for c in promos.list_coupons()}[code]
    assert (coupon["held"], coupon["used"]) == (0, 0)
    assert members.view(member.member_id)["points"] == 1000


async def test_a_part_the_store_lets_lapse_is_routed_to_the_next_best_location(
    client: Client, sqlite_engine: Engine
) -> None:
    from domain.orders import Address

    sku = f.sku(sqlite_engine, price=990)
    first = f.location(sqlite_engine, priority=1)
    second = f.location(sqlite_engine, priority=2)
    f.stock(sqlite_engine, first, sku, 5)
    f.stock(sqlite_engine, second, sku, 5)
    req = OrderRequest(
        order_id=uid("O"),
        channel="app",
        channel_order_id=uid(),
        lines=[LineRequest(sku, 2)],
        fulfilment=FulfilmentChoice(mode="delivery", address=Address(**f.HANGZHOU)),
        payment_method="stored_value",
    )
    from adapters.members import MemberRepository

    members = MemberRepository(sqlite_engine)
    member, _ = members.ensure(f.phone())
    members.top_up(member.member_id, 5000, key=uid("topup-"))
    req.member_phone = member.phone
    handle = await start(client, req)
    # The first store lets the accept window pass; the part goes to the second store.
    rerouted = Part(client, req.order_id, f"{req.order_id}-R1-1")
    await ts_sleep(client, TIMEOUTS.accept_s + 5)
    state = await rerouted.current()
    assert state.location_id == second and state.status == "dispatched"
    assert reserved(sqlite_engine, first, sku) == 0 and reserved(sqlite_engine, second, sku) == 2
    for action in (
        StaffAction("accept"),
        StaffAction("picked"),
        StaffAction("ship", carrier="JD", tracking_no="JD1"),
        StaffAction("deliver"),
    ):
        await rerouted.act(action)
    assert await handle.result() == "completed"
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None
    assert [(x["location_id"], x["status"]) for x in view["fulfilments"]] == [
        (first, "rejected"),
        (second, "delivered"),
    ]
    assert any(t["event"] == "rerouted" for t in view["timeline"])


async def ts_sleep(client: Client, seconds: float) -> None:
    """Let time pass on the time-skipping server."""
    env = client.__dict__["_env"]
    await env.sleep(seconds)


async def test_an_expired_pickup_paid_by_stored_value_is_refunded_to_the_balance(
    client: Client, sqlite_engine: Engine
) -> None:
    from adapters.members import MemberRepository

    req, loc, sku = new_order(sqlite_engine, method="stored_value")
    req.channel = "app"
    members = MemberRepository(sqlite_engine)
    member, _ = members.ensure(f.phone())
    members.top_up(member.member_id, 10_000, key=uid("topup-"))
    req.member_phone = member.phone
    handle = await start(client, req)
    assert members.view(member.member_id)["stored_value_amount"] == 10_000 - 2500
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked"))
    assert await handle.result() == "cancelled"
    assert members.view(member.member_id)["stored_value_amount"] == 10_000
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None
    assert [(r["amount"], r["status"]) for r in view["refunds"]] == [(2500, "succeeded")]
    assert reserved(sqlite_engine, loc, sku) == 0


async def test_a_cancel_before_shipment_stops_the_store_releases_stock_and_refunds(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine)
    handle = await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    assert await handle.execute_update(OrderWorkflow.cancel, "changed my mind") == "cancelled"
    assert (await fh.current()).status == "cancelled"
    assert reserved(sqlite_engine, loc, sku) == 0
    assert await handle.result() == "cancelled"
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None
    assert [(r["amount"], r["status"]) for r in view["refunds"]] == [(2500, "succeeded")]


async def test_a_cancel_after_shipment_is_refused(client: Client, sqlite_engine: Engine) -> None:
    req, _, _ = new_order(sqlite_engine, mode="delivery")
    handle = await start(client, req)
    fh = await part(client, req)
    for action in (
        StaffAction("accept"),
        StaffAction("picked"),
        StaffAction("ship", carrier="SF", tracking_no="1"),
    ):
        await fh.act(action)
    await fh.current()  # let the order hear of the shipment
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(OrderWorkflow.cancel, "too late")
    assert getattr(err.value.cause, "type", None) == "already_shipped"


async def test_a_short_pick_refunds_the_missing_unit_and_returns_refund_the_rest(
    client: Client, sqlite_engine: Engine
) -> None:
    req, loc, sku = new_order(sqlite_engine, qty=3)
    handle = await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked", lines=[LineRequest(sku, 2)]))
    code = await fh.code()
    await fh.act(StaffAction(action="pickup", code=code))
    for _ in range(100):
        if await handle.query(OrderWorkflow.current_status) == "completed":
            break

        await asyncio.sleep(0.05)
    status = await handle.execute_update(
        OrderWorkflow.request_return, ReturnRequest([LineRequest(sku, 2)], "faulty")
    )
    assert status == "returned"
    assert await handle.result() == "returned"
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None
    assert [r["amount"] for r in view["refunds"]] == [1250, 2500]
    row = InventoryRepository(sqlite_engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (10, 0)


async def test_a_rejected_pickup_part_is_refunded_and_the_store_loses_credit(
    client: Client, sqlite_engine: Engine
) -> None:
    from adapters.catalog import CatalogRepository

    req, loc, sku = new_order(sqlite_engine)
    handle = await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="reject", reason="closed"))
    assert await handle.result() == "cancelled"
    location = CatalogRepository(sqlite_engine).get_location(loc)
    assert location is not None and location.credit_score == 95
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None
    assert [(r["amount"], r["status"]) for r in view["refunds"]] == [(2500, "succeeded")]
    assert reserved(sqlite_engine, loc, sku) == 0


async def test_a_staff_action_arriving_with_the_gateway_payment_waits_for_the_dispatch(
    dev_env: WorkflowEnvironment, sqlite_engine: Engine, gateway_url: str
) -> None:
    """A worker died after the gateway's payment was recorded but before its workflow task
    completed, and a store saw the order paid in the read model: the payment and the store's
    first action reach the next worker in one task. The action waits for the dispatch the
    payment brings, rather than being refused as on an unpaid order."""
    client, queue = dev_env.client, uid("tq-")

    def worker() -> Worker:
        return build_worker(
            client,
            sqlite_engine,
            task_queue=queue,
            gateway=HttpPaymentGateway(gateway_url),
            notify_url="http://127.0.0.1:9/unused",
            pickup_secret=PICKUP_SECRET,
        )

    req, _, _ = new_order(sqlite_engine, method="wechat")
    async with worker():
        handle = await client.start_workflow(
            OrderWorkflow.run,
            OrderInput(req, TIMEOUTS),
            id=order_workflow_id(req.order_id),
            task_queue=queue,
            execution_timeout=timedelta(days=30),
        )
        accepted = await handle.execute_update(OrderWorkflow.submit)
    # no worker now: the payment and the action wait for the next one together
    await handle.signal(
        OrderWorkflow.payment_result, PaymentResult(accepted.payment_id, "succeeded", "evt-1")
    )
    action = PartAction(f"{req.order_id}-F-1", StaffAction(action="accept"))
    acting = asyncio.create_task(handle.execute_update(OrderWorkflow.act, action))
    await asyncio.sleep(0.5)
    async with worker():
        state = await asyncio.wait_for(acting, 30)
    assert state.status == "accepted"


async def test_a_locked_part_takes_the_right_code_again_after_fifteen_minutes(
    client: Client, sqlite_engine: Engine
) -> None:
    req, _, _ = new_order(sqlite_engine)
    handle = await start(client, req)
    fh = await part(client, req)
    await fh.act(StaffAction(action="accept"))
    await fh.act(StaffAction(action="picked"))
    code = await fh.code()
    for n in range(1, 6):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await fh.act(StaffAction(action="pickup", code=f"{(int(code) + n) % 10**6:06d}"))
        assert getattr(err.value.cause, "type", None) == "wrong_pickup_code"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await fh.act(StaffAction(action="pickup", code=code))
    assert getattr(err.value.cause, "type", None) == "too_many_attempts"
    await ts_sleep(client, 15 * 60 + 1)
    assert (await fh.act(StaffAction(action="pickup", code=code))).status == "picked_up"
    assert await handle.result() == "completed"


async def test_the_last_part_handed_over_completes_the_order_in_its_own_step(
    client: Client, sqlite_engine: Engine
) -> None:
    """Two parts: the first delivered leaves the order fulfilling; the last one's step also
    earns the points, settles and completes the order, as one local activity."""
    from adapters.members import MemberRepository
    from domain.orders import Address

    near, far = f.location(sqlite_engine, priority=1), f.location(sqlite_engine, priority=2)
    milk, bread = f.sku(sqlite_engine, price=1000), f.sku(sqlite_engine, price=500)
    f.stock(sqlite_engine, near, milk, 5)
    f.stock(sqlite_engine, far, bread, 5)
    members = MemberRepository(sqlite_engine)
    member, _ = members.ensure(f.phone())
    members.top_up(member.member_id, 5000, key=uid("topup-"))
    req = OrderRequest(
        order_id=uid("O"),
        channel="app",
        channel_order_id=uid(),
        lines=[LineRequest(milk, 1), LineRequest(bread, 1)],
        fulfilment=FulfilmentChoice(mode="delivery", address=Address(**f.HANGZHOU)),
        payment_method="stored_value",
        member_phone=member.phone,
    )
    handle = await start(client, req)
    first, last = await part(client, req, 1), await part(client, req, 2)
    steps = ("accept", "picked", "ship", "deliver")
    for action in steps:
        await first.act(StaffAction(action, carrier="SF", tracking_no="SF1"))
    assert await handle.query(OrderWorkflow.current_status) == "fulfilling"
    for action in steps:
        await last.act(StaffAction(action, carrier="SF", tracking_no="SF2"))
    assert await handle.query(OrderWorkflow.current_status) == "completed"
    assert await handle.result() == "completed"

    summaries = []
    async for event in handle.fetch_history_events():
        if event.HasField("marker_recorded_event_attributes"):
            [summary] = await client.data_converter.decode([event.user_metadata.summary])
            summaries.append(summary)
    settled = [s for s in summaries if "settle" in s]
    assert len(settled) == 1 and f"record {last.fid} delivered" in settled[0]
    assert "earn" in settled[0] and "completed" in settled[0]
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None and view["status"] == "completed"
    assert MemberRepository(sqlite_engine).get(member.member_id).points > 0  # type: ignore[union-attr]


async def test_a_last_part_recorded_further_along_does_not_complete_the_order(
    client: Client, sqlite_engine: Engine
) -> None:
    """The read model holds the part at another end than the workflow's (an earlier run of a
    reset workflow recorded that the delivery failed): the delivery's step takes the record as
    it is, and the completion that would have gone with it does not run."""
    from sqlmodel import Session, select

    from adapters.members import MemberRepository
    from adapters.tables import SettlementEntry

    req, loc, sku = new_order(sqlite_engine, mode="delivery", method="stored_value")
    members = MemberRepository(sqlite_engine)
    member, _ = members.ensure(f.phone())
    members.top_up(member.member_id, 5000, key=uid("topup-"))
    req.member_phone = member.phone
    handle = await start(client, req)
    fh = await part(client, req)
    for action in ("accept", "picked", "ship"):
        await fh.act(StaffAction(action, carrier="SF", tracking_no="SF9"))
    ReadModel(sqlite_engine).set_fulfilment(
        fh.fid, status="delivery_failed", event="delivery_failed", detail="recorded earlier"
    )
    state = await fh.act(StaffAction("deliver"))
    assert state.status == "delivery_failed"
    assert await handle.result() == "cancelled"
    view = ReadModel(sqlite_engine).order_view(req.order_id)
    assert view is not None and view["status"] == "cancelled"
    assert "completed" not in [t["event"] for t in view["timeline"]]
    with Session(sqlite_engine) as s:
        keys = s.exec(select(SettlementEntry.key).where(SettlementEntry.order_id == req.order_id))
        assert not [k for k in keys if ":completed" in k]
    again = MemberRepository(sqlite_engine).get(member.member_id)
    assert again is not None and (again.points, again.stored_value_amount) == (0, 5000)
