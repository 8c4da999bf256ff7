"""Settlement through the API: terms per channel and location, entries that add up after returns,
daily statements for finance that reconcile with the entries, and tiers earned by spending."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.settlement import business_day
from tests.conftest import uid
from tests.factories import phone
from tests.integration.conftest import Stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_cancel_and_refunds import member_with_balance, wait_refunds
from tests.integration.test_order_flow import act, wait_for_status

pytestmark = pytest.mark.integration


async def deliver(stack: Stack, channel: dict[str, str], order: dict[str, Any]) -> None:
    for part in order["fulfilments"]:
        staff = await stack.token(role="staff", location_id=part["location_id"])
        for action, body in [
            ("accept", {}),
            ("picked", {}),
            ("ship", {"carrier": "SF", "tracking_no": uid("SF")}),
            ("deliver", {}),
        ]:
            r = await act(stack, staff, part["fulfilment_id"], action, **body)
            assert r.status_code == 200, r.text
    await wait_for_status(stack, channel, order["order_id"], "completed")


async def settlement_of(stack: Stack, order: dict[str, Any]) -> Any:
    r = await stack.http.get(f"/v1/orders/{order['order_id']}/settlement", headers=stack.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def put_rule(stack: Stack, **body: Any) -> Any:
    return await stack.http.put("/v1/admin/settlement-rules", headers=stack.admin, json=body)


async def paid(
    stack: Stack, channel: dict[str, str], sku: str, qty: int, **over: Any
) -> dict[str, Any]:
    """An order of a new member, paid through the simulated gateway (cash is for the till,
    and a marketplace may not spend stored value)."""
    order = await stack.place(channel, sku, qty, method="wechat", member_phone=phone(), **over)
    r = await stack.http.post(
        f"/v1/sim/payments/{order['payment']['payment_id']}",
        headers=stack.admin,
        json={"outcome": "succeeded"},
    )
    assert r.status_code == 200, r.text
    return await wait_for_status(stack, channel, order["order_id"], "fulfilling")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_an_exclusive_order_settles_its_commission_and_returns_settle_back(
    stack: Stack,
) -> None:
    channel = uid("mp-")
    mp = await stack.token(role="channel", channel=channel)
    loc, sku = await stack.store_with_stock(on_hand=10, price=3333)
    r = await put_rule(stack, location_id=loc, model="exclusive", commission_bp=600)
    assert r.status_code == 200, r.text
    assert r.json()["rule_id"] == f"*@{loc}"
    order = await paid(stack, mp, sku, 3)  # 99.99 yuan
    assert order["pricing"]["payable_amount"] == 9999
    await deliver(stack, mp, order)

    url = f"/v1/orders/{order['order_id']}/settlement"
    got = (await stack.http.get(url, headers=stack.admin)).json()
    assert got["model"] == "exclusive" and got["rule_id"] == f"*@{loc}"
    # 6 % of 9999 fen is 599.94 fen and the store's 94 % is 9399.06: the fen left over goes to
    # the larger remainder, the operator's (largest remainder)
    assert [(e["party"], e["role"], e["amount"]) for e in got["entries"]] == [
        (f"location:{loc}", "owner", 9399),
        ("operator", "operator", 600),
    ]

    r = await stack.http.post(
        f"/v1/orders/{order['order_id']}/returns",
        headers=mp,
        json={"lines": [{"sku": sku, "qty": 1}]},
    )
    assert r.status_code == 200, r.text
    refunds = await wait_refunds(stack, mp, order["order_id"])
    assert [x["amount"] for x in refunds] == [3333]
    got = (await stack.http.get(url, headers=stack.admin)).json()
    assert got["net_amount"] == 9999 - 3333 == sum(e["amount"] for e in got["entries"])
    # what is left is a fresh split of 66.66 yuan: 6 % = 399.96 -> 400 and 6266
    assert {(t["role"], t["amount"]) for t in got["totals"]} == {("owner", 6266), ("operator", 400)}
    assert {e["cause"] for e in got["entries"]} == {"completed", refunds[0]["refund_id"]}

    day = business_day(datetime.now(UTC))
    r = await stack.http.get(
        f"/v1/admin/settlement/{day}/statement.csv",
        params={"party": f"location:{loc}"},
        headers=stack.admin,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = rows_of(r.text)
    entries = [x for x in rows if x["order_id"] != "TOTAL"]
    [total] = [x for x in rows if x["order_id"] == "TOTAL"]
    assert [int(x["amount_fen"]) for x in entries] == [9399, -3133]
    assert int(total["amount_fen"]) == sum(int(x["amount_fen"]) for x in entries) == 6266
    # the whole day's statement reconciles with each party's net for the day
    everyone = rows_of(
        (
            await stack.http.get(f"/v1/admin/settlement/{day}/statement.csv", headers=stack.admin)
        ).text
    )
    parties = (await stack.http.get(f"/v1/admin/settlement/{day}", headers=stack.admin)).json()
    totals = {
        (x["party"], x["role"]): int(x["amount_fen"]) for x in everyone if x["order_id"] == "TOTAL"
    }
    assert totals == {(p["party"], p["role"]): p["amount"] for p in parties["parties"]}
    for (party, role), amount in totals.items():
        assert amount == sum(
            int(x["amount_fen"])
            for x in everyone
            if x["order_id"] != "TOTAL" and (x["party"], x["role"]) == (party, role)
        )


async def test_the_most_specific_rule_wins_and_settled_orders_keep_their_terms(
    stack: Stack,
) -> None:
    channel = uid("mp-")
    mp = await stack.token(role="channel", channel=channel)
    loc, sku = await stack.store_with_stock(on_hand=10, price=10_000)
    await put_rule(
        stack,
        channel=channel,
        model="shared",
        owner_ratio=5,
        fulfiller_ratio=3,
        operator_ratio=2,
        owner="brand:ACME",
    )
    r = await put_rule(
        stack,
        channel=channel,
        location_id=loc,
        model="distribution",
        commission_bp=1000,
        distributor="dist:WX-7",
    )
    assert r.status_code == 200, r.text
    first = await paid(stack, mp, sku, 1)
    await deliver(stack, mp, first)
    got = await settlement_of(stack, first)
    assert got["model"] == "distribution"
    assert [(e["party"], e["amount"]) for e in got["entries"]] == [
        (f"location:{loc}", 9000),
        ("dist:WX-7", 1000),
    ]

    r = await stack.http.delete(f"/v1/admin/settlement-rules/{channel}@{loc}", headers=stack.admin)
    assert r.status_code == 204
    second = await paid(stack, mp, sku, 1)
    await deliver(stack, mp, second)
    got = await settlement_of(stack, second)
    assert got["model"] == "shared"
    assert [(e["party"], e["role"], e["amount"]) for e in got["entries"]] == [
        ("brand:ACME", "owner", 5000),
        (f"location:{loc}", "fulfiller", 3000),
        ("operator", "operator", 2000),
    ]
    again = await settlement_of(stack, first)
    assert again["model"] == "distribution"
    rules = (await stack.http.get("/v1/admin/settlement-rules", headers=stack.admin)).json()
    assert f"{channel}@*" in {x["rule_id"] for x in rules["rules"]}
    assert f"{channel}@{loc}" not in {x["rule_id"] for x in rules["rules"]}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "exclusive"}, 422),  # no commission
        ({"model": "exclusive", "commission_bp": 10_001}, 422),
        ({"model": "distribution", "commission_bp": 100}, 422),  # no distributor
        ({"model": "shared"}, 422),  # no ratio
        ({"model": "barter"}, 422),
        ({"model": "buy_sell", "tip": 1}, 422),
        ({"model": "buy_sell", "location_id": "NO-SUCH-LOC"}, 404),
        ({"model": "exclusive", "commission_bp": 100, "operator": "bad party!"}, 422),
    ],
)
async def test_bad_rules_are_refused_and_change_nothing(
    stack: Stack, body: dict[str, Any], status: int
) -> None:
    before = (await stack.http.get("/v1/admin/settlement-rules", headers=stack.admin)).json()
    r = await put_rule(stack, **({"channel": uid("ch-")} | body))
    assert r.status_code == status, r.text
    assert_error(r.json(), "not_found" if status == 404 else "invalid_request")
    after = (await stack.http.get("/v1/admin/settlement-rules", headers=stack.admin)).json()
    assert after == before


async def test_settlement_is_for_admins_only(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    assert (await stack.http.get("/v1/admin/settlement-rules", headers=app)).status_code == 403
    r = await stack.http.get("/v1/admin/settlement/2026-11-23/statement.csv", headers=app)
    assert r.status_code == 403
    r = await stack.http.get("/v1/admin/settlement/2026-13-40", headers=stack.admin)
    assert r.status_code == 422


async def test_a_member_is_upgraded_when_the_12_month_spend_crosses_a_threshold(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    member = await member_with_balance(stack, app, 200_000)
    loc, sku = await stack.store_with_stock(on_hand=10, price=60_000)  # 600 yuan each
    mid = member["member_id"]
    first = await stack.place(app, sku, 1, method="stored_value", member_phone=member["phone"])
    await deliver(stack, app, first)
    got = (await stack.http.get(f"/v1/members/{mid}", headers=app)).json()
    assert got["tier"] == "normal"  # 600 yuan
    second = await stack.place(app, sku, 1, method="stored_value", member_phone=member["phone"])
    await deliver(stack, app, second)
    got = (await stack.http.get(f"/v1/members/{mid}", headers=app)).json()
    assert got["tier"] == "silver"  # 1,200 yuan >= 1,000
    timeline = (await stack.http.get(f"/v1/orders/{second['order_id']}", headers=app)).json()
    assert "tier_upgraded" in {e["event"] for e in timeline["timeline"]}
    # a return lowers the spend but never the tier on its own
    r = await stack.http.post(
        f"/v1/orders/{second['order_id']}/returns",
        headers=app,
        json={"lines": [{"sku": sku, "qty": 1}]},
    )
    assert r.status_code == 200, r.text
    got = (await stack.http.get(f"/v1/members/{mid}", headers=app)).json()
    assert got["tier"] == "silver"
    r = await stack.http.patch(
        f"/v1/admin/members/{mid}", headers=stack.admin, json={"tier": "platinum"}
    )
    assert r.json()["tier"] == "platinum"


async def test_a_members_orders_from_every_channel_newest_first_in_pages(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    pos = await stack.token(role="channel", channel="pos")
    member = await member_with_balance(stack, app, 100_000)
    loc, sku = await stack.store_with_stock(on_hand=10, price=100)
    placed = []
    for channel in (app, pos, app):
        o = await stack.place(channel, sku, 1, method="stored_value", member_phone=member["phone"])
        placed.append(o["order_id"])
    url = f"/v1/members/{member['member_id']}/orders"
    page = (await stack.http.get(url, params={"limit": 2}, headers=pos)).json()
    rest = (
        await stack.http.get(url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=pos)
    ).json()
    got = [o["order_id"] for o in page["orders"] + rest["orders"]]
    assert got == placed[::-1] and rest["next_cursor"] is None
    assert {o["channel"] for o in page["orders"] + rest["orders"]} == {"app", "pos"}


async def test_a_split_order_is_settled_to_each_location_for_what_it_handed_over(
    stack: Stack,
) -> None:
    channel = uid("mp-")
    mp = await stack.token(role="channel", channel=channel)
    loc_a, sku_a = await stack.store_with_stock(on_hand=5, price=3000)
    loc_b, sku_b = await stack.store_with_stock(on_hand=5, price=7001)
    order = await paid(
        stack, mp, sku_a, 1, lines=[{"sku": sku_a, "qty": 1}, {"sku": sku_b, "qty": 1}]
    )
    assert {p["location_id"] for p in order["fulfilments"]} == {loc_a, loc_b}
    await deliver(stack, mp, order)
    got = await settlement_of(stack, order)
    assert {(e["party"], e["amount"]) for e in got["entries"]} == {
        (f"location:{loc_a}", 3000),
        (f"location:{loc_b}", 7001),
    }
    # a return of B's unit takes back what was left of the net, shared the same way
    r = await stack.http.post(
        f"/v1/orders/{order['order_id']}/returns",
        headers=mp,
        json={"lines": [{"sku": sku_b, "qty": 1}]},
    )
    assert r.status_code == 200, r.text
    got = await settlement_of(stack, order)
    assert got["net_amount"] == 3000 == sum(t["amount"] for t in got["totals"])
