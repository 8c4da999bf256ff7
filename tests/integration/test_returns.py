"""Returns through the real API: exact refunds with every discount's share, points taken back,
goods back on the receiving location's shelf, and the order `returned` once all is back."""

from __future__ import annotations

import pytest

from adapters.inventory import InventoryRepository
from tests import factories as f
from tests.conftest import uid
from tests.integration.conftest import Stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_cancel_and_refunds import member_with_balance, wait_refunds
from tests.integration.test_order_flow import ADDRESS, act, wait_for_status

pytestmark = pytest.mark.integration


async def test_returns_refund_exactly_take_back_points_and_restock(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    member = await member_with_balance(stack, app, 10_000)
    cat = uid("cat-")
    loc = f.location(stack.engine)
    sku = f.sku(stack.engine, price=1000, category=cat)
    f.stock(stack.engine, loc, sku, 10)
    await stack.http.put(
        f"/v1/admin/promotions/{uid('P-')}",
        headers=stack.admin,
        json={"kind": "percent_off", "percent": 10, "scope": {"categories": [cat]}},
    )
    r = await stack.http.post(
        "/v1/orders",
        headers=app,
        json={
            "channel_order_id": uid(),
            "payment_method": "stored_value",
            "member_phone": member["phone"],
            "lines": [{"sku": sku, "qty": 3}],
            "fulfilment": {"mode": "delivery", "address": ADDRESS},
        },
    )
    o = r.json()
    assert o["pricing"]["payable_amount"] == 2700
    early = await stack.http.post(
        f"/v1/orders/{o['order_id']}/returns", headers=app, json={"lines": [{"sku": sku, "qty": 1}]}
    )
    assert early.status_code == 422  # nothing handed over yet
    staff = await stack.token(role="staff", location_id=loc)
    fid = o["fulfilments"][0]["fulfilment_id"]
    for action, body in [
        ("accept", {}),
        ("picked", {}),
        ("ship", {"carrier": "SF", "tracking_no": "SF5"}),
        ("deliver", {}),
    ]:
        await act(stack, staff, fid, action, **body)
    await wait_for_status(stack, app, o["order_id"], "completed")
    mid = member["member_id"]
    assert (await stack.http.get(f"/v1/members/{mid}", headers=app)).json()["points"] == 27
    settlement = f"/v1/orders/{o['order_id']}/settlement"
    entries = (await stack.http.get(settlement, headers=stack.admin)).json()["entries"]
    assert [(e["party"], e["amount"]) for e in entries] == [(f"location:{loc}", 2700)]
    assert (await stack.http.get(settlement, headers=app)).status_code == 403

    r = await stack.http.post(
        f"/v1/orders/{o['order_id']}/returns",
        headers=app,
        json={"lines": [{"sku": sku, "qty": 1}], "reason": "dented"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    refunds = await wait_refunds(stack, app, o["order_id"])
    assert [x["amount"] for x in refunds] == [900]
    got = (await stack.http.get(f"/v1/members/{mid}", headers=app)).json()
    assert (got["points"], got["stored_value_amount"]) == (18, 10_000 - 2700 + 900)
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (8, 0)

    too_many = await stack.http.post(
        f"/v1/orders/{o['order_id']}/returns", headers=app, json={"lines": [{"sku": sku, "qty": 3}]}
    )
    assert too_many.status_code == 422
    assert_error(too_many.json(), "too_many_units")
    r = await stack.http.post(
        f"/v1/orders/{o['order_id']}/returns", headers=app, json={"lines": [{"sku": sku, "qty": 2}]}
    )
    assert r.json()["status"] == "returned"
    refunds = await wait_refunds(stack, app, o["order_id"])
    assert sum(x["amount"] for x in refunds) == 2700
    got = (await stack.http.get(f"/v1/members/{mid}", headers=app)).json()
    assert (got["points"], got["stored_value_amount"]) == (0, 10_000)
    entries = (await stack.http.get(settlement, headers=stack.admin)).json()["entries"]
    assert [e["amount"] for e in entries] == [2700, -900, -1800]
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and row.on_hand == 10
    drift = (await stack.http.get("/v1/admin/stock-drift", headers=stack.admin)).json()
    assert drift["ok"] is True


async def test_an_unpaid_order_takes_no_returns(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku = await stack.store_with_stock(on_hand=5)
    o = (
        await stack.http.post(
            "/v1/orders",
            headers=app,
            json={
                "channel_order_id": uid(),
                "payment_method": "wechat",
                "lines": [{"sku": sku, "qty": 1}],
                "fulfilment": {"mode": "pickup", "location_id": loc},
            },
        )
    ).json()
    r = await stack.http.post(
        f"/v1/orders/{o['order_id']}/returns", headers=app, json={"lines": [{"sku": sku, "qty": 1}]}
    )
    assert r.status_code == 409
    assert_error(r.json(), "invalid_transition")
