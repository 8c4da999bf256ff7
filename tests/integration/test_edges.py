"""The edges where money or goods used to leak, tried through the API on the real stack: late
payments, repeated SKUs, resubmissions, refusals that must leave nothing behind, refunds a
gateway refuses for good, and the smaller defects of the edge review."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.payment_gateway import HttpPaymentGateway, sign
from tests.conftest import WEBHOOK_SECRET, uid
from tests.factories import phone
from tests.integration.conftest import HZ_ADDRESS, Stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_cancel_and_refunds import member_with_balance, wait_refunds
from tests.integration.test_order_flow import act, wait_for_status
from workers.reconcile import check_database, check_gateway
from workflows.messages import order_workflow_id

pytestmark = pytest.mark.integration


async def wechat_order(stack: Stack, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    loc, sku = await stack.store_with_stock(on_hand=10, price=1000)
    body = {
        "channel_order_id": uid(),
        "payment_method": "wechat",
        "lines": [{"sku": sku, "qty": 2}],
        "fulfilment": {"mode": "delivery", "address": HZ_ADDRESS},
    } | over
    r = await stack.http.post("/v1/orders", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def workflow_closed(stack: Stack, order_id: str) -> None:
    handle = stack.temporal.get_workflow_handle(order_workflow_id(order_id))
    for _ in range(200):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the workflow of {order_id} is still running")


def charged_and_refunded(gateway_url: str, payment_id: str) -> tuple[str, int, int]:
    bill = httpx.get(f"{gateway_url}/payments").json()["payments"]
    p = next(p for p in bill if p["payment_id"] == payment_id)
    return p["status"], p["amount"], p["refunded"]


# --- payments that succeed too late --------------------------------------------------------


async def test_a_cancelled_orders_payment_is_closed_and_a_late_success_is_refunded_in_full(
    stack: Stack, gateway_url: str
) -> None:
    app = await stack.token(role="channel", channel="app")
    order = await wechat_order(stack, app)
    pid = order["payment"]["payment_id"]
    r = await stack.http.post(f"/v1/orders/{order['order_id']}/cancel", headers=app, json={})
    assert r.status_code == 200, r.text
    await wait_for_status(stack, app, order["order_id"], "cancelled")
    await workflow_closed(stack, order["order_id"])
    # the payment was closed at the gateway: the member cannot be charged any more
    r = await stack.http.post(
        f"/v1/sim/payments/{pid}", headers=stack.admin, json={"outcome": "succeeded"}
    )
    assert r.status_code == 409
    assert_error(r.json(), "payment_closed")
    # a real gateway's late notice: charged anyway; the member gets it all back at once
    r = await stack.http.post(
        f"/v1/sim/payments/{pid}",
        headers=stack.admin,
        json={"outcome": "succeeded", "force": True},
    )
    assert r.status_code == 200, r.text
    refunds = await wait_refunds(stack, app, order["order_id"])
    assert [(x["amount"], x["lines"]) for x in refunds] == [(2000, [])]
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
    assert got["status"] == "cancelled" and got["payment"]["status"] == "succeeded"
    assert charged_and_refunded(gateway_url, pid) == ("succeeded", 2000, 2000)


async def test_a_success_of_a_replaced_payment_is_refunded_while_the_order_goes_on(
    stack: Stack, gateway_url: str
) -> None:
    """The member's first payment seemed to fail to go through and they paid again; then the
    first one succeeds after all: the order keeps one payment and refunds the other."""
    app = await stack.token(role="channel", channel="app")
    order = await wechat_order(stack, app)
    first = order["payment"]["payment_id"]
    r = await stack.http.post(
        f"/v1/orders/{order['order_id']}/payments", headers=app, json={"payment_method": "alipay"}
    )
    assert r.status_code == 201, r.text
    second = r.json()["opened"]["payment_id"]
    await stack.http.post(
        f"/v1/sim/payments/{second}", headers=stack.admin, json={"outcome": "succeeded"}
    )
    await wait_for_status(stack, app, order["order_id"], "fulfilling")
    r = await stack.http.post(
        f"/v1/sim/payments/{first}",
        headers=stack.admin,
        json={"outcome": "succeeded", "force": True},
    )
    assert r.status_code == 200, r.text
    refunds = await wait_refunds(stack, app, order["order_id"])
    assert [(x["amount"], x["reason"].split(":")[0]) for x in refunds] == [
        (2000, "payment succeeded after the order was already paid by " + second)
    ]
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
    assert got["status"] == "fulfilling" and got["payment"]["payment_id"] == second
    assert charged_and_refunded(gateway_url, first) == ("succeeded", 2000, 2000)
    assert charged_and_refunded(gateway_url, second) == ("succeeded", 2000, 0)


async def test_a_signed_webhook_for_an_ended_order_always_gets_a_2xx(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    order = await wechat_order(stack, app)
    await stack.http.post(f"/v1/orders/{order['order_id']}/cancel", headers=app, json={})
    await workflow_closed(stack, order["order_id"])
    body = json.dumps(
        {
            "event_id": uid("evt-"),
            "payment_id": order["payment"]["payment_id"],
            "status": "failed",
            "amount": order["pricing"]["payable_amount"],
            "timestamp": int(time.time()),
        }
    ).encode()
    r = await stack.http.post(
        "/v1/payments/webhook", content=body, headers={"X-Signature": sign(WEBHOOK_SECRET, body)}
    )
    assert r.status_code == 200 and r.json()["status"] == "recorded"


# --- repeated SKUs ---------------------------------------------------------------------------


async def test_a_sku_listed_twice_is_refused_everywhere_alike(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    twice = [{"sku": sku, "qty": 1}, {"sku": sku, "qty": 2}]
    body = {
        "payment_method": "cash",
        "lines": twice,
        "fulfilment": {"mode": "pickup", "location_id": loc},
    }
    for path, payload in [
        ("/v1/quotes", body),
        ("/v1/orders", body | {"channel_order_id": uid()}),
    ]:
        r = await stack.http.post(path, headers=pos, json=payload)
        assert r.status_code == 422, r.text
        assert_error(r.json(), "duplicate_sku")
        assert r.json()["error"]["details"] == {"sku": sku}
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0
    order = await stack.place(pos, sku, 3, pickup_at=loc)
    staff = await stack.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    r = await act(stack, staff, fid, "picked", lines=twice)
    assert r.status_code == 422
    assert_error(r.json(), "duplicate_sku")
    await act(stack, staff, fid, "picked")
    code = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()[
        "fulfilments"
    ][0]["pickup_code"]
    assert (await act(stack, staff, fid, "pickup", code=code)).status_code == 200
    await wait_for_status(stack, pos, order["order_id"], "completed")
    r = await stack.http.post(
        f"/v1/orders/{order['order_id']}/returns", headers=pos, json={"lines": twice}
    )
    assert r.status_code == 422
    assert_error(r.json(), "duplicate_sku")
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
    assert got["refunds"] == []


# --- returns name what was received ----------------------------------------------------------


async def test_a_return_of_a_sku_not_in_the_order_or_of_too_many_units_is_refused(
    stack: Stack,
) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    order = await stack.place(pos, sku, 2, pickup_at=loc)
    staff = await stack.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    await act(stack, staff, fid, "picked")
    view = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
    await act(stack, staff, fid, "pickup", code=view["fulfilments"][0]["pickup_code"])
    await wait_for_status(stack, pos, order["order_id"], "completed")
    url = f"/v1/orders/{order['order_id']}/returns"
    r = await stack.http.post(url, headers=pos, json={"lines": [{"sku": "NOT-IN-IT", "qty": 1}]})
    assert r.status_code == 422
    assert_error(r.json(), "unknown_sku")
    r = await stack.http.post(url, headers=pos, json={"lines": [{"sku": sku, "qty": 3}]})
    assert r.status_code == 422
    assert_error(r.json(), "too_many_units")
    assert r.json()["error"]["details"]["returnable"] == 2
    assert (
        await stack.http.post(url, headers=pos, json={"lines": [{"sku": sku, "qty": 2}]})
    ).status_code == 200
    r = await stack.http.post(url, headers=pos, json={"lines": [{"sku": sku, "qty": 1}]})
    assert r.status_code in (409, 422)  # everything is back: nothing more to return


# --- submissions: one reading of one request ------------------------------------------------


async def test_a_reused_channel_order_id_with_another_body_is_a_conflict(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    body = {
        "channel_order_id": uid(),
        "payment_method": "cash",
        "lines": [{"sku": sku, "qty": 1}],
        "fulfilment": {"mode": "pickup", "location_id": loc},
    }
    first = await stack.http.post("/v1/orders", headers=pos, json=body)
    assert first.status_code == 201
    same = await stack.http.post("/v1/orders", headers=pos, json=body)
    assert same.status_code == 200 and same.json()["order_id"] == first.json()["order_id"]
    other = body | {"lines": [{"sku": sku, "qty": 2}], "payment_method": "wechat"}
    r = await stack.http.post("/v1/orders", headers=pos, json=other)
    assert r.status_code == 409
    assert_error(r.json(), "idempotency_conflict")
    assert r.json()["error"]["details"]["fields"] == ["lines", "payment_method"]
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 1


async def test_a_pickup_where_there_is_no_pickup_is_location_not_available(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10, pickup=False)
    body = {
        "payment_method": "cash",
        "lines": [{"sku": sku, "qty": 1}],
        "fulfilment": {"mode": "pickup", "location_id": loc},
    }
    for path, payload in [("/v1/quotes", body), ("/v1/orders", body | {"channel_order_id": uid()})]:
        r = await stack.http.post(path, headers=pos, json=payload)
        assert r.status_code == 422, r.text
        assert_error(r.json(), "location_not_available")
        assert "pickup" in r.json()["error"]["message"]


async def test_a_refused_order_leaves_no_member_and_no_open_workflow(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku = await stack.store_with_stock(on_hand=10)
    stranger = phone()
    r = await stack.http.post(
        "/v1/orders",
        headers=app,
        json={
            "channel_order_id": (coid := uid()),
            "payment_method": "stored_value",
            "member_phone": stranger,
            "lines": [{"sku": sku, "qty": 1}],
            "fulfilment": {"mode": "delivery", "address": HZ_ADDRESS},
        },
    )
    assert r.status_code == 422, r.text
    assert "member" in r.json()["error"]["message"]
    assert MemberRepository(stack.engine).by_phone(stranger) is None
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0
    from domain.orders import order_id_for

    handle = stack.temporal.get_workflow_handle(order_workflow_id(order_id_for("app", coid)))
    for _ in range(100):
        desc = await handle.describe()
        if desc.status != WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.05)
    assert desc.status == WorkflowExecutionStatus.COMPLETED
    attrs = {k.name: v for k, v in desc.typed_search_attributes}  # type: ignore[attr-defined]
    assert attrs["OrderStatus"] == "refused" and attrs["RefusalReason"] == "invalid_request"
    assert attrs["ChannelOrderId"] == coid


async def test_a_status_filter_that_is_no_status_is_refused(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    r = await stack.http.get("/v1/orders?status=bogus", headers=app)
    assert r.status_code == 422
    assert_error(r.json(), "invalid_request")


# --- refunds at the moment they are due --------------------------------------------------


async def test_a_short_pick_is_refunded_when_it_is_recorded(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    member = await member_with_balance(stack, app, 100_000)
    loc, sku = await stack.store_with_stock(on_hand=10, price=1000)
    order = await stack.place(app, sku, 3, method="stored_value", member_phone=member["phone"])
    staff = await stack.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    r = await act(stack, staff, fid, "picked", lines=[{"sku": sku, "qty": 1}])
    assert r.status_code == 200, r.text
    refunds = await wait_refunds(stack, app, order["order_id"])  # before it ships
    assert [(x["amount"], x["lines"]) for x in refunds] == [
        (2000, [{"sku": sku, "qty": 2, "amount": 2000}])
    ]
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
    assert got["status"] == "fulfilling"
    assert any(
        t["event"] == "refund_requested" and "short picked" in t["detail"] for t in got["timeline"]
    )


async def test_a_members_cancel_is_logged_as_theirs(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    order = await stack.place(pos, sku, 1, pickup_at=loc)
    r = await stack.http.post(
        f"/v1/orders/{order['order_id']}/cancel",
        headers=pos,
        json={"reason": "bought it elsewhere"},
    )
    assert r.status_code == 200, r.text
    final = await wait_for_status(stack, pos, order["order_id"], "cancelled")
    cancelled = [t for t in final["timeline"] if t["event"] == "cancelled"]
    assert cancelled and "bought it elsewhere" in cancelled[-1]["detail"]
    assert not any("no part could be fulfilled" in t["detail"] for t in final["timeline"])


async def test_error_messages_read_as_sentences(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    order = await stack.place(pos, sku, 1, pickup_at=loc)
    staff = await stack.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    r = await act(stack, staff, fid, "picked")
    assert r.status_code == 409
    message = r.json()["error"]["message"]
    assert message == "cannot record the pick of a pickup part that is dispatched"
    r = await act(stack, staff, fid, "ship", carrier="SF", tracking_no="1")
    assert r.json()["error"]["message"] == "cannot ship a pickup part that is dispatched"


# --- refunds the gateway refuses for good ------------------------------------------------


async def test_a_refund_refused_for_good_is_failed_until_operations_close_it(
    stack: Stack, gateway_url: str
) -> None:
    app = await stack.token(role="channel", channel="app")
    order = await wechat_order(stack, app)
    await stack.http.post(
        f"/v1/sim/payments/{order['payment']['payment_id']}",
        headers=stack.admin,
        json={"outcome": "succeeded"},
    )
    await wait_for_status(stack, app, order["order_id"], "fulfilling")
    httpx.put(f"{gateway_url}/faults", json={"refuse_refunds": True}).raise_for_status()
    try:
        r = await stack.http.post(f"/v1/orders/{order['order_id']}/cancel", headers=app, json={})
        assert r.status_code == 200, r.text
        [refund] = await wait_refunds(stack, app, order["order_id"], status="failed")
    finally:
        httpx.put(f"{gateway_url}/faults", json={}).raise_for_status()
    assert "refused" in refund["detail"]
    failed = (await stack.http.get("/v1/admin/refunds?status=failed", headers=stack.admin)).json()
    assert refund["refund_id"] in {x["refund_id"] for x in failed["refunds"]}
    await workflow_closed(stack, order["order_id"])  # the order does not wait on it forever
    assert any(refund["refund_id"] in p for p in check_database(stack.engine))
    close = f"/v1/admin/refunds/{refund['refund_id']}/close"
    r = await stack.http.post(close, headers=app, json={"reason": "x"})
    assert r.status_code == 403
    r = await stack.http.post(
        close, headers=stack.admin, json={"reason": "paid back in cash at the desk"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert not any(refund["refund_id"] in p for p in check_database(stack.engine))
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
    assert got["refunds"][0]["status"] == "closed"
    assert any(t["event"] == "refund_closed" for t in got["timeline"])


async def test_reconciliation_finds_a_gateway_charge_that_no_order_keeps(
    stack: Stack, gateway_url: str
) -> None:
    stray = uid("P-STRAY-")
    httpx.post(
        f"{gateway_url}/payments",
        json={
            "payment_id": stray,
            "amount": 500,
            "method": "wechat",
            "notify_url": "http://127.0.0.1:9/",
        },
    ).raise_for_status()
    httpx.post(f"{gateway_url}/payments/{stray}/complete", json={"outcome": "succeeded"})
    problems = check_gateway([stack.engine], HttpPaymentGateway(gateway_url))
    assert any(stray in p and "has no order" in p for p in problems)
    httpx.post(
        f"{gateway_url}/refunds", json={"refund_id": uid("R-"), "payment_id": stray, "amount": 500}
    ).raise_for_status()
    problems = check_gateway([stack.engine], HttpPaymentGateway(gateway_url))
    assert not any(stray in p for p in problems)
