"""Orders through the real API, the real dev server and both databases, driven as a channel and
store staff would drive them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.inventory import InventoryRepository
from tests.conftest import uid
from tests.factories import phone
from tests.integration.conftest import Stack
from tests.integration.test_api_foundation import assert_error

pytestmark = pytest.mark.integration
ADDRESS = {
    "province": "Zhejiang",
    "city": "Hangzhou",
    "lat": 30.27,
    "lng": 120.15,
    "line1": "1 Lakeside Rd",
    "recipient": "Li",
    "phone": "13800000001",
}


async def submit(stack: Stack, channel: dict[str, str], **body: Any) -> Any:
    payload = {"channel_order_id": uid("CO-"), "payment_method": "cash"} | body
    return await stack.http.post("/v1/orders", json=payload, headers=channel)


async def act(stack: Stack, staff: dict[str, str], fid: str, action: str, **body: Any) -> Any:
    return await stack.http.post(f"/v1/fulfilments/{fid}/{action}", json=body, headers=staff)


async def test_a_pickup_order_completes_through_the_api(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    staff = await stack.token(role="staff", location_id=loc)
    r = await submit(
        stack,
        pos,
        lines=[{"sku": sku, "qty": 3}],
        fulfilment={"mode": "pickup", "location_id": loc},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["payment"]["status"] == "succeeded"
    assert order["pricing"]["payable_amount"] == 3 * 1290
    fid = order["fulfilments"][0]["fulfilment_id"]

    assert (await act(stack, staff, fid, "accept")).json()["status"] == "accepted"
    r = await act(stack, staff, fid, "picked", lines=[])
    assert r.json()["status"] == "ready_for_pickup" and r.json()["pickup_code"] is None
    work = (await stack.http.get(f"/v1/locations/{loc}/fulfilments", headers=staff)).json()
    assert all(f["pickup_code"] is None for f in work["fulfilments"])
    code = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()[
        "fulfilments"
    ][0]["pickup_code"]
    assert code and len(code) == 6

    wrong = await act(stack, staff, fid, "pickup", code="000000" if code != "000000" else "1")
    assert wrong.status_code == 409
    assert_error(wrong.json(), "wrong_pickup_code")
    assert (await act(stack, staff, fid, "pickup", code=code)).json()["status"] == "picked_up"
    again = await act(stack, staff, fid, "pickup", code=code)
    assert again.status_code == 200 and again.json()["status"] == "picked_up"

    final = await wait_for_status(stack, pos, order["order_id"], "completed")
    events = [t["event"] for t in final["timeline"]]
    assert events[0] == "submitted" and events[-1] == "completed"
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (7, 0)

    # Temporal shows the part picked up and the order completed, both by the completion's one
    # upsert (the part's last status waits for it, in the same workflow task)
    wid = f"order-{order['order_id']}"
    query = f'PartStatuses="{loc}:picked_up" AND OrderStatus="completed"'
    assert await workflows_found(stack, query) == [wid]
    history = await stack.temporal.get_workflow_handle(wid).fetch_history()
    upserts = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    assert upserts[-1] == {"OrderStatus", "PartStatuses"}
    assert [u for u in upserts if u == {"PartStatuses"}] == [
        {"PartStatuses"}
    ] * 2  # accepted, ready


async def test_a_delivery_order_paid_by_stored_value_ships_and_completes(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku = await stack.store_with_stock(on_hand=10, price=1000)
    staff = await stack.token(role="staff", location_id=loc)
    member = (
        await stack.http.post("/v1/members", headers=app, json={"phone": phone(), "name": "Wang"})
    ).json()
    r = await stack.http.post(
        f"/v1/members/{member['member_id']}/stored-value",
        json={"amount": 5000},
        headers=stack.admin,
    )
    assert r.json()["stored_value_amount"] == 5000
    r = await submit(
        stack,
        app,
        member_phone=member["phone"],
        payment_method="stored_value",
        lines=[{"sku": sku, "qty": 2}],
        fulfilment={"mode": "delivery", "address": ADDRESS},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    member_now = (await stack.http.get(f"/v1/members/{member['member_id']}", headers=app)).json()
    assert member_now["stored_value_amount"] == 3000
    part = next(f for f in order["fulfilments"])
    fid = part["fulfilment_id"]
    for action, body in [
        ("accept", {}),
        ("picked", {}),
        ("ship", {"carrier": "SF", "tracking_no": "SF123"}),
        ("deliver", {}),
    ]:
        r = await act(stack, staff, fid, action, **body)
        assert r.status_code == 200, (action, r.text)
    final = await wait_for_status(stack, app, order["order_id"], "completed")
    assert final["fulfilments"][0]["tracking_no"] == "SF123"
    listed = (await stack.http.get(f"/v1/members/{member['member_id']}/orders", headers=app)).json()
    assert [o["order_id"] for o in listed["orders"]] == [order["order_id"]]


async def test_the_same_channel_order_id_returns_the_same_order(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    body = {
        "channel_order_id": uid("CO-"),
        "lines": [{"sku": sku, "qty": 1}],
        "fulfilment": {"mode": "pickup", "location_id": loc},
    }
    first = await submit(stack, pos, **body)
    second = await submit(stack, pos, **body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["order_id"] == second.json()["order_id"]
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 1


async def test_an_order_beyond_the_stock_is_409_with_nothing_reserved(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=2)
    r = await submit(
        stack,
        pos,
        lines=[{"sku": sku, "qty": 3}],
        fulfilment={"mode": "pickup", "location_id": loc},
    )
    assert r.status_code == 409
    assert_error(r.json(), "insufficient_stock")
    assert r.json()["error"]["details"]["skus"] == [sku]
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"payment_method": "cash"}, "invalid_request"),  # cash only from the till
        ({"lines": []}, "invalid_request"),
        ({"lines": [{"sku": "NOPE-SKU", "qty": 1}]}, "invalid_request"),
        ({"lines": [{"sku": "X", "qty": 0}]}, "invalid_request"),
        ({"fulfilment": {"mode": "delivery"}}, "invalid_request"),
        ({"fulfilment": {"mode": "pickup", "location_id": "NOPE"}}, "not_found"),
        ({"member_phone": "not a phone"}, "invalid_request"),
        ({"surprise": 1}, "invalid_request"),
    ],
)
async def test_bad_orders_are_refused_with_the_documented_error(
    stack: Stack, change: dict[str, Any], code: str
) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku = await stack.store_with_stock(on_hand=5)
    body = {
        "lines": [{"sku": sku, "qty": 1}],
        "payment_method": "wechat",
        "fulfilment": {"mode": "pickup", "location_id": loc},
    } | change
    r = await submit(stack, app, **body)
    assert 400 <= r.status_code < 500, r.text
    assert_error(r.json(), code)
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.reserved == 0


async def test_staff_and_channels_see_only_their_own(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    app = await stack.token(role="channel", channel="app")
    loc, sku = await stack.store_with_stock(on_hand=5)
    other_loc, _ = await stack.store_with_stock(on_hand=5)
    other_staff = await stack.token(role="staff", location_id=other_loc)
    order = (
        await submit(
            stack,
            pos,
            lines=[{"sku": sku, "qty": 1}],
            fulfilment={"mode": "pickup", "location_id": loc},
        )
    ).json()
    fid = order["fulfilments"][0]["fulfilment_id"]
    assert (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=app)).status_code == 404
    assert (await act(stack, other_staff, fid, "accept")).status_code == 404
    r = await stack.http.get(f"/v1/locations/{loc}/fulfilments", headers=other_staff)
    assert r.status_code == 403
    r = await stack.http.get(f"/v1/orders/{order['order_id']}", headers=other_staff)
    assert r.status_code == 404


async def test_operators_find_parts_waiting_for_pickup_at_a_store(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=5)
    staff = await stack.token(role="staff", location_id=loc)
    order = (
        await submit(
            stack,
            pos,
            lines=[{"sku": sku, "qty": 1}],
            fulfilment={"mode": "pickup", "location_id": loc},
        )
    ).json()
    fid = order["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    await act(stack, staff, fid, "picked")
    query = f'PartStatuses="{loc}:ready_for_pickup"'
    assert await workflows_found(stack, query) == [f"order-{order['order_id']}"]
    anywhere = 'PartStatuses="ready_for_pickup" AND OrderStatus="fulfilling"'
    assert f"order-{order['order_id']}" in [
        w.id async for w in stack.temporal.list_workflows(anywhere)
    ]
    desc = await stack.temporal.get_workflow_handle(f"order-{order['order_id']}").describe()
    summary = await desc.static_summary()
    assert summary and "pos order" in summary
    details = await desc.static_details()
    assert details and order["order_id"] in details


async def test_orders_are_listed_newest_first_in_pages(stack: Stack) -> None:
    channel = await stack.token(role="channel", channel=uid("ch-"))
    loc, sku = await stack.store_with_stock(on_hand=20)
    ids = []
    for _ in range(3):
        r = await submit(
            stack,
            channel,
            payment_method="wechat",
            lines=[{"sku": sku, "qty": 1}],
            fulfilment={"mode": "pickup", "location_id": loc},
        )
        ids.append(r.json()["order_id"])
    page1 = (await stack.http.get("/v1/orders?limit=2", headers=channel)).json()
    page2 = (
        await stack.http.get(f"/v1/orders?limit=2&cursor={page1['next_cursor']}", headers=channel)
    ).json()
    got = [o["order_id"] for o in page1["orders"] + page2["orders"]]
    assert got == list(reversed(ids)) and page2["next_cursor"] is None
    r = await stack.http.get("/v1/orders?cursor=garbage", headers=channel)
    assert r.status_code == 422


async def workflows_found(stack: Stack, query: str) -> list[str]:
    """The ids of the workflows Temporal's visibility finds for `query`, once it finds any
    (visibility follows a search-attribute upsert within moments), or none after 5 s."""
    found: list[str] = []
    for _ in range(50):
        found = [w.id async for w in stack.temporal.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    return found


async def wait_for_status(
    stack: Stack, headers: dict[str, str], order_id: str, status: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(100):
        body = (await stack.http.get(f"/v1/orders/{order_id}", headers=headers)).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} stayed {body.get('status')}")
