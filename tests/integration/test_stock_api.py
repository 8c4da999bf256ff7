"""Stock through the API: concurrent orders never oversell, sold-out shows at once and clears
on receipt, channels see only their locations."""

from __future__ import annotations

import asyncio

import pytest

from adapters.inventory import InventoryRepository
from tests import factories as f
from tests.conftest import uid
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


async def test_fifty_concurrent_api_orders_for_ten_units_sell_ten_and_sell_out(
    stack: Stack,
) -> None:
    channel = uid("ch-")
    app = await stack.token(role="channel", channel=channel)
    loc, sku = await stack.store_with_stock(on_hand=10)

    async def order() -> int:
        r = await stack.http.post(
            "/v1/orders",
            headers=app,
            json={
                "channel_order_id": uid(),
                "lines": [{"sku": sku, "qty": 1}],
                "payment_method": "wechat",
                "fulfilment": {"mode": "pickup", "location_id": loc},
            },
        )
        return r.status_code

    codes = await asyncio.gather(*(order() for _ in range(50)))
    assert sorted(set(codes)) == [201, 409] and codes.count(201) == 10
    row = InventoryRepository(stack.engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (10, 10)

    view = (await stack.http.get(f"/v1/stock/{sku}?location_id={loc}", headers=app)).json()
    assert (view["available"], view["sold_out"]) == (0, True)
    r = await stack.http.post(
        f"/v1/admin/stock/{loc}/{sku}/receipts",
        headers=stack.admin,
        json={"qty": 4, "receipt_id": uid("GRN-")},
    )
    assert r.json()["available"] == 4
    view = (await stack.http.get(f"/v1/stock/{sku}?location_id={loc}", headers=app)).json()
    assert (view["available"], view["sold_out"]) == (4, False)
    drift = (await stack.http.get("/v1/admin/stock-drift", headers=stack.admin)).json()
    assert drift == {"ok": True, "drift": []}


async def test_a_channel_sees_the_stock_of_its_own_locations_only(stack: Stack) -> None:
    channel = uid("wh-only-")
    sku = f.sku(stack.engine)
    store = f.location(stack.engine)
    warehouse = f.location(stack.engine, kind="central_warehouse", prefix="W-")
    f.stock(stack.engine, store, sku, 5)
    f.stock(stack.engine, warehouse, sku, 7)
    r = await stack.http.put(
        f"/v1/admin/channels/{channel}",
        headers=stack.admin,
        json={"location_kinds": ["central_warehouse"]},
    )
    assert r.status_code == 200
    token = await stack.token(role="channel", channel=channel)
    view = (await stack.http.get(f"/v1/stock/{sku}", headers=token)).json()
    assert view["locations"] == [{"location_id": warehouse, "available": 7}]
    other = await stack.http.get(f"/v1/stock/{sku}?channel=app", headers=token)
    assert other.status_code == 403
