"""Changing an order after it is placed, through the API on the real stack: a line added that
crosses a threshold (a gift appears), a line removed that loses a coupon's threshold (the coupon
goes back), an address that routes the order elsewhere, an edit racing a pick, a difference
never paid (the change undone) and one paid (the change stands), and edits refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.inventory import InventoryRepository
from tests import factories as f
from tests.conftest import uid
from tests.integration.conftest import HZ_ADDRESS, Stack, running_stack
from tests.integration.test_cancel_and_refunds import member_with_balance

pytestmark = pytest.mark.integration
NINGBO = {
    "province": "Zhejiang",
    "city": "Ningbo",
    "lat": 29.87,
    "lng": 121.54,
    "line1": "9 Zhongshan Rd",
    "recipient": "Li",
    "phone": "13800000001",
}


@pytest.fixture(scope="module")
async def site(
    sqlite_engine: Engine, dev_env: WorkflowEnvironment, gateway_url: str, tmp_path_factory: Any
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine,
        dev_env.client,
        gateway_url,
        tmp_path_factory.mktemp("changes"),
        payment_timeout_s=3,
    ) as s:
        yield s


class Member:
    def __init__(self, site: Stack) -> None:
        self.site = site
        self.app: dict[str, str] = {}
        self.phone = ""

    async def join(self) -> Member:
        self.app = await self.site.token(role="channel", channel="app")
        self.phone = (await member_with_balance(self.site, self.app, 1_000_000))["phone"]
        return self

    async def order(self, lines: list[dict[str, Any]], fulfilment: Any, **over: Any) -> Any:
        r = await self.site.http.post(
            "/v1/orders",
            headers=self.app,
            json={
                "channel_order_id": uid(),
                "payment_method": "stored_value",
                "member_phone": self.phone,
                "lines": lines,
                "fulfilment": fulfilment,
            }
            | over,
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def change(self, order: Any, **body: Any) -> Any:
        return await self.site.http.patch(
            f"/v1/orders/{order['order_id']}", headers=self.app, json=body
        )

    async def view(self, order: Any) -> Any:
        return (
            await self.site.http.get(f"/v1/orders/{order['order_id']}", headers=self.app)
        ).json()

    async def balance(self) -> int:
        r = await self.site.http.post("/v1/members", headers=self.app, json={"phone": self.phone})
        return int(r.json()["stored_value_amount"])


@pytest.fixture
async def member(site: Stack) -> Member:
    return await Member(site).join()


def store(site: Stack, **over: Any) -> str:
    return f.location(site.engine, **over)


def item(site: Stack, loc: str | list[str], price: int, on_hand: int = 20, **over: Any) -> str:
    sku = f.sku(site.engine, price=price, category=over.pop("category", uid("cat-")), **over)
    for at in [loc] if isinstance(loc, str) else loc:
        f.stock(site.engine, at, sku, on_hand)
    return sku


def reserved(site: Stack, loc: str, sku: str) -> int:
    row = InventoryRepository(site.engine).get(loc, sku)
    return 0 if row is None else row.reserved


async def until(member: Member, order: Any, check: Any) -> Any:
    for _ in range(200):
        view = await member.view(order)
        if check(view):
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(await member.view(order))


async def test_an_added_line_crosses_a_threshold_and_the_gift_appears(
    site: Stack, member: Member
) -> None:
    loc = store(site)
    cat = uid("cat-")
    tea = item(site, loc, 3000, category=cat)
    cups = item(site, loc, 1500, category=cat)
    gift = item(site, loc, 800)
    r = await site.http.put(
        f"/v1/admin/promotions/{uid('P-')}",
        headers=site.admin,
        json={
            "kind": "threshold_gift",
            "threshold_amount": 4000,
            "gift_sku": gift,
            "gift_qty": 1,
            "scope": {"categories": [cat]},
        },
    )
    assert r.status_code == 201, r.text
    order = await member.order([{"sku": tea, "qty": 1}], {"mode": "pickup", "location_id": loc})
    before = await member.balance()
    r = await member.change(order, lines=[{"sku": tea, "qty": 1}, {"sku": cups, "qty": 1}])
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["change"] == {
        "change_id": "E1",
        "status": "applied",
        "difference_amount": 1500,
        "payment_id": None,
    }
    assert {(ln["sku"], ln["gift"]) for ln in got["pricing"]["lines"]} == {
        (tea, False),
        (cups, False),
        (gift, True),
    }
    assert got["pricing"]["payable_amount"] == 4500
    assert await member.balance() == before - 1500
    part = got["fulfilments"][0]
    assert part["fulfilment_id"] == order["fulfilments"][0]["fulfilment_id"]  # the same part
    assert {ln["sku"]: ln["qty"] for ln in part["lines"]} == {tea: 1, cups: 1, gift: 1}
    assert [reserved(site, loc, s) for s in (tea, cups, gift)] == [1, 1, 1]
    assert "changed" in [e["event"] for e in got["timeline"]]


async def test_a_removed_line_loses_the_coupons_threshold_and_the_coupon_goes_back(
    site: Stack, member: Member
) -> None:
    loc = store(site)
    cat = uid("cat-")
    tea, cups = item(site, loc, 3000, category=cat), item(site, loc, 1500, category=cat)
    pid = uid("P-")
    r = await site.http.put(
        f"/v1/admin/promotions/{pid}",
        headers=site.admin,
        json={
            "kind": "threshold_amount_off",
            "threshold_amount": 4000,
            "amount": 500,
            "coupon_required": True,
            "scope": {"categories": [cat]},
        },
    )
    assert r.status_code == 201, r.text
    code = uid("C-")
    r = await site.http.post(
        "/v1/admin/coupons",
        headers=site.admin,
        json={"promotion_id": pid, "code": code, "member_phone": member.phone, "uses": 1},
    )
    assert r.status_code in (200, 201), r.text
    order = await member.order(
        [{"sku": tea, "qty": 1}, {"sku": cups, "qty": 1}],
        {"mode": "pickup", "location_id": loc},
        coupon_codes=[code],
    )
    assert order["pricing"]["payable_amount"] == 4000
    r = await member.change(order, lines=[{"sku": tea, "qty": 1}])
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["pricing"]["payable_amount"], got["change"]["difference_amount"]) == (3000, -1000)
    assert got["pricing"]["applied_promotions"] == []
    view = await until(member, order, lambda v: v["refunds"])
    assert [x["amount"] for x in view["refunds"]] == [1000]
    assert (reserved(site, loc, tea), reserved(site, loc, cups)) == (1, 0)
    # the coupon is the member's again: a new order may use it
    quote = await site.http.post(
        "/v1/quotes",
        headers=member.app,
        json={
            "member_phone": member.phone,
            "lines": [{"sku": tea, "qty": 2}],
            "fulfilment": {"mode": "pickup", "location_id": loc},
            "payment_method": "stored_value",
            "coupon_codes": [code],
        },
    )
    assert quote.status_code == 200, quote.text


async def test_an_address_change_routes_the_order_elsewhere(site: Stack, member: Member) -> None:
    hz = store(site, city="Hangzhou", lat=30.27, lng=120.15)
    nb = store(site, city="Ningbo", lat=29.87, lng=121.54)
    rice = item(site, [hz, nb], 2000)
    order = await member.order(
        [{"sku": rice, "qty": 2}], {"mode": "delivery", "address": HZ_ADDRESS}
    )
    assert order["fulfilments"][0]["location_id"] == hz
    staff = await site.token(role="staff", location_id=hz)
    fid = order["fulfilments"][0]["fulfilment_id"]
    r = await site.http.post(f"/v1/fulfilments/{fid}/accept", headers=staff)
    assert r.status_code == 200, r.text
    r = await member.change(order, fulfilment={"mode": "delivery", "address": NINGBO})
    assert r.status_code == 200, r.text
    view = await until(
        member,
        order,
        lambda v: {p["status"] for p in v["fulfilments"]} == {"cancelled", "dispatched"},
    )
    parts = {p["location_id"]: p for p in view["fulfilments"]}
    assert parts[hz]["status"] == "cancelled" and parts[nb]["status"] == "dispatched"
    assert (reserved(site, hz, rice), reserved(site, nb, rice)) == (0, 2)
    work = await site.http.get(f"/v1/locations/{hz}/fulfilments?status=accepted", headers=staff)
    assert work.json()["fulfilments"] == []  # the Hangzhou store no longer sees it to pick
    assert view["pricing"]["payable_amount"] == order["pricing"]["payable_amount"]
    assert view["refunds"] == []


async def test_an_edit_racing_a_pick_is_one_or_the_other(site: Stack, member: Member) -> None:
    loc = store(site)
    milk, bread = item(site, loc, 1000), item(site, loc, 500)
    order = await member.order([{"sku": milk, "qty": 2}], {"mode": "pickup", "location_id": loc})
    staff = await site.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    assert (await site.http.post(f"/v1/fulfilments/{fid}/accept", headers=staff)).status_code == 200
    pick, change = await asyncio.gather(
        site.http.post(
            f"/v1/fulfilments/{fid}/picked",
            headers=staff,
            json={"lines": [{"sku": milk, "qty": 2}]},
        ),
        member.change(order, lines=[{"sku": milk, "qty": 2}, {"sku": bread, "qty": 1}]),
    )
    view = await member.view(order)
    if change.status_code == 200:  # the change first: the pick of the old lines is short
        assert change.json()["change"]["status"] == "applied"
        assert view["pricing"]["payable_amount"] == 2500
    else:  # the pick first: too late to change, nothing changed
        assert pick.status_code == 200, pick.text
        assert (change.status_code, change.json()["error"]["code"]) == (409, "too_late_to_change")
        assert view["pricing"]["payable_amount"] == 2000
        assert reserved(site, loc, bread) == 0


async def test_a_difference_never_paid_undoes_the_change_and_a_paid_one_stands(
    site: Stack, member: Member
) -> None:
    loc = store(site)
    milk, bread = item(site, loc, 1000), item(site, loc, 500)
    r = await site.http.post(
        "/v1/orders",
        headers=member.app,
        json={
            "channel_order_id": uid(),
            "payment_method": "wechat",
            "lines": [{"sku": milk, "qty": 1}],
            "fulfilment": {"mode": "pickup", "location_id": loc},
        },
    )
    order = r.json()
    pid = order["payment"]["payment_id"]
    r = await site.http.post(
        f"/v1/sim/payments/{pid}", headers=site.admin, json={"outcome": "succeeded"}
    )
    assert r.status_code == 200, r.text
    await until(member, order, lambda v: v["status"] == "fulfilling")
    wanted = [{"sku": milk, "qty": 1}, {"sku": bread, "qty": 2}]
    r = await member.change(order, lines=wanted)
    assert r.status_code == 200, r.text
    change = r.json()["change"]
    assert (change["status"], change["difference_amount"]) == ("awaiting_payment", 1000)
    assert reserved(site, loc, bread) == 2  # held while it waits
    again = await member.change(order, lines=[{"sku": milk, "qty": 3}])
    assert (again.status_code, again.json()["error"]["code"]) == (409, "too_late_to_change")
    view = await until(
        member, order, lambda v: "change_undone" in [e["event"] for e in v["timeline"]]
    )
    assert view["pricing"]["payable_amount"] == 1000  # as it was
    assert [ln["sku"] for ln in view["fulfilments"][0]["lines"]] == [milk]
    assert reserved(site, loc, bread) == 0

    r = await member.change(order, lines=wanted)
    change = r.json()["change"]
    assert change["change_id"] == "E2"
    r = await site.http.post(
        f"/v1/sim/payments/{change['payment_id']}",
        headers=site.admin,
        json={"outcome": "succeeded"},
    )
    assert r.status_code == 200, r.text
    view = await until(member, order, lambda v: v["pricing"]["payable_amount"] == 2000)
    assert {ln["sku"]: ln["qty"] for ln in view["fulfilments"][0]["lines"]} == {milk: 1, bread: 2}
    assert reserved(site, loc, bread) == 2
    paid = [p for p in view["payments"] if p["status"] == "succeeded"]
    assert sum(p["amount"] for p in paid) == 2000
    # cancelled now: each payment gets back what it paid (a gateway refunds no more than it took)
    r = await site.http.post(
        f"/v1/orders/{order['order_id']}/cancel", headers=member.app, json={"reason": "no"}
    )
    assert r.status_code == 200, r.text
    view = await until(
        member,
        order,
        lambda v: (
            sum(x["amount"] for x in v["refunds"]) == 2000
            and all(x["status"] == "succeeded" for x in v["refunds"])
        ),
    )
    assert sorted(x["amount"] for x in view["refunds"]) == [1000, 1000]


async def test_changes_that_cannot_stand_are_refused_and_change_nothing(
    site: Stack, member: Member
) -> None:
    loc = store(site)
    milk = item(site, loc, 1000, on_hand=3)
    order = await member.order([{"sku": milk, "qty": 2}], {"mode": "pickup", "location_id": loc})
    cases = [
        ({"lines": [{"sku": milk, "qty": 5}]}, 409, "insufficient_stock"),
        ({"lines": [{"sku": "NO-SUCH", "qty": 1}]}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ]
    for body, status, code in cases:
        r = await member.change(order, **body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert reserved(site, loc, milk) == 2
    view = await member.view(order)
    assert view["pricing"]["payable_amount"] == 2000 and view["refunds"] == []
    staff = await site.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await site.http.post(f"/v1/fulfilments/{fid}/accept", headers=staff)
    await site.http.post(f"/v1/fulfilments/{fid}/picked", headers=staff, json={"lines": []})
    late = await member.change(order, lines=[{"sku": milk, "qty": 1}])
    assert (late.status_code, late.json()["error"]["code"]) == (409, "too_late_to_change")


# --- orders that travel together ---------------------------------------------------------------


async def merged_pair(site: Stack, member: Member) -> tuple[str, str, list[Any], dict[str, str]]:
    """Two quick delivery orders of one member to one address at one store, and a third of
    another member to the same address: (store, sku, [first, second, other], staff)."""
    loc = store(site)
    sku = item(site, loc, 1200)
    address = HZ_ADDRESS | {"line1": uid("No. ")}
    delivery = {"mode": "delivery", "address": address}
    first = await member.order([{"sku": sku, "qty": 1}], delivery)
    second = await member.order([{"sku": sku, "qty": 2}], delivery)
    other = await (await Member(site).join()).order([{"sku": sku, "qty": 1}], delivery)
    staff = await site.token(role="staff", location_id=loc)
    return loc, sku, [first, second, other], staff


def part_of(order: Any) -> str:
    return str(order["fulfilments"][0]["fulfilment_id"])


async def work_list(site: Stack, loc: str, staff: dict[str, str]) -> dict[str, Any]:
    r = await site.http.get(f"/v1/locations/{loc}/fulfilments", headers=staff)
    return {p["fulfilment_id"]: p for p in r.json()["fulfilments"]}


async def test_two_quick_orders_to_one_address_leave_as_one_parcel(
    site: Stack, member: Member
) -> None:
    loc, sku, (first, second, other), staff = await merged_pair(site, member)
    parts = await work_list(site, loc, staff)
    shipment = parts[part_of(first)]["shipment_id"]
    assert shipment and parts[part_of(second)]["shipment_id"] == shipment
    assert parts[part_of(other)]["shipment_id"] is None  # another member: its own parcel
    for order in (first, second):
        fid = part_of(order)
        assert (await site.http.post(f"/v1/fulfilments/{fid}/accept", headers=staff)).is_success
    r = await site.http.post(
        f"/v1/fulfilments/{part_of(first)}/picked", headers=staff, json={"lines": []}
    )
    assert r.status_code == 200, r.text
    early = await site.http.post(
        f"/v1/fulfilments/{part_of(first)}/ship",
        headers=staff,
        json={"carrier": "SF Express", "tracking_no": "SF0001"},
    )
    assert early.status_code == 409 and part_of(second) in early.json()["error"]["message"]
    await site.http.post(
        f"/v1/fulfilments/{part_of(second)}/picked", headers=staff, json={"lines": []}
    )
    tracking = uid("SF")
    r = await site.http.post(
        f"/v1/fulfilments/{part_of(first)}/ship",
        headers=staff,
        json={"carrier": "SF Express", "tracking_no": tracking},
    )
    assert r.status_code == 200, r.text
    for order, payable in ((first, 1200), (second, 2400)):
        view = await until(member, order, lambda v: v["fulfilments"][0]["status"] == "shipped")
        assert view["fulfilments"][0]["tracking_no"] == tracking  # one parcel, one waybill
        assert view["pricing"]["payable_amount"] == payable and view["refunds"] == []
        events = [e["event"] for e in view["timeline"]]
        assert events.count("ship") == 1


async def test_cancelling_one_order_takes_it_out_of_the_shipment(
    site: Stack, member: Member
) -> None:
    loc, sku, (first, second, _), staff = await merged_pair(site, member)
    r = await site.http.post(
        f"/v1/orders/{first['order_id']}/cancel", headers=member.app, json={"reason": "twice"}
    )
    assert r.status_code == 200, r.text
    await until(member, first, lambda v: v["status"] == "cancelled")
    parts = await work_list(site, loc, staff)
    assert parts[part_of(first)]["shipment_id"] is None
    assert parts[part_of(second)]["shipment_id"] is None  # alone now: a parcel of its own
    fid = part_of(second)
    for action, body in (("accept", None), ("picked", {"lines": []})):
        r = await site.http.post(f"/v1/fulfilments/{fid}/{action}", headers=staff, json=body)
        assert r.status_code == 200, r.text
    r = await site.http.post(
        f"/v1/fulfilments/{fid}/ship",
        headers=staff,
        json={"carrier": "SF Express", "tracking_no": uid("SF")},
    )
    assert r.status_code == 200, r.text
    view = await member.view(second)
    assert view["status"] == "fulfilling" and view["refunds"] == []
    assert reserved(site, loc, sku) == 1 + 0  # the third order's unit only
