"""Quotes and priced orders through the real API: promotions, tiers, coupons, points, gifts."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.members import MemberRepository
from adapters.promotions import PromotionRepository
from tests import factories as f
from tests.conftest import uid
from tests.factories import phone
from tests.integration.conftest import Stack
from tests.integration.test_api_foundation import assert_error
from workflows.messages import PaymentResult
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.integration


async def promo(stack: Stack, **body: Any) -> str:
    pid = uid("P-")
    r = await stack.http.put(f"/v1/admin/promotions/{pid}", json=body, headers=stack.admin)
    assert r.status_code == 201, r.text
    return pid


async def shop(stack: Stack, *, price: int = 1000, on_hand: int = 50) -> tuple[str, str, str]:
    """A store and a SKU in a category of its own, so other tests' promotions stay away."""
    cat = uid("cat-")
    loc = f.location(stack.engine)
    sku = f.sku(stack.engine, price=price, category=cat)
    f.stock(stack.engine, loc, sku, on_hand)
    return loc, sku, cat


def body(loc: str, sku: str, qty: int = 2, **over: Any) -> dict[str, Any]:
    return {
        "lines": [{"sku": sku, "qty": qty}],
        "payment_method": "wechat",
        "fulfilment": {"mode": "pickup", "location_id": loc},
    } | over


