"""Record workflow histories of every order path for the replay tests: `make histories`.

Runs the real workflows and activities on a real dev server over a scratch SQLite database,
then writes each workflow's history as JSON beside this file. Re-record only on purpose: the
stored histories are what running orders look like, and replaying them guards against
non-deterministic changes. `python -m tests.histories.record NAME ...` records only those paths
(a new path, leaving the others as they were recorded).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.db import make_engine
from adapters.payment_gateway import HttpPaymentGateway
from adapters.pickup_codes import PickupCodes
from domain.orders import Address, FulfilmentChoice, LineRequest, OrderRequest
from domain.policy import Timeouts
from tests import factories as f
from tests.conftest import TEST_CONVERTER
from tests.servers import serve
from workers.gateway_sim import create_sim_app
from workers.migrate import migrate
from workers.temporal import bundled_binary, register_search_attributes
from workers.worker import build_worker
from workflows.messages import (
    NewPayment,
    OrderChange,
    OrderInput,
    PartAction,
    PaymentResult,
    ReturnRequest,
    StaffAction,
    SubstitutionAnswer,
    SubstitutionRequest,
    TrackingReport,
    order_workflow_id,
)
from workflows.order import OrderWorkflow

HERE = Path(__file__).parent
QUEUE = "record"
CODES = PickupCodes("record")
SHORT = Timeouts(
    payment_s=2,
    accept_s=2,
    pickup_expiry_s=2,
    delivery_confirm_s=2,
    return_window_s=2,
    substitution_wait_s=2,
)
ONLY = set(sys.argv[1:])  # the paths to record (none named: all of them)


def wanted(name: str) -> bool:
    return not ONLY or name in ONLY


async def run_path(  # type: ignore[no-untyped-def]
    client: Client,
    engine,
    name: str,
    *,
    mode: str,
    method: str,
    actions: list[StaffAction],
    pay: str | None = None,
    member: bool = False,
    picked_qty: int | None = None,
    then: Callable[[Any, str], Awaitable[None]] | None = None,
    gateway_url: str | None = None,
) -> None:
    """One order down one path: submitted, paid (`pay`), taken through the staff `actions`
    (a short pick when `picked_qty` is given), then `then(order handle, sku)` if any."""
    if not wanted(name):
        return
    loc = f.location(engine)
    sku = f.sku(engine, price=1290)
    f.stock(engine, loc, sku, 10)
    choice = (
        FulfilmentChoice(mode="pickup", location_id=loc)
        if mode == "pickup"
        else FulfilmentChoice(mode="delivery", address=Address(**f.HANGZHOU))
    )
    oid = f"O-{name}"
    req = OrderRequest(
        order_id=oid,
        channel="pos" if method == "cash" else "app",
        channel_order_id=name,
        lines=[LineRequest(sku=sku, qty=2)],
        fulfilment=choice,
        payment_method=method,
        member_phone=f.phone() if member else None,
    )
    handle = await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(req, SHORT),
        id=order_workflow_id(oid),
        task_queue=QUEUE,
        execution_timeout=timedelta(minutes=5),
    )
    accepted = await handle.execute_update(OrderWorkflow.submit)
    if pay and gateway_url:  # the gateway knows it was paid, so that it can refund
        httpx.post(
            f"{gateway_url}/payments/{accepted.payment_id}/complete", json={"outcome": pay}
        ).raise_for_status()
    if pay:
        await handle.signal(
            OrderWorkflow.payment_result, PaymentResult(accepted.payment_id, pay, f"evt-{name}")
        )
    await act_on(handle, f"{oid}-F-1", actions, sku=sku, picked_qty=picked_qty)
    if then is not None:
        await then(handle, sku)
    await handle.result()
    (HERE / f"{name}.order.json").write_text((await handle.fetch_history()).to_json())


async def request_cancellation(handle: Any, _sku: str) -> None:
    """Temporal UI's "Request Cancellation" on the order's workflow."""
    await handle.cancel()


async def pay_again(handle: Any, _sku: str) -> None:
    """After the failed payment, the member pays again; the gateway says it succeeded."""
    for _ in range(100):
        try:
            opened = await handle.execute_update(OrderWorkflow.pay_again, NewPayment("wechat"))
            break
        except Exception:  # the failure is still being recorded
            await asyncio.sleep(0.05)
    await handle.signal(
        OrderWorkflow.payment_result, PaymentResult(opened.payment_id, "succeeded", "evt-again")
    )
    await act_on(handle, f"{handle.id.removeprefix('order-')}-F-1", [StaffAction("accept")])
    await handle.execute_update(OrderWorkflow.cancel, "changed my mind")


async def act_on(  # type: ignore[no-untyped-def]
    handle, fid: str, actions: list[StaffAction], *, sku: str = "", picked_qty: int | None = None
) -> None:
    """The store's actions on the part `fid`, which runs in the order's workflow, once it is
    dispatched."""
    for action in actions:
        for _ in range(200):
            if await handle.query(OrderWorkflow.part, fid) is not None:
                break
            await asyncio.sleep(0.05)
        if action.action == "pickup":
            action.code = CODES.code(fid)
        if action.action == "picked" and picked_qty is not None:
            action.lines = [LineRequest(sku=sku, qty=picked_qty)]
        await handle.execute_update(OrderWorkflow.act, PartAction(fid, action))


async def run_rerouted(client: Client, engine) -> None:  # type: ignore[no-untyped-def]
    """A delivery whose first store lets the accept window lapse; the next store delivers."""
    if not wanted("rerouted"):
        return
    sku = f.sku(engine, price=990)
    for priority in (1, 2):
        f.stock(engine, f.location(engine, priority=priority), sku, 5)
    oid = "O-rerouted"
    req = OrderRequest(
        order_id=oid,
        channel="app",
        channel_order_id="rerouted",
        lines=[LineRequest(sku=sku, qty=2)],
        fulfilment=FulfilmentChoice(mode="delivery", address=Address(**f.HANGZHOU)),
        payment_method="wechat",
    )
    handle = await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(req, SHORT),
        id=order_workflow_id(oid),
        task_queue=QUEUE,
        execution_timeout=timedelta(minutes=5),
    )
    accepted = await handle.execute_update(OrderWorkflow.submit)
    await handle.signal(
        OrderWorkflow.payment_result,
        PaymentResult(accepted.payment_id, "succeeded", "evt-rerouted"),
    )
    actions = [
        StaffAction("accept"),
        StaffAction("picked"),
        StaffAction("ship", carrier="SF", tracking_no="SF3"),
    ]
    await act_on(handle, f"{oid}-R1-1", actions)
    await handle.result()
    (HERE / "rerouted.order.json").write_text((await handle.fetch_history()).to_json())


async def run_substituted(client: Client, engine, name: str, *, answer: str | None) -> None:  # type: ignore[no-untyped-def]
    """A pickup short of one unit: the store proposes a cheaper item, the member answers
    (`answer`), or no answer comes and the line's preference ("similar") approves it."""
    if not wanted(name):
        return
    loc = f.location(engine)
    sku, other = f.sku(engine, price=1290), f.sku(engine, price=990)
    f.stock(engine, loc, sku, 10)
    f.stock(engine, loc, other, 10)
    oid = f"O-{name}"
    req = OrderRequest(
        order_id=oid,
        channel="pos",
        channel_order_id=name,
        lines=[LineRequest(sku=sku, qty=2)],
        fulfilment=FulfilmentChoice(mode="pickup", location_id=loc),
        payment_method="cash",
        substitutions={sku: "similar"},
    )
    handle = await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(req, SHORT),
        id=order_workflow_id(oid),
        task_queue=QUEUE,
        execution_timeout=timedelta(minutes=5),
    )
    await handle.execute_update(OrderWorkflow.submit)
    fid = f"{oid}-F-1"
    await act_on(handle, fid, [StaffAction("accept")])
    proposal = await handle.execute_update(
        OrderWorkflow.propose_substitution, SubstitutionRequest(fid, sku, other, 1)
    )
    if answer is not None:
        await handle.execute_update(
            OrderWorkflow.answer_substitution,
            SubstitutionAnswer(proposal.substitution_id, answer),
        )
    declined = answer == "decline"
    for _ in range(200):  # the answer (or the wait) carried out: the part's lines show it
        state = await handle.query(OrderWorkflow.part, fid)
        lines = {ln.sku: ln.qty for ln in state.lines} if state else {}
        if (lines == {sku: 1}) if declined else (other in lines):
            break
        await asyncio.sleep(0.05)
    picked = [LineRequest(sku=sku, qty=1)]
    if not declined:
        picked.append(LineRequest(sku=other, qty=1))
    await act_on(handle, fid, [StaffAction("picked", lines=picked), StaffAction("pickup")])
    await handle.result()
    (HERE / f"{name}.order.json").write_text((await handle.fetch_history()).to_json())


