"""Cancellations and refunds through the real API: stock, coupons, points and money end exactly
where they should."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from adapters.inventory import InventoryRepository
from tests import factories as f
from tests.conftest import uid
from tests.factories import phone
from tests.integration.conftest import Stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_order_flow import ADDRESS, act, wait_for_status

pytestmark = pytest.mark.integration


async def member_with_balance(stack: Stack, app: dict[str, str], amount: int) -> dict[str, Any]:
    member = (
        await stack.http.post("/v1/members", headers=app, json={"phone": phone(), "name": "Refund"})
    ).json()
    await stack.http.post(
        f"/v1/members/{member['member_id']}/stored-value",
        json={"amount": amount},
        headers=stack.admin,
    )
    return member


async def order(stack: Stack, app: dict[str, str], **over: Any) -> tuple[Any, str, str]:
    loc, sku = await stack.store_with_stock(on_hand=10, price=1500)
    body = {
        "channel_order_id": uid(),
        "payment_method": "wechat",
        "lines": [{"sku": sku, "qty": 2}],
        "fulfilment": {"mode": "delivery", "address": ADDRESS},
    } | over
    r = await stack.http.post("/v1/orders", headers=app, json=body)
    assert r.status_code == 201, r.text
    return r.json(), loc, sku


async def wait_refunds(
    stack: Stack, app: dict[str, str], order_id: str, status: str = "succeeded"
) -> list[dict[str, Any]]:
    refunds: list[dict[str, Any]] = []
    for _ in range(150):
        refunds = (await stack.http.get(f"/v1/orders/{order_id}", headers=app)).json()["refunds"]
        if refunds and all(r["status"] == status for r in refunds):
            return refunds
        await asyncio.sleep(0.1)
    raise AssertionError(f"refunds of {order_id}: {refunds}")


async def test_cancelling_an_unpaid_order_releases_its_stock(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    o, loc, sku = await order(stack, app)
    r = await stack.http.post(
        f"/v1/orders/{o['order_id']}/cancel", headers=app, json={"reason": "changed my mind"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["refunds"] == []
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0
    again = await stack.http.post(f"/v1/orders/{o['order_id']}/cancel", headers=app, json={})
    assert again.status_code == 409
    assert_error(again.json(), "invalid_transition")


async def test_cancelling_a_paid_order_refunds_its_stored_value_and_stops_the_store(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    member = await member_with_balance(stack, app, 5000)
    o, loc, sku = await order(
        stack, app, payment_method="stored_value", member_phone=member["phone"]
    )
    staff = await stack.token(role="staff", location_id=loc)
    fid = o["fulfilments"][0]["fulfilment_id"]
    assert (await act(stack, staff, fid, "accept")).status_code == 200
    r = await stack.http.post(
        f"/v1/orders/{o['order_id']}/cancel", headers=app, json={"reason": "too slow"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["fulfilments"][0]["status"] == "cancelled"
    refunds = await wait_refunds(stack, app, o["order_id"])
    assert [x["amount"] for x in refunds] == [3000]
    got = (await stack.http.get(f"/v1/members/{member['member_id']}", headers=app)).json()
    assert got["stored_value_amount"] == 5000
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (10, 0)
    nope = await act(stack, staff, fid, "picked")
    assert nope.status_code == 409
    assert_error(nope.json(), "invalid_transition")


async def test_an_order_cannot_be_cancelled_once_shipped(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    o, loc, _ = await order(stack, pos, payment_method="cash")
    staff = await stack.token(role="staff", location_id=loc)
    fid = o["fulfilments"][0]["fulfilment_id"]
    for action, body in [
        ("accept", {}),
        ("picked", {}),
        ("ship", {"carrier": "SF", "tracking_no": "SF1"}),
    ]:
        assert (await act(stack, staff, fid, action, **body)).status_code == 200
    r = await stack.http.post(f"/v1/orders/{o['order_id']}/cancel", headers=pos, json={})
    assert r.status_code == 409
    assert_error(r.json(), "already_shipped")


async def test_a_refund_the_gateway_refuses_stays_pending_and_is_retried_until_it_succeeds(
    stack: Stack, gateway_url: str
) -> None:
    app = await stack.token(role="channel", channel="app")
    o, _, _ = await order(stack, app)
    await stack.http.post(
        f"/v1/sim/payments/{o['payment']['payment_id']}",
        headers=stack.admin,
        json={"outcome": "succeeded"},
    )
    await wait_for_status(stack, app, o["order_id"], "fulfilling")
    httpx.put(f"{gateway_url}/faults", json={"error_rate": 1.0}).raise_for_status()
    try:
        r = await stack.http.post(f"/v1/orders/{o['order_id']}/cancel", headers=app, json={})
        assert r.status_code == 200, r.text
        await wait_refunds(stack, app, o["order_id"], status="pending")
        pending = (
            await stack.http.get("/v1/admin/refunds?status=pending", headers=stack.admin)
        ).json()["refunds"]
        assert o["order_id"] in {x["order_id"] for x in pending}
    finally:
        httpx.put(f"{gateway_url}/faults", json={}).raise_for_status()
    refunds = await wait_refunds(stack, app, o["order_id"])
    assert [x["amount"] for x in refunds] == [3000]


async def test_a_short_pick_refunds_the_missing_units_and_only_what_left_leaves_stock(
    stack: Stack,
) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10, price=1000)
    o = await stack.place(pos, sku, 3)
    staff = await stack.token(role="staff", location_id=loc)
    fid = o["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    picked = await act(stack, staff, fid, "picked", lines=[{"sku": sku, "qty": 2}])
    assert picked.json()["lines"] == [{"sku": sku, "qty": 3, "picked_qty": 2}]
    again = await act(stack, staff, fid, "picked", lines=[{"sku": sku, "qty": 3}])
    assert again.json()["lines"][0]["picked_qty"] == 2  # the same action twice: applied once
    await act(stack, staff, fid, "ship", carrier="SF", tracking_no="SF7")
    await act(stack, staff, fid, "deliver")
    final = await wait_for_status(stack, pos, o["order_id"], "completed")
    refunds = await wait_refunds(stack, pos, final["order_id"])
    assert [(x["amount"], x["lines"]) for x in refunds] == [
        (1000, [{"sku": sku, "qty": 1, "amount": 1000}])
    ]
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (8, 0)


async def test_a_rejecting_store_loses_credit_and_the_part_goes_elsewhere(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    sku = f.sku(stack.engine, price=800)
    first = f.location(stack.engine, priority=1)
    second = f.location(stack.engine, priority=2)
    f.stock(stack.engine, first, sku, 5)
    f.stock(stack.engine, second, sku, 5)
    o = await stack.place(pos, sku, 1)
    assert o["fulfilments"][0]["location_id"] == first
    staff = await stack.token(role="staff", location_id=first)
    rejected = await act(
        stack, staff, o["fulfilments"][0]["fulfilment_id"], "reject", reason="no one to pick"
    )
    assert rejected.json()["status"] == "rejected"
    for _ in range(100):
        got = (await stack.http.get(f"/v1/orders/{o['order_id']}", headers=pos)).json()
        if len(got["fulfilments"]) == 2:
            break
        await asyncio.sleep(0.1)
    assert [x["location_id"] for x in got["fulfilments"]] == [first, second]
    loc = (await stack.http.get(f"/v1/admin/locations/{first}", headers=stack.admin)).json()
    for _ in range(50):
        if loc["credit_score"] == 95:
            break
        await asyncio.sleep(0.1)
        loc = (await stack.http.get(f"/v1/admin/locations/{first}", headers=stack.admin)).json()
    assert loc["credit_score"] == 95


async def test_a_rejected_part_no_other_location_can_serve_is_refunded(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=5, price=1200)
    o = await stack.place(pos, sku, 2, pickup_at=loc)
    staff = await stack.token(role="staff", location_id=loc)
    await act(stack, staff, o["fulfilments"][0]["fulfilment_id"], "reject", reason="closed")
    final = await wait_for_status(stack, pos, o["order_id"], "cancelled")
    refunds = await wait_refunds(stack, pos, final["order_id"])
    assert [x["amount"] for x in refunds] == [2400]
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0