async def test_a_quote_applies_item_tier_and_threshold_promotions_in_order(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku, cat = await shop(stack, price=1000)
    member = (
        await stack.http.post("/v1/members", headers=app, json={"phone": phone(), "name": "Gold"})
    ).json()
    MemberRepository(stack.engine).set_tier(member["member_id"], "gold")
    p10 = await promo(stack, kind="percent_off", percent=10, scope={"categories": [cat]})
    gold = await promo(
        stack, kind="tier_discount", percent=5, scope={"tiers": ["gold"], "categories": [cat]}
    )
    t = await promo(
        stack,
        kind="threshold_amount_off",
        threshold_amount=1500,
        amount=100,
        scope={"categories": [cat]},
    )
    r = await stack.http.post(
        "/v1/quotes", headers=app, json=body(loc, sku, member_phone=member["phone"])
    )
    assert r.status_code == 200, r.text
    pricing = r.json()["pricing"]
    # 2000 -> 10% -> 1800 -> 5% -> 1710 -> threshold 1500 met -> 1610
    assert pricing["payable_amount"] == 1610
    assert {a["promotion_id"]: a["amount"] for a in pricing["applied_promotions"]} == {
        p10: 200,
        gold: 90,
        t: 100,
    }
    assert pricing["lines"][0]["promotions"][0] == {"promotion_id": p10, "amount": 200}
    assert any(t in line for line in pricing["trace"])


async def test_the_order_is_priced_as_its_quote_and_the_trace_is_in_its_timeline(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku, cat = await shop(stack, price=1290)
    pid = await promo(stack, kind="percent_off", percent=5, scope={"categories": [cat]})
    quote = (await stack.http.post("/v1/quotes", headers=app, json=body(loc, sku, qty=1))).json()
    order = (
        await stack.http.post(
            "/v1/orders", headers=app, json=body(loc, sku, qty=1, channel_order_id=uid())
        )
    ).json()
    assert order["pricing"]["payable_amount"] == quote["pricing"]["payable_amount"] == 1225
    assert any(pid in t["detail"] for t in order["timeline"] if t["event"] == "priced")


async def test_unknown_used_up_and_other_members_coupons_are_invalid(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku, _ = await shop(stack)
    pid = await promo(
        stack, kind="amount_off", amount=300, coupon_required=True, scope={"skus": [sku]}
    )
    mine = uid("MINE-")
    await stack.http.post(
        "/v1/admin/coupons",
        headers=stack.admin,
        json={"promotion_id": pid, "code": mine, "member_phone": "13900000009", "uses": 1},
    )
    for codes, member in [(["NOPE-" + uid()], None), ([mine], phone()), ([mine], None)]:
        extra: dict[str, Any] = {"member_phone": member} if member else {}
        r = await stack.http.post(
            "/v1/quotes", headers=app, json=body(loc, sku, coupon_codes=codes, **extra)
        )
        assert r.status_code == 422, r.text
        assert_error(r.json(), "invalid_coupon")
    r = await stack.http.post(
        "/v1/quotes",
        headers=app,
        json=body(loc, sku, coupon_codes=[mine], member_phone="13900000009"),
    )
    assert r.status_code == 200 and r.json()["pricing"]["payable_amount"] == 1700


async def test_a_coupon_is_held_by_an_unpaid_order_and_used_up_on_payment(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku, _ = await shop(stack)
    pid = await promo(
        stack, kind="amount_off", amount=500, coupon_required=True, scope={"skus": [sku]}
    )
    code = uid("ONCE-")
    await stack.http.post(
        "/v1/admin/coupons",
        headers=stack.admin,
        json={"promotion_id": pid, "code": code, "uses": 1},
    )
    first = await stack.http.post(
        "/v1/orders", headers=app, json=body(loc, sku, coupon_codes=[code], channel_order_id=uid())
    )
    assert first.status_code == 201 and first.json()["pricing"]["payable_amount"] == 1500
    coupons = {c["code"]: c for c in PromotionRepository(stack.engine).list_coupons()}
    assert (coupons[code]["held"], coupons[code]["used"]) == (1, 0)
    second = await stack.http.post(
        "/v1/orders", headers=app, json=body(loc, sku, coupon_codes=[code], channel_order_id=uid())
    )
    assert second.status_code == 422
    assert_error(second.json(), "invalid_coupon")

    order = first.json()
    handle = stack.temporal.get_workflow_handle(f"order-{order['order_id']}")
    await handle.signal(
        OrderWorkflow.payment_result,
        PaymentResult(order["payment"]["payment_id"], "succeeded", uid("evt-")),
    )
    from tests.integration.test_order_flow import wait_for_status

    await wait_for_status(stack, app, order["order_id"], "fulfilling")
    coupons = {c["code"]: c for c in PromotionRepository(stack.engine).list_coupons()}
    assert (coupons[code]["held"], coupons[code]["used"]) == (0, 1)


async def test_points_pay_at_most_half_and_leave_the_members_balance(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku, _ = await shop(stack, price=1000)
    member = (
        await stack.http.post("/v1/members", headers=app, json={"phone": phone(), "name": "Pts"})
    ).json()
    await stack.http.post(
        f"/v1/admin/members/{member['member_id']}/points",
        headers=stack.admin,
        json={"delta": 5000, "reason": "test"},
    )
    r = await stack.http.post(
        "/v1/orders",
        headers=app,
        json=body(
            loc, sku, member_phone=member["phone"], points_to_redeem=5000, channel_order_id=uid()
        ),
    )
    assert r.status_code == 201, r.text
    pricing = r.json()["pricing"]
    assert (pricing["points_redeemed"], pricing["payable_amount"]) == (1000, 1000)
    got = (await stack.http.get(f"/v1/members/{member['member_id']}", headers=app)).json()
    assert got["points"] == 4000
    r = await stack.http.post(
        "/v1/quotes",
        headers=app,
        json=body(loc, sku, member_phone=member["phone"], points_to_redeem=4001),
    )
    assert r.status_code == 422


async def test_a_gift_out_of_stock_is_left_out_and_the_quote_says_so(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    loc, sku, cat = await shop(stack, price=1000)
    gift = f.sku(stack.engine, price=300, category=uid("gift-"))
    f.stock(stack.engine, loc, gift, 0)
    await promo(
        stack,
        kind="threshold_gift",
        threshold_amount=1500,
        gift_sku=gift,
        gift_qty=1,
        scope={"categories": [cat]},
    )
    quote = (await stack.http.post("/v1/quotes", headers=app, json=body(loc, sku))).json()
    assert [ln["sku"] for ln in quote["pricing"]["lines"]] == [sku]
    assert any("out of stock" in t for t in quote["pricing"]["trace"])
    r = await stack.http.post(
        "/v1/orders", headers=app, json=body(loc, sku, channel_order_id=uid())
    )
    assert r.status_code == 201, r.text
    assert [ln["sku"] for ln in r.json()["pricing"]["lines"]] == [sku]

    f.stock(stack.engine, loc, gift, 5)
    r = await stack.http.post(
        "/v1/orders", headers=app, json=body(loc, sku, channel_order_id=uid())
    )
    lines = r.json()["pricing"]["lines"]
    assert {ln["sku"]: ln["gift"] for ln in lines} == {sku: False, gift: True}
    reserved = {ln["sku"]: ln["qty"] for ln in r.json()["fulfilments"][0]["lines"]}
    assert reserved == {gift: 1, sku: 2}