async def change_then_fulfil(handle: Any, sku: str) -> None:
    """Before the store picks, the member keeps one unit of two (refunded at once)."""
    await handle.execute_update(OrderWorkflow.change, OrderChange(lines=[LineRequest(sku, 1)]))
    oid = handle.id.removeprefix("order-")
    actions = [
        StaffAction("accept"),
        StaffAction("picked"),
        StaffAction("ship", carrier="SF", tracking_no="SF6"),
        StaffAction("deliver"),
    ]
    await act_on(handle, f"{oid}-F-1", actions)


async def tracked(handle: Any, _sku: str) -> None:
    """The courier's tracking events, the delivery before the transit (reordered)."""
    fid = f"{handle.id.removeprefix('order-')}-F-1"
    for _ in range(200):
        state = await handle.query(OrderWorkflow.part, fid)
        if state is not None and state.status == "shipped":
            break
        await asyncio.sleep(0.05)
    await handle.signal(OrderWorkflow.tracking, TrackingReport(fid, 2, "delivered", "at the door"))
    await handle.signal(OrderWorkflow.tracking, TrackingReport(fid, 1, "in_transit", "on its way"))


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=bundled_binary("temporal"), data_converter=TEST_CONVERTER, ui=False
    )
    await register_search_attributes(env.client)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/oms.db"
        migrate(url)
        engine = make_engine(url)
        with serve(create_sim_app("record", seed=1)) as gateway_url:
            await record_all(env.client, engine, gateway_url)
    await env.shutdown()


