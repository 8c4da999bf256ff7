"""What Temporal UI's buttons do to an order, on the real dev server, at every stage of an order:
"Request Cancellation" is an operator's cancel; "Terminate" is followed by the repair; "Reset"
to the first workflow task lets the order finish from its records, redoing nothing. After each,
money, stock and the read model agree (reconciliation finds nothing about the order)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from adapters.inventory import InventoryRepository
from tests.conftest import uid
from tests.factories import phone
from tests.integration.conftest import HZ_ADDRESS, Stack, running_stack
from tests.integration.test_order_flow import act
from workers.reconcile import check_database
from workers.temporal import bundled_binary
from workflows.messages import order_workflow_id

pytestmark = pytest.mark.integration

# A stage of an order, and what the store has done by then.
STAGES = {
    "awaiting_payment": [],
    "dispatched": [],
    "accepted": ["accept"],
    "picked": ["accept", "picked"],
    "shipped": ["accept", "picked", "ship"],
    "completed": ["accept", "picked", "ship", "deliver"],
}
HANDED_OVER = ("shipped", "completed")


@pytest.fixture(scope="module")
async def ops(
    sqlite_engine: Engine,
    dev_env: WorkflowEnvironment,
    gateway_url: str,
    tmp_path_factory: Any,
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine,
        dev_env.client,
        gateway_url,
        tmp_path_factory.mktemp("ops"),
        payment_timeout_s=120,
        accept_timeout_s=120,
        delivery_confirm_s=3600,
        return_window_s=4,
    ) as s:
        yield s


class Order:
    def __init__(self, stack: Stack, view: dict[str, Any], loc: str, sku: str) -> None:
        self.stack, self.view, self.loc, self.sku = stack, view, loc, sku
        self.id = view["order_id"]
        self.fid = view["fulfilments"][0]["fulfilment_id"]
        self.handle: WorkflowHandle[Any, Any] = stack.temporal.get_workflow_handle(
            order_workflow_id(self.id)
        )

    async def staff(self) -> dict[str, str]:
        return await self.stack.token(role="staff", location_id=self.loc)

    async def do(self, action: str) -> Any:
        body = {"carrier": "SF", "tracking_no": uid("SF")} if action == "ship" else {}
        return await act(self.stack, await self.staff(), self.fid, action, **body)

    async def get(self) -> dict[str, Any]:
        return (await self.stack.http.get(f"/v1/orders/{self.id}", headers=self.stack.admin)).json()  # type: ignore[no-any-return]

    async def until(self, check: Any, what: str) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for _ in range(300):
            view = await self.get()
            if check(view):
                return view
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.id}: {what}; it is {view.get('status')}: {view}")

    async def status(self, status: str) -> dict[str, Any]:
        return await self.until(lambda v: v["status"] == status, f"never {status}")

    async def workflow_status(self) -> WorkflowExecutionStatus | None:
        return (await self.handle.describe()).status

    def reserved(self) -> int:
        row = InventoryRepository(self.stack.engine).get(self.loc, self.sku)
        assert row is not None
        return row.reserved

    def problems(self) -> list[str]:
        return [p for p in check_database(self.stack.engine) if self.id in p]


async def order_at(stack: Stack, stage: str) -> Order:
    """A delivery order of 2 x 15.00, paid through the gateway, taken to `stage`."""
    app = await stack.token(role="channel", channel="app")
    loc, sku = await stack.store_with_stock(on_hand=10, price=1500)
    r = await stack.http.post(
        "/v1/orders",
        headers=app,
        json={
            "channel_order_id": uid(),
            "payment_method": "wechat",
            "member_phone": phone(),
            "lines": [{"sku": sku, "qty": 2}],
            "fulfilment": {"mode": "delivery", "address": HZ_ADDRESS},
        },
    )
    assert r.status_code == 201, r.text
    order = Order(stack, r.json(), loc, sku)
    if stage == "awaiting_payment":
        return order
    r = await stack.http.post(
        f"/v1/sim/payments/{order.view['payment']['payment_id']}",
        headers=stack.admin,
        json={"outcome": "succeeded"},
    )
    assert r.status_code == 200, r.text
    await order.status("fulfilling")
    for action in STAGES[stage]:
        assert (await order.do(action)).status_code == 200
    if stage == "completed":
        await order.status("completed")
    return order


async def finish(order: Order, stage: str) -> dict[str, Any]:
    """The store does what is left (the order is still going ahead)."""
    if stage == "awaiting_payment":
        pid = (await order.get())["payment"]["payment_id"]
        r = await order.stack.http.post(
            f"/v1/sim/payments/{pid}", headers=order.stack.admin, json={"outcome": "succeeded"}
        )
        assert r.status_code == 200, r.text
        await order.until(
            lambda v: v["fulfilments"][0]["status"] == "dispatched", "never dispatched"
        )
    done = STAGES[stage]
    for action in [a for a in STAGES["completed"] if a not in done]:
        r = await order.do(action)
        assert r.status_code == 200, (action, r.text)
    return await order.status("completed")


def assert_refunded_in_full(view: dict[str, Any]) -> None:
    assert sum(r["amount"] for r in view["refunds"]) == view["pricing"]["payable_amount"]
    assert all(r["status"] == "succeeded" for r in view["refunds"])


async def refunds_settled(order: Order) -> dict[str, Any]:
    return await order.until(
        lambda v: all(r["status"] == "succeeded" for r in v["refunds"]), "refunds pending"
    )


# --- Request Cancellation ----------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(STAGES))
async def test_a_cancellation_request_is_an_operators_cancel(ops: Stack, stage: str) -> None:
    order = await order_at(ops, stage)
    await order.handle.cancel()
    if stage in HANDED_OVER:  # too late: recorded, and the order carries on
        await order.until(
            lambda v: any(t["event"] == "cancel_request_declined" for t in v["timeline"]),
            "the request is not in the timeline",
        )
        final = await finish(order, stage)
        assert final["refunds"] == []
    else:
        final = await order.status("cancelled")
        assert any(
            "operations" in t["detail"] for t in final["timeline"] if t["event"] == "cancelled"
        )
        if stage != "awaiting_payment":
            final = await refunds_settled(order)
            assert_refunded_in_full(final)
        assert order.reserved() == 0
        assert final["fulfilments"][0]["status"] == "cancelled"
        r = await order.do("accept")
        assert r.status_code == 409
    assert order.problems() == []


# --- Terminate, then repair -------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(STAGES))
async def test_a_terminated_order_is_repaired(ops: Stack, stage: str) -> None:
    order = await order_at(ops, stage)
    before = await order.get()
    await order.handle.terminate(reason="pressed by operations")
    r = await ops.http.post(f"/v1/admin/orders/{order.id}/repair", headers=ops.admin)
    assert r.status_code == 200, r.text
    final = await order.get()
    if stage == "completed":
        assert r.json()["repair"] == "nothing to repair"
        assert final["status"] == "completed" and final["refunds"] == before["refunds"]
    elif stage == "shipped":  # the goods are on their way: kept and settled, nothing refunded
        assert r.json()["repair"] == "completed"
        assert final["status"] == "completed" and final["refunds"] == []
        assert final["fulfilments"][0]["status"] == "delivered"
    else:
        assert r.json()["repair"] == "cancelled"
        assert final["status"] == "cancelled"
        if stage != "awaiting_payment":
            assert_refunded_in_full(final)
        assert final["fulfilments"][0]["status"] == "cancelled"
        assert any(t["event"].startswith("repaired") for t in final["timeline"])
    assert order.reserved() == 0
    again = await ops.http.post(f"/v1/admin/orders/{order.id}/repair", headers=ops.admin)
    assert again.status_code == 200 and again.json()["order"] == final  # nothing twice
    assert order.problems() == []


async def test_a_running_order_is_not_repaired_and_the_sweep_finds_the_terminated_ones(
    ops: Stack,
) -> None:
    running = await order_at(ops, "accepted")
    r = await ops.http.post(f"/v1/admin/orders/{running.id}/repair", headers=ops.admin)
    assert r.status_code == 409
    ended = await order_at(ops, "picked")
    await ended.handle.terminate(reason="pressed by operations")
    from workers.cli import run_repair

    lines = await run_repair(ops.settings, [], client=ops.temporal)
    assert any(ended.id in line for line in lines), lines
    assert (await ended.get())["status"] == "cancelled"
    assert (await running.get())["status"] == "fulfilling"
    assert ended.problems() == []


# --- Reset -------------------------------------------------------------------------------------


def reset(stack: Stack, order: Order, *, reapply: str) -> None:
    """Temporal UI's "Reset" to the first workflow task, as the CLI does it."""
    target = stack.temporal.service_client.config.target_host
    args = [
        bundled_binary("temporal"),
        "workflow",
        "reset",
        "--address",
        target,
        "--namespace",
        "default",
        "--workflow-id",
        order_workflow_id(order.id),
        "--type",
        "FirstWorkflowTask",
        "--reason",
        "pressed by operations",
        "--yes",
    ]
    if reapply != "default":
        args += ["--reapply-exclude", reapply]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout


