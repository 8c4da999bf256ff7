"""Fresh food through the API on the real stack: weighed lines picked light, exact, heavy and
too heavy, from scale labels too; substitutions approved, declined and timed out, dearer and
cheaper, specific and similar, and one while the order is cancelled; and the member's story,
1 kg of pork belly and a milk that sold out, paid for exactly to the fen."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.inventory import InventoryRepository
from domain.barcodes import scale_code
from tests import factories as f
from tests.conftest import uid
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_cancel_and_refunds import member_with_balance

pytestmark = pytest.mark.integration
WAIT_S = 2  # OMS_SUBSTITUTION_WAIT_S on this stack
PLUS = itertools.count(random.randrange(10_000, 90_000))


@pytest.fixture(scope="module")
async def site(
    sqlite_engine: Engine, dev_env: WorkflowEnvironment, gateway_url: str, tmp_path_factory: Any
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine,
        dev_env.client,
        gateway_url,
        tmp_path_factory.mktemp("fresh"),
        substitution_wait_s=WAIT_S,
    ) as s:
        yield s


class Shop:
    """A store with its staff, the app channel and a member with stored value."""

    def __init__(self, site: Stack) -> None:
        self.site = site
        self.loc = f.location(site.engine)
        self.staff: dict[str, str] = {}
        self.app: dict[str, str] = {}
        self.member: dict[str, Any] = {}

    async def open(self) -> Shop:
        self.staff = await self.site.token(role="staff", location_id=self.loc)
        self.app = await self.site.token(role="channel", channel="app")
        self.member = await member_with_balance(self.site, self.app, 1_000_000)
        return self

    def weighed(self, price: int, on_hand: int = 20_000) -> tuple[str, str]:
        plu = f"{next(PLUS) % 100_000:05d}"
        sku = f.sku(self.site.engine, price=price, category="fresh", sold_by="weight", plu=plu)
        f.stock(self.site.engine, self.loc, sku, on_hand)
        return sku, plu

    def counted(self, price: int, on_hand: int = 20) -> str:
        sku = f.sku(self.site.engine, price=price, category="dairy")
        f.stock(self.site.engine, self.loc, sku, on_hand)
        return sku

    async def order(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        r = await self.site.http.post(
            "/v1/orders",
            headers=self.app,
            json={
                "channel_order_id": uid(),
                "payment_method": "stored_value",
                "member_phone": self.member["phone"],
                "lines": lines,
                "fulfilment": {"mode": "pickup", "location_id": self.loc},
            },
        )
        assert r.status_code == 201, r.text
        order = r.json()
        await self.staff_does(order, "accept")
        return order  # type: ignore[no-any-return]

    async def staff_does(self, order: dict[str, Any], action: str, **body: Any) -> Any:
        fid = order["fulfilments"][0]["fulfilment_id"]
        return await self.site.http.post(
            f"/v1/fulfilments/{fid}/{action}", json=body, headers=self.staff
        )

    async def propose(self, order: dict[str, Any], sku: str, with_sku: str, qty: int) -> Any:
        return await self.staff_does(order, "substitutions", sku=sku, with_sku=with_sku, qty=qty)

    async def answer(self, order: dict[str, Any], sid: str, decision: str) -> Any:
        return await self.site.http.post(
            f"/v1/orders/{order['order_id']}/substitutions/{sid}",
            headers=self.app,
            json={"decision": decision},
        )

    async def view(self, order: dict[str, Any]) -> dict[str, Any]:
        r = await self.site.http.get(f"/v1/orders/{order['order_id']}", headers=self.app)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def until(self, order: dict[str, Any], check: Any, seconds: float = 20) -> Any:
        for _ in range(int(seconds / 0.1)):
            view = await self.view(order)
            if check(view):
                return view
            await asyncio.sleep(0.1)
        raise AssertionError(f"gave up waiting: {await self.view(order)}")

    async def hand_over(self, order: dict[str, Any]) -> dict[str, Any]:
        view = await self.until(order, lambda v: v["fulfilments"][0]["pickup_code"])
        code = view["fulfilments"][0]["pickup_code"]
        r = await self.staff_does(order, "pickup", code=code)
        assert r.status_code == 200, r.text
        return await self.until(order, lambda v: v["status"] == "completed")

    def reserved(self, sku: str) -> int:
        row = InventoryRepository(self.site.engine).get(self.loc, sku)
        assert row is not None
        return row.reserved


@pytest.fixture
async def shop(site: Stack) -> Shop:
    return await Shop(site).open()


def paid(view: dict[str, Any], sku: str) -> dict[str, Any]:
    return next(ln for ln in view["pricing"]["lines"] if ln["sku"] == sku)


def refunded(view: dict[str, Any]) -> int:
    return sum(r["amount"] for r in view["refunds"])


async def settled(shop: Shop, order: dict[str, Any]) -> int:
    url = f"/v1/orders/{order['order_id']}/settlement"
    body = (await shop.site.http.get(url, headers=shop.site.admin)).json()
    return sum(e["amount"] for e in body["entries"])


# --- weighed goods --------------------------------------------------------------------------


async def test_weighed_lines_are_priced_per_kilogram_and_settled_at_the_pick(shop: Shop) -> None:
    pork, _ = shop.weighed(3980)
    apples, _ = shop.weighed(1280)
    salmon, _ = shop.weighed(16800)
    order = await shop.order(
        [{"sku": pork, "qty": 1000}, {"sku": apples, "qty": 1500}, {"sku": salmon, "qty": 333}]
    )
    view = await shop.view(order)
    assert [paid(view, s)["sold_by"] for s in (pork, apples, salmon)] == ["weight"] * 3
    assert paid(view, apples)["unit_price_amount"] == 1280
    assert view["pricing"]["subtotal_amount"] == 3980 + 1920 + 5594  # 16800 x 0.333 = 5594.4

    too_heavy = await shop.staff_does(
        order, "picked", lines=[{"sku": pork, "qty": 1101}, {"sku": salmon, "qty": 333}]
    )
    assert too_heavy.status_code == 422 and "at most 1100 g" in too_heavy.json()["error"]["message"]

    light, exact, heavy = 870, 1500, 366  # 10 % over 333 g, at no charge
    r = await shop.staff_does(
        order,
        "picked",
        lines=[
            {"sku": pork, "qty": light},
            {"sku": apples, "qty": exact},
            {"sku": salmon, "qty": heavy},
        ],
    )
    assert r.status_code == 200, r.text
    # The light line's missing grams are refunded when the pick is recorded, not at the end.
    view = await shop.until(order, lambda v: v["refunds"])
    assert view["status"] == "fulfilling"
    line = paid(view, pork)
    assert view["refunds"][0]["lines"] == [
        {"sku": pork, "qty": 130, "amount": line["paid_amount"] * 130 // 1000}
    ]
    done = await shop.hand_over(order)
    assert refunded(done) == line["paid_amount"] * 130 // 1000
    assert await settled(shop, order) == done["pricing"]["payable_amount"] - refunded(done)


async def test_scale_labels_name_the_item_and_carry_its_weight_or_price(shop: Shop) -> None:
    pork, plu = shop.weighed(3980)
    order = await shop.order([{"sku": pork, "qty": 1000}])
    labels = [
        {"barcode": scale_code(plu, grams=600)},
        {"barcode": scale_code(plu, price_amount=1592)},  # 400 g at 39.80 a kilogram
    ]
    r = await shop.staff_does(order, "picked", lines=labels)
    assert r.status_code == 200, r.text
    assert r.json()["lines"] == [{"sku": pork, "qty": 1000, "picked_qty": 1000}]
    unknown = await shop.staff_does(
        await shop.order([{"sku": pork, "qty": 500}]),
        "picked",
        lines=[{"barcode": scale_code(f"{(int(plu) + 50_000) % 100_000:05d}", grams=5)}],
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["field"] == "barcode"
    assert (await shop.view(order))["refunds"] == []


# --- substitutions ----------------------------------------------------------------------------


async def test_an_approved_dearer_replacement_costs_what_the_missing_units_were_paid(
    shop: Shop,
) -> None:
    milk, dearer = shop.counted(1000), shop.counted(1500)
    order = await shop.order([{"sku": milk, "qty": 2}])
    r = await shop.propose(order, milk, dearer, 1)
    assert r.status_code == 201, r.text
    sid = r.json()["substitution_id"]
    assert r.json()["status"] == "proposed" and shop.reserved(dearer) == 0
    waiting = await shop.staff_does(order, "picked", lines=[{"sku": milk, "qty": 1}])
    assert waiting.status_code == 409 and sid in waiting.json()["error"]["message"]

    r = await shop.answer(order, sid, "approve")
    assert r.status_code == 200, r.text
    share = paid(await shop.view(order), milk)["paid_amount"] // 2
    assert r.json() | {"substitution_id": sid} == {
        "substitution_id": sid,
        "fulfilment_id": order["fulfilments"][0]["fulfilment_id"],
        "sku": milk,
        "with_sku": dearer,
        "qty": 1,
        "status": "approved",
        "decided_by": "channel",
        "price_amount": share,
        "refund_amount": 0,
    }
    again = await shop.answer(order, sid, "decline")
    assert again.status_code == 409
    view = await shop.view(order)
    line = paid(view, dearer)
    assert (line["substitutes"], line["paid_amount"], line["discount_amount"]) == (
        milk,
        share,
        1500 - share,
    )
    assert view["fulfilments"][0]["lines"] == [
        {"sku": milk, "qty": 1, "picked_qty": None},
        {"sku": dearer, "qty": 1, "picked_qty": None},
    ]
    assert (shop.reserved(milk), shop.reserved(dearer)) == (1, 1)
    r = await shop.staff_does(
        order, "picked", lines=[{"sku": milk, "qty": 1}, {"sku": dearer, "qty": 1}]
    )
    assert r.status_code == 200, r.text
    done = await shop.hand_over(order)
    assert refunded(done) == 0
    assert await settled(shop, order) == done["pricing"]["payable_amount"]
    assert [e["event"] for e in done["timeline"] if e["event"].startswith("substitution")] == [
        "substitution_proposed",
        "substitution_approved",
    ]


async def test_a_cheaper_replacement_refunds_the_difference_at_once(shop: Shop) -> None:
    milk, cheaper = shop.counted(1000), shop.counted(600)
    order = await shop.order([{"sku": milk, "qty": 3}])
    sid = (await shop.propose(order, milk, cheaper, 2)).json()["substitution_id"]
    r = await shop.answer(order, sid, "approve")
    assert r.status_code == 200, r.text
    share = paid(await shop.view(order), milk)["paid_amount"] * 2 // 3
    assert (r.json()["price_amount"], r.json()["refund_amount"]) == (1200, share - 1200)
    view = await shop.until(order, lambda v: v["refunds"])
    assert refunded(view) == share - 1200
    assert (shop.reserved(milk), shop.reserved(cheaper)) == (1, 2)


async def test_a_declined_replacement_refunds_the_missing_units_at_once(shop: Shop) -> None:
    milk, other = shop.counted(1000), shop.counted(900)
    order = await shop.order([{"sku": milk, "qty": 2}])
    sid = (await shop.propose(order, milk, other, 1)).json()["substitution_id"]
    r = await shop.answer(order, sid, "decline")
    assert (r.json()["status"], r.json()["decided_by"]) == ("declined", "channel")
    view = await shop.until(order, lambda v: v["refunds"])
    assert refunded(view) == paid(view, milk)["paid_amount"] // 2
    assert view["fulfilments"][0]["lines"] == [{"sku": milk, "qty": 1, "picked_qty": None}]
    assert (shop.reserved(milk), shop.reserved(other)) == (1, 0)
    r = await shop.staff_does(order, "picked", lines=[{"sku": milk, "qty": 1}])
    assert r.status_code == 200, r.text
    done = await shop.hand_over(order)
    assert refunded(done) == paid(view, milk)["paid_amount"] // 2  # nothing more at the pick


@pytest.mark.parametrize(
    ("preference", "status"),
    [("none", "declined"), ("similar", "approved"), ("named", "approved"), ("other", "declined")],
)
async def test_without_an_answer_the_lines_preference_decides(
    shop: Shop, preference: str, status: str
) -> None:
    milk, other = shop.counted(1000), shop.counted(1100)
    wanted: Any = {
        "none": "none",
        "similar": "similar",
        "named": {"sku": other},
        "other": {"sku": shop.counted(1)},
    }[preference]
    order = await shop.order([{"sku": milk, "qty": 2, "substitution": wanted}])
    r = await shop.propose(order, milk, other, 2)
    assert r.status_code == 201, r.text
    view = await shop.until(order, lambda v: v["substitutions"][0]["status"] != "proposed")
    assert (
        view["substitutions"][0] | {"decided_by": "preference", "status": status}
        == view["substitutions"][0]
    )
    timeline = [e["event"] for e in view["timeline"]]
    assert f"substitution_{status}" in timeline


async def test_a_substitution_while_the_order_is_cancelled_is_withdrawn(shop: Shop) -> None:
    milk, other = shop.counted(1000), shop.counted(1200)
    order = await shop.order([{"sku": milk, "qty": 2}])
    assert (await shop.propose(order, milk, other, 1)).status_code == 201
    r = await shop.site.http.post(
        f"/v1/orders/{order['order_id']}/cancel", headers=shop.app, json={"reason": "changed mind"}
    )
    assert r.status_code == 200, r.text
    view = await shop.until(
        order,
        lambda v: v["status"] == "cancelled" and v["substitutions"][0]["status"] != "proposed",
    )
    assert view["substitutions"][0]["status"] == "withdrawn"
    assert refunded(view) == view["pricing"]["payable_amount"]
    assert (shop.reserved(milk), shop.reserved(other)) == (0, 0)


async def test_proposals_that_cannot_stand_are_refused_and_change_nothing(shop: Shop) -> None:
    milk, bread = shop.counted(1000), shop.counted(500)
    pork, _ = shop.weighed(3980)
    order = await shop.order([{"sku": milk, "qty": 2}, {"sku": bread, "qty": 1}])
    cases = [
        ({"sku": milk, "with_sku": bread, "qty": 1}, 422, "on this order already"),
        ({"sku": milk, "with_sku": pork, "qty": 1}, 422, "sold the same way"),
        ({"sku": milk, "with_sku": "NO-SUCH-SKU", "qty": 1}, 422, "not in the catalogue"),
        ({"sku": milk, "with_sku": shop.counted(900, on_hand=0), "qty": 1}, 409, "to spare"),
        ({"sku": milk, "with_sku": shop.counted(900), "qty": 3}, 422, "at most that many"),
    ]
    for body, status, words in cases:
        r = await shop.staff_does(order, "substitutions", **body)
        assert r.status_code == status and words in r.json()["error"]["message"], (body, r.text)
    view = await shop.view(order)
    assert view["substitutions"] == [] and view["refunds"] == []
    unknown = await shop.answer(order, "X-S9", "approve")
    assert unknown.status_code == 404


async def test_pork_belly_picked_light_and_a_sold_out_milk_replaced(shop: Shop) -> None:
    """The member orders 1 kg of pork belly and a milk that turns out to be sold out. The store
    picks 870 g and proposes another milk; the member approves. The member pays exactly for
    what was handed over, points and settlement agree, and the channel heard every step."""
    pork, plu = shop.weighed(3980)
    milk, other_milk = shop.counted(1290), shop.counted(1350)
    order = await shop.order([{"sku": pork, "qty": 1000}, {"sku": milk, "qty": 1}])
    before = await shop.view(order)
    sid = (await shop.propose(order, milk, other_milk, 1)).json()["substitution_id"]
    assert (await shop.answer(order, sid, "approve")).json()["status"] == "approved"
    r = await shop.staff_does(
        order,
        "picked",
        lines=[{"barcode": scale_code(plu, grams=870)}, {"sku": other_milk, "qty": 1}],
    )
    assert r.status_code == 200, r.text
    done = await shop.hand_over(order)

    pork_paid, milk_paid = paid(before, pork)["paid_amount"], paid(before, milk)["paid_amount"]
    pork_back = pork_paid * 130 // 1000
    assert refunded(done) == pork_back
    # handed over: 870 g of pork at its paid share, and the other milk for the missing milk's
    assert done["pricing"]["payable_amount"] - refunded(done) == (pork_paid - pork_back) + milk_paid
    assert await settled(shop, order) == done["pricing"]["payable_amount"] - refunded(done)
    member = (
        await shop.site.http.get(f"/v1/members/{shop.member['member_id']}", headers=shop.app)
    ).json()
    net = done["pricing"]["payable_amount"] - refunded(done)
    assert member["stored_value_amount"] == 1_000_000 - net
    assert member["points"] == net // 100
    events = await events_of(shop, order)
    told = [e["type"] for e in events]
    for step in ("substitution.proposed", "substitution.approved", "fulfilment.picked"):
        assert step in told, told
    picked_event = next(e for e in events if e["type"] == "fulfilment.picked")
    lines = picked_event["data"]["fulfilments"][0]["lines"]
    assert {"sku": pork, "qty": 1000, "picked_qty": 870} in lines


async def events_of(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's events in the channel's feed, paged through."""
    out: list[dict[str, Any]] = []
    after = ""
    while True:
        query = f"?limit=500&after={after}" if after else "?limit=500"
        page = (await shop.site.http.get(f"/v1/events{query}", headers=shop.app)).json()
        out += [e for e in page["events"] if e["order_id"] == order["order_id"]]
        if not page["events"]:
            return out
        after = page["next_after"]
