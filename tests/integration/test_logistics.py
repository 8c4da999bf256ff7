"""Warehouses run by their execution system, and couriers, on the real stack with both
simulators as HTTP services: a warehouse's order completes with no staff action; a split order
(warehouse and store) completes; a cancel stops a part in the warehouse, and one that comes too
late is refused; a failed delivery is returned and refunded; duplicated and reordered callbacks
are applied once; forged ones are refused; every step reaches the channel, and the label
prints."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.inventory import InventoryRepository
from adapters.signed import sign
from tests import factories as f
from tests.conftest import COURIER_SECRET, WMS_SECRET, uid
from tests.integration.conftest import HZ_ADDRESS, Stack, running_stack
from tests.integration.test_order_flow import act

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def site(
    sqlite_engine: Engine,
    dev_env: WorkflowEnvironment,
    gateway_url: str,
    wms_sim_url: str,
    courier_sim_url: str,
    tmp_path_factory: Any,
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine,
        dev_env.client,
        gateway_url,
        tmp_path_factory.mktemp("logistics"),
        wms_url=wms_sim_url,
        courier_url=courier_sim_url,
    ) as s:
        for carrier, body in CARRIERS.items():
            r = await s.http.put(f"/v1/admin/carriers/{carrier}", headers=s.admin, json=body)
            assert r.status_code in (200, 201), r.text
        yield s


CARRIERS = {
    "T-YTO": {
        "name": "YTO Express",
        "provinces": ["Zhejiang", "Jiangsu", "Shanghai"],
        "cost_amount": 600,
        "max_weight_g": 20_000,
        "priority": 10,
    },
    "T-SF": {"name": "SF Express", "cost_amount": 1500, "max_weight_g": 30_000, "priority": 20},
}


async def warehouse(site: Stack, **over: Any) -> str:
    """A central warehouse run by its execution system."""
    loc = uid("W-")
    body = {
        "kind": "central_warehouse",
        "name": "Jiaxing central warehouse",
        "province": "Zhejiang",
        "city": "Jiaxing",
        "lat": 30.75,
        "lng": 120.76,
        "ships": True,
        "pickup": False,
        "execution": "wms",
    } | over
    r = await site.http.put(f"/v1/admin/locations/{loc}", headers=site.admin, json=body)
    assert r.status_code == 201, r.text
    return loc


def item(site: Stack, *, price: int = 1000, weight_g: int = 500) -> str:
    return f.sku(site.engine, price=price, weight_g=weight_g)


async def app_token(site: Stack) -> dict[str, str]:
    return await site.token(role="channel", channel="app")


async def paid_delivery(site: Stack, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """A delivery order in Hangzhou, paid from stored value."""
    return await site.member_order(lines, {"mode": "delivery", "address": HZ_ADDRESS})


async def order_of(site: Stack, order_id: str) -> dict[str, Any]:
    r = await site.http.get(f"/v1/orders/{order_id}", headers=await app_token(site))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def until(check: Any, *, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.1)


async def reaching(site: Stack, order_id: str, status: str) -> dict[str, Any]:
    """The order once it is `status` (within 30 s)."""

    async def check() -> dict[str, Any] | None:
        view = await order_of(site, order_id)
        return view if view["status"] == status else None

    return await until(check)  # type: ignore[no-any-return]


async def part_status(site: Stack, order_id: str, fid: str, status: str) -> dict[str, Any] | None:
    view = await order_of(site, order_id)
    part = next(p for p in view["fulfilments"] if p["fulfilment_id"] == fid)
    return part if part["status"] == status else None


async def drive(site: Stack, tracking_no: str, event: str) -> None:
    """The simulated courier's event, once it has collected the parcel (the part's workflow
    tells it so just after the shipment, in the background)."""

    async def sent() -> bool:
        r = await site.http.post(
            f"/v1/sim/couriers/{tracking_no}", headers=site.admin, json={"event": event}
        )
        assert r.status_code in (200, 409), r.text
        return r.status_code == 200

    await until(sent, seconds=10)


async def wms_faults(url: str, **faults: Any) -> None:
    async with httpx.AsyncClient() as http:
        (await http.put(f"{url}/faults", json=faults)).raise_for_status()


def on_hand(site: Stack, loc: str, sku: str) -> int:
    row = InventoryRepository(site.engine).get(loc, sku)
    assert row is not None
    return row.on_hand


async def test_a_warehouse_order_reaches_the_door_with_no_staff_action(
    site: Stack, wms_sim_url: str
) -> None:
    loc = await warehouse(site)
    sku = item(site, weight_g=1200)
    f.stock(site.engine, loc, sku, 10)
    order = await paid_delivery(site, [{"sku": sku, "qty": 2}])
    part = order["fulfilments"][0]
    fid = part["fulfilment_id"]
    assert (part["location_id"], part["execution"], part["carrier"]) == (loc, "wms", "T-YTO")
    assert part["carrier_reasons"][0].startswith("T-YTO: covers Zhejiang, takes 2400 g")
    staff = await site.token(role="staff", location_id=loc)
    r = await site.http.post(f"/v1/fulfilments/{fid}/accept", headers=staff)
    assert r.status_code == 409 and "execution system" in r.json()["error"]["message"]
    shipped = await until(lambda: part_status(site, order["order_id"], fid, "shipped"))
    waybill = shipped["tracking_no"]
    assert waybill.startswith("TYTO") and shipped["carrier"] == "T-YTO"
    async with httpx.AsyncClient() as http:
        notice = next(
            n
            for n in (await http.get(f"{wms_sim_url}/notices")).json()["notices"]
            if n["fulfilment_id"] == fid
        )
    assert notice["waybill"] == waybill and notice["lines"] == [{"sku": sku, "qty": 2}]
    label = await site.http.get(f"/v1/fulfilments/{fid}/label", headers=staff)
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"
    assert label.content.startswith(b"%PDF") and waybill.encode() in label.content
    for event in ("in_transit", "delivered"):
        await drive(site, waybill, event)
    await reaching(site, order["order_id"], "completed")
    view = await order_of(site, order["order_id"])
    assert [t["event"] for t in view["fulfilments"][0]["tracking"]] == ["in_transit", "delivered"]
    assert on_hand(site, loc, sku) == 8
    events = (await site.http.get("/v1/events?limit=1000", headers=site.admin)).json()["events"]
    mine = [e for e in events if e["order_id"] == order["order_id"]]
    types = [e["type"] for e in mine]
    for wanted in ("fulfilment.picked", "fulfilment.shipped", "fulfilment.in_transit"):
        assert wanted in types
    shipped_event = next(e for e in mine if e["type"] == "fulfilment.shipped")
    assert shipped_event["data"]["fulfilments"][0]["tracking_no"] == waybill


async def test_a_split_order_from_a_warehouse_and_a_store_completes(site: Stack) -> None:
    loc = await warehouse(site)
    store, _ = await site.store_with_stock(on_hand=0)
    from_warehouse, from_store = item(site), item(site)
    f.stock(site.engine, loc, from_warehouse, 5)
    f.stock(site.engine, store, from_store, 5)
    order = await paid_delivery(
        site, [{"sku": from_warehouse, "qty": 1}, {"sku": from_store, "qty": 1}]
    )
    parts = {p["location_id"]: p for p in order["fulfilments"]}
    assert set(parts) == {loc, store}
    staff = await site.token(role="staff", location_id=store)
    fid = parts[store]["fulfilment_id"]
    await act(site, staff, fid, "accept")
    await act(site, staff, fid, "picked")
    r = await site.http.post(f"/v1/fulfilments/{fid}/ship", headers=staff, json={})
    assert r.status_code == 200, r.text  # no carrier or number given: the rules' carrier issues one
    store_waybill = r.json()["tracking_no"]
    assert r.json()["carrier"] == "T-YTO" and store_waybill
    wfid = parts[loc]["fulfilment_id"]
    shipped = await until(lambda: part_status(site, order["order_id"], wfid, "shipped"))
    for waybill in (store_waybill, shipped["tracking_no"]):
        await drive(site, waybill, "delivered")
    await reaching(site, order["order_id"], "completed")


async def test_a_cancel_stops_a_part_in_the_warehouse(site: Stack, wms_sim_url: str) -> None:
    loc = await warehouse(site)
    sku = item(site, price=2000)
    f.stock(site.engine, loc, sku, 5)
    await wms_faults(wms_sim_url, hold=True)
    try:
        order = await paid_delivery(site, [{"sku": sku, "qty": 1}])
        fid = order["fulfilments"][0]["fulfilment_id"]
        accepted = await until(lambda: part_status(site, order["order_id"], fid, "accepted"))
        r = await site.http.post(
            f"/v1/orders/{order['order_id']}/cancel",
            headers=await app_token(site),
            json={"reason": "changed my mind"},
        )
        assert r.status_code == 200, r.text
    finally:
        await wms_faults(wms_sim_url)
    view = await reaching(site, order["order_id"], "cancelled")
    assert view["fulfilments"][0]["status"] == "cancelled"
    assert sum(x["amount"] for x in view["refunds"]) == view["pricing"]["payable_amount"]
    async with httpx.AsyncClient() as http:
        notices = (await http.get(f"{wms_sim_url}/notices")).json()["notices"]
    assert next(n for n in notices if n["fulfilment_id"] == fid)["status"] == "stopped"
    assert InventoryRepository(site.engine).get(loc, sku).reserved == 0  # type: ignore[union-attr]
    assert accepted["tracking_no"]  # its waybill, issued with the notice, was cancelled too


async def test_a_cancel_after_the_warehouse_shipped_is_refused(
    site: Stack, wms_sim_url: str
) -> None:
    loc = await warehouse(site)
    sku = item(site)
    f.stock(site.engine, loc, sku, 5)
    await wms_faults(wms_sim_url, hold=True, mute=True)  # it ships, but its reports are delayed
    try:
        order = await paid_delivery(site, [{"sku": sku, "qty": 1}])
        fid = order["fulfilments"][0]["fulfilment_id"]
        await until(lambda: part_status(site, order["order_id"], fid, "accepted"))
        async with httpx.AsyncClient() as http:
            for _ in range(2):
                (await http.post(f"{wms_sim_url}/notices/{fid}/advance")).raise_for_status()
        r = await site.http.post(
            f"/v1/orders/{order['order_id']}/cancel",
            headers=await app_token(site),
            json={"reason": "too slow"},
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "already_shipped"
        assert r.json()["error"]["details"]["handed_over"] == [fid]
        view = await order_of(site, order["order_id"])
        assert view["status"] == "fulfilling" and view["refunds"] == []
        await wms_faults(wms_sim_url)
        async with httpx.AsyncClient() as http:
            (await http.post(f"{wms_sim_url}/notices/{fid}/resend")).raise_for_status()
    finally:
        await wms_faults(wms_sim_url)
    await until(lambda: part_status(site, order["order_id"], fid, "shipped"))


async def test_a_failed_delivery_comes_back_and_is_refunded(site: Stack) -> None:
    store, _ = await site.store_with_stock(on_hand=0)
    sku = item(site, price=3000)
    f.stock(site.engine, store, sku, 4)
    order = await paid_delivery(site, [{"sku": sku, "qty": 2}])
    fid = order["fulfilments"][0]["fulfilment_id"]
    staff = await site.token(role="staff", location_id=store)
    await act(site, staff, fid, "accept")
    await act(site, staff, fid, "picked")
    r = await site.http.post(f"/v1/fulfilments/{fid}/ship", headers=staff, json={})
    assert r.status_code == 200, r.text
    assert on_hand(site, store, sku) == 2
    await drive(site, r.json()["tracking_no"], "failed")
    view = await reaching(site, order["order_id"], "cancelled")
    assert view["fulfilments"][0]["status"] == "delivery_failed"
    assert sum(x["amount"] for x in view["refunds"]) == view["pricing"]["payable_amount"]
    assert any("could not be delivered" in x["reason"] for x in view["refunds"])
    assert on_hand(site, store, sku) == 4  # the goods are back on the shelf


async def test_duplicated_and_reordered_callbacks_are_applied_once(
    site: Stack, wms_sim_url: str
) -> None:
    loc = await warehouse(site)
    sku = item(site)
    f.stock(site.engine, loc, sku, 5)
    await wms_faults(wms_sim_url, duplicate=True, reverse=True, short={sku: 1})
    try:
        order = await paid_delivery(site, [{"sku": sku, "qty": 3}])
        fid = order["fulfilments"][0]["fulfilment_id"]
        shipped = await until(lambda: part_status(site, order["order_id"], fid, "shipped"))
    finally:
        await wms_faults(wms_sim_url)
    assert shipped["lines"] == [{"sku": sku, "qty": 3, "picked_qty": 2}]
    view = await order_of(site, order["order_id"])
    assert len(view["refunds"]) == 1  # the short unit, once
    waybill = shipped["tracking_no"]
    delivered = signed_event(waybill, 2, "delivered")
    in_transit = signed_event(waybill, 1, "in_transit")
    for body in (delivered, delivered, in_transit, in_transit):  # reordered, twice each
        r = await site.http.post(
            "/v1/callbacks/courier",
            content=body,
            headers={"X-Signature": sign(COURIER_SECRET, body)},
        )
        assert r.status_code == 200, r.text
    view = await reaching(site, order["order_id"], "completed")
    assert [t["event"] for t in view["fulfilments"][0]["tracking"]] == ["in_transit", "delivered"]
    timeline = [t["event"] for t in view["timeline"]]
    assert timeline.count("tracking_delivered") == 1 and timeline.count("tracking_in_transit") == 1
    assert on_hand(site, loc, sku) == 3


def signed_event(waybill: str, seq: int, event: str) -> bytes:
    return json.dumps(
        {
            "event_id": uid("trk-"),
            "tracking_no": waybill,
            "seq": seq,
            "event": event,
            "detail": f"{event} (test)",
            "timestamp": int(time.time()),
        }
    ).encode()


async def test_forged_and_stale_callbacks_are_refused(site: Stack) -> None:
    report = {
        "event_id": uid("wms-"),
        "fulfilment_id": "F-NOT-THERE",
        "seq": 1,
        "type": "picked",
        "timestamp": int(time.time()),
    }
    body = json.dumps(report).encode()
    for path, secret in (("/v1/callbacks/wms", "not-the-secret"), ("/v1/callbacks/courier", "")):
        r = await site.http.post(path, content=body, headers={"X-Signature": sign(secret, body)})
        assert r.status_code == 401 and "X-Signature" in r.json()["error"]["message"]
    stale = json.dumps(report | {"timestamp": int(time.time()) - 3600}).encode()
    r = await site.http.post(
        "/v1/callbacks/wms", content=stale, headers={"X-Signature": sign(WMS_SECRET, stale)}
    )
    assert r.status_code == 401 and "timestamp" in r.json()["error"]["message"]
    r = await site.http.post(
        "/v1/callbacks/wms", content=body, headers={"X-Signature": sign(WMS_SECRET, body)}
    )
    assert r.status_code == 404  # signed, but about nothing we know


async def test_a_channel_with_its_own_riders_gets_them(site: Stack) -> None:
    store, _ = await site.store_with_stock(on_hand=0)
    sku = item(site)
    f.stock(site.engine, store, sku, 5)
    channel = uid("riders-")
    r = await site.http.put(
        f"/v1/admin/channels/{channel}",
        headers=site.admin,
        json={"logistics_carrier": "RIDERS"},
    )
    assert r.status_code == 200, r.text
    token = await site.token(role="channel", channel=channel)
    order = await site.place(token, sku, 1, method="wechat")
    part = order["fulfilments"][0]
    assert part["carrier"] == "RIDERS" and "own logistics" in part["carrier_reasons"][0]


async def test_the_console_shows_a_warehouse_part_without_staff_actions(
    site: Stack, wms_sim_url: str
) -> None:
    loc = await warehouse(site)
    sku = item(site)
    f.stock(site.engine, loc, sku, 5)
    await wms_faults(wms_sim_url, hold=True)
    try:
        order = await paid_delivery(site, [{"sku": sku, "qty": 1}])
        fid = order["fulfilments"][0]["fulfilment_id"]
        await until(lambda: part_status(site, order["order_id"], fid, "accepted"))
        async with httpx.AsyncClient(base_url=site.settings.api_base_url) as http:
            staff = await site.token(role="staff", location_id=loc)
            login = await http.post("/console/login", data={"token": staff["Authorization"][7:]})
            assert login.status_code == 303
            page = (await http.get("/console?lang=en")).text
        assert f'data-testid="wms-{fid}"' in page and f'data-testid="pick-{fid}"' not in page
        assert "execution system" in page and f'data-testid="label-{fid}"' in page
    finally:
        await wms_faults(wms_sim_url)