@pytest.mark.parametrize(
    ("stage", "reapply"),
    [(stage, "default") for stage in STAGES] + [("picked", "All"), ("completed", "All")],
)
async def test_a_reset_order_finishes_from_its_records_redoing_nothing(
    ops: Stack, stage: str, reapply: str
) -> None:
    order = await order_at(ops, stage)
    before = await order.get()
    reset(ops, order, reapply=reapply)
    # the read model never goes back: the store's work list keeps telling the truth
    await asyncio.sleep(0.5)
    now = await order.get()
    assert now["status"] == before["status"]
    assert now["fulfilments"][0]["status"] == before["fulfilments"][0]["status"]
    final = await finish(order, stage) if stage != "completed" else await order.status("completed")
    assert final["refunds"] == []  # nothing given back for goods handed over
    timeline = [t["event"] for t in final["timeline"]]
    for event in ("accept", "picked", "ship", "deliver", "completed"):
        assert timeline.count(event) == 1, (event, timeline)
    for _ in range(200):  # the new run ends with its return window
        if await order.workflow_status() != WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
    assert await order.workflow_status() == WorkflowExecutionStatus.COMPLETED
    assert order.reserved() == 0
    assert order.problems() == []


def test_make_repair_with_temporal_down_says_so_in_a_line(tmp_path: Path) -> None:
    import os
    import sys

    from workers.dev import free_port

    closed = free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env |= {"OMS_HOME": str(tmp_path), "OMS_TEMPORAL_ADDRESS": f"127.0.0.1:{closed}"}
    done = subprocess.run(  # what `make repair` runs
        [sys.executable, "-m", "workers.cli", "repair"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        f"repair: Temporal at 127.0.0.1:{closed} could not be reached (Connection refused): "
        "is the stack running (`make dev`)?"
    )