async def record_all(client: Client, engine, gateway_url: str) -> None:  # type: ignore[no-untyped-def]
    a = StaffAction
    async with build_worker(
        client,
        engine,
        task_queue=QUEUE,
        gateway=HttpPaymentGateway(gateway_url),
        notify_url="http://127.0.0.1:9/unused",
        pickup_secret="record",
    ):
        await run_path(
            client,
            engine,
            "pickup",
            mode="pickup",
            method="cash",
            actions=[a("accept"), a("picked"), a("pickup")],
        )
        await run_path(
            client,
            engine,
            "delivery",
            mode="delivery",
            method="wechat",
            pay="succeeded",
            actions=[
                a("accept"),
                a("picked"),
                a("ship", carrier="SF", tracking_no="SF1"),
                a("deliver"),
            ],
        )
        await run_path(
            client,
            engine,
            "delivery-auto-confirm",
            mode="delivery",
            method="wechat",
            pay="succeeded",
            actions=[a("accept"), a("picked"), a("ship", carrier="SF", tracking_no="SF2")],
        )
        await run_path(client, engine, "unpaid", mode="delivery", method="wechat", actions=[])
        await run_path(
            client,
            engine,
            "payment-failed",
            mode="delivery",
            method="alipay",
            pay="failed",
            actions=[],
        )
        await run_path(client, engine, "lapsed", mode="pickup", method="cash", actions=[])
        await run_path(
            client,
            engine,
            "rejected",
            mode="pickup",
            method="cash",
            actions=[a("reject", reason="no staff")],
        )
        await run_path(
            client,
            engine,
            "pickup-expired",
            mode="pickup",
            method="cash",
            actions=[a("accept"), a("picked")],
        )
        await run_path(
            client,
            engine,
            "member-pickup",
            mode="pickup",
            method="cash",
            actions=[a("accept"), a("picked"), a("pickup")],
            member=True,
        )
        await run_rerouted(client, engine)
        await run_path(
            client,
            engine,
            "short-pick",
            mode="pickup",
            method="cash",
            actions=[a("accept"), a("picked"), a("pickup")],
            picked_qty=1,
        )

        async def cancel(handle: Any, _sku: str) -> None:
            await handle.execute_update(OrderWorkflow.cancel, "changed my mind")

        await run_path(
            client,
            engine,
            "cancelled",
            mode="delivery",
            method="wechat",
            pay="succeeded",
            actions=[a("accept")],
            then=cancel,
            gateway_url=gateway_url,
        )

        await run_path(
            client,
            engine,
            "cancel-requested",
            mode="pickup",
            method="cash",
            actions=[a("accept")],
            then=request_cancellation,
        )
        await run_path(
            client,
            engine,
            "paid-again",
            mode="delivery",
            method="wechat",
            pay="failed",
            actions=[],
            then=pay_again,
            gateway_url=gateway_url,
        )

        async def give_back(handle: Any, sku: str) -> None:
            for _ in range(100):  # once the order has completed
                if await handle.query(OrderWorkflow.current_status) == "completed":
                    break
                await asyncio.sleep(0.05)
            await handle.execute_update(
                OrderWorkflow.request_return,
                ReturnRequest(lines=[LineRequest(sku=sku, qty=1)], reason="dented"),
            )

        await run_substituted(client, engine, "substituted", answer="approve")
        await run_substituted(client, engine, "substitution-declined", answer="decline")
        await run_substituted(client, engine, "substitution-timed-out", answer=None)
        await run_path(
            client,
            engine,
            "changed",
            mode="delivery",
            method="wechat",
            pay="succeeded",
            actions=[],
            then=change_then_fulfil,
            gateway_url=gateway_url,
        )
        await run_path(
            client,
            engine,
            "tracked",
            mode="delivery",
            method="wechat",
            pay="succeeded",
            actions=[a("accept"), a("picked"), a("ship", carrier="SF", tracking_no="SF7")],
            then=tracked,
        )
        await run_path(
            client,
            engine,
            "returned",
            mode="delivery",
            method="wechat",
            pay="succeeded",
            actions=[
                a("accept"),
                a("picked"),
                a("ship", carrier="SF", tracking_no="SF4"),
                a("deliver"),
            ],
            member=True,
            then=give_back,
            gateway_url=gateway_url,
        )


if __name__ == "__main__":
    asyncio.run(main())
