"""Payments through the simulated gateway: signed webhooks, declines, outages, and forgeries."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.inventory import InventoryRepository
from adapters.payment_gateway import sign
from tests.conftest import WEBHOOK_SECRET, uid
from tests.factories import phone
from tests.integration.conftest import Stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_order_flow import ADDRESS, act, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture
def faults(gateway_url: str) -> Iterator[Any]:
    def set_faults(**kw: float) -> None:
        httpx.put(f"{gateway_url}/faults", json=kw).raise_for_status()

    yield set_faults
    set_faults()


async def delivery_order(stack: Stack, headers: dict[str, str], **over: Any) -> Any:
    loc, sku = await stack.store_with_stock(on_hand=10, price=2550)
    body = {
        "channel_order_id": uid(),
        "payment_method": "wechat",
        "lines": [{"sku": sku, "qty": 2}],
        "fulfilment": {"mode": "delivery", "address": ADDRESS},
    } | over
    r = await stack.http.post("/v1/orders", headers=headers, json=body)
    return r, loc, sku


async def test_a_wechat_order_is_paid_by_the_gateways_webhook_and_completes(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    member = (
        await stack.http.post("/v1/members", headers=app, json={"phone": phone(), "name": "Pay"})
    ).json()
    r, loc, _ = await delivery_order(stack, app, member_phone=member["phone"])
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "awaiting_payment"
    payment_id = order["payment"]["payment_id"]
    r = await stack.http.post(
        f"/v1/sim/payments/{payment_id}", headers=stack.admin, json={"outcome": "succeeded"}
    )
    assert r.status_code == 200, r.text
    paid = await wait_for_status(stack, app, order["order_id"], "fulfilling")
    assert paid["payment"]["status"] == "succeeded"
    staff = await stack.token(role="staff", location_id=loc)
    fid = paid["fulfilments"][0]["fulfilment_id"]
    for action, body in [
        ("accept", {}),
        ("picked", {}),
        ("ship", {"carrier": "SF", "tracking_no": "SF9"}),
        ("deliver", {}),
    ]:
        assert (await act(stack, staff, fid, action, **body)).status_code == 200
    await wait_for_status(stack, app, order["order_id"], "completed")
    got = (await stack.http.get(f"/v1/members/{member['member_id']}", headers=app)).json()
    assert got["points"] == 51  # 1 point per full yuan of 51.00


async def wait_payment(
    stack: Stack, headers: dict[str, str], order_id: str, status: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(100):
        body = (await stack.http.get(f"/v1/orders/{order_id}", headers=headers)).json()
        if body["payment"]["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"payment of {order_id} stayed {body['payment']}")


async def test_a_failed_payment_keeps_the_order_and_the_member_pays_again(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    r, loc, sku = await delivery_order(stack, app)
    order = r.json()
    first = order["payment"]["payment_id"]
    await stack.http.post(
        f"/v1/sim/payments/{first}", headers=stack.admin, json={"outcome": "failed"}
    )
    failed = await wait_payment(stack, app, order["order_id"], "failed")
    assert failed["status"] == "awaiting_payment"  # the member may try again
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 2  # the goods stay held meanwhile
    r = await stack.http.post(
        f"/v1/orders/{order['order_id']}/payments",
        headers=app,
        json={"payment_method": "alipay"},
    )
    assert r.status_code == 201, r.text
    opened = r.json()["opened"]
    assert opened["payment_id"] != first and opened["status"] == "pending"
    r = await stack.http.post(
        f"/v1/sim/payments/{opened['payment_id']}",
        headers=stack.admin,
        json={"outcome": "succeeded"},
    )
    assert r.status_code == 200, r.text
    paid = await wait_for_status(stack, app, order["order_id"], "fulfilling")
    assert paid["payment"] == {
        "payment_id": opened["payment_id"],
        "method": "alipay",
        "amount": order["pricing"]["payable_amount"],
        "status": "succeeded",
    }
    assert [p["status"] for p in paid["payments"]] == ["failed", "succeeded"]
    again = await stack.http.post(
        f"/v1/orders/{order['order_id']}/payments", headers=app, json={"payment_method": "card"}
    )
    assert again.status_code == 409  # paid: no new payment
    assert_error(again.json(), "invalid_transition")


async def test_a_declined_payment_refuses_the_order_with_nothing_reserved(
    stack: Stack, faults: Any
) -> None:
    app = await stack.token(role="channel", channel="app")
    faults(decline_rate=1.0)
    r, loc, sku = await delivery_order(stack, app)
    assert r.status_code == 422
    assert_error(r.json(), "payment_declined")
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0


async def test_a_gateway_outage_refuses_the_order_with_503_and_nothing_reserved(
    stack: Stack, faults: Any
) -> None:
    app = await stack.token(role="channel", channel="app")
    faults(error_rate=1.0)
    r, loc, sku = await delivery_order(stack, app)
    assert r.status_code == 503
    assert_error(r.json(), "payment_unavailable")
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0


def event(payment_id: str, **over: Any) -> bytes:
    return json.dumps(
        {
            "event_id": uid("evt-"),
            "payment_id": payment_id,
            "status": "succeeded",
            "amount": 1,
            "timestamp": int(time.time()),
        }
        | over
    ).encode()


async def test_forged_stale_and_replayed_webhooks_are_refused_and_change_nothing(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    r, _, _ = await delivery_order(stack, app)
    order = r.json()
    pid = order["payment"]["payment_id"]
    url = "/v1/payments/webhook"
    body = event(pid)
    for headers in [{}, {"X-Signature": "00" * 32}, {"X-Signature": sign("wrong", body)}]:
        r = await stack.http.post(url, content=body, headers=headers)
        assert r.status_code == 401
        assert_error(r.json(), "unauthorized")
    stale = event(pid, timestamp=int(time.time()) - 3600)
    r = await stack.http.post(
        url, content=stale, headers={"X-Signature": sign(WEBHOOK_SECRET, stale)}
    )
    assert r.status_code == 401
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
    assert got["status"] == "awaiting_payment"

    amount = order["pricing"]["payable_amount"]
    wrong = event(pid, status="succeeded", amount=amount + 1)
    r = await stack.http.post(
        url, content=wrong, headers={"X-Signature": sign(WEBHOOK_SECRET, wrong)}
    )
    assert r.status_code == 422  # signed, but not what this payment is for
    failed = event(pid, status="failed", amount=amount)
    signed = {"X-Signature": sign(WEBHOOK_SECRET, failed)}
    assert (await stack.http.post(url, content=failed, headers=signed)).json()[
        "status"
    ] == "accepted"
    again = await stack.http.post(url, content=failed, headers=signed)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    await wait_payment(stack, app, order["order_id"], "failed")
    unknown = event("P-NOPE")
    r = await stack.http.post(
        url, content=unknown, headers={"X-Signature": sign(WEBHOOK_SECRET, unknown)}
    )
    assert r.status_code == 404
