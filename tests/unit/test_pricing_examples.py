"""Worked pricing examples, one row each: what a member pays, to the fen, and why.

Catalogue: MILK 12.90 (dairy), BREAD 8.90 (bakery), OIL 99.90 (grain), BAG 3.00 (household).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import InvalidRequest
from domain.orders import LineRequest
from domain.pricing import CatalogItem, PricingContext, Rule, Scope, price

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
CATALOG = {
    "MILK": CatalogItem("MILK", 1290, "dairy"),
    "BREAD": CatalogItem("BREAD", 890, "bakery"),
    "OIL": CatalogItem("OIL", 9990, "grain"),
    "BAG": CatalogItem("BAG", 300, "household"),
}


def R(pid: str, kind: str, **kw: Any) -> Rule:  # noqa: N802 - reads as a table
    scope = Scope(**{k: frozenset(v) for k, v in kw.pop("scope", {}).items()})
    if "payment_methods" in kw:
        kw["payment_methods"] = frozenset(kw["payment_methods"])
    return Rule(pid, kind, scope=scope, **kw)


@dataclass
class Ex:
    name: str
    lines: dict[str, int]
    rules: list[Rule]
    payable: int
    paid: dict[str, int]
    applied: dict[str, int] = field(default_factory=dict)
    ctx: dict[str, Any] = field(default_factory=dict)
    gifts: dict[str, int] = field(default_factory=dict)
    points: int = 0


DAIRY10 = R("DAIRY10", "percent_off", percent=10, scope={"categories": ["dairy"]})
GOLD5 = R("GOLD5", "tier_discount", percent=5, scope={"tiers": ["gold"]})
EXAMPLES = [
    Ex("list price only", {"MILK": 2}, [], 2580, {"MILK": 2580}),
    Ex(
        "percent off a category",
        {"MILK": 2, "BREAD": 1},
        [DAIRY10],
        3212,
        {"MILK": 2322, "BREAD": 890},
        {"DAIRY10": 258},
    ),
    Ex(
        "percentages round half up per line",
        {"MILK": 1},
        [R("P5", "percent_off", percent=5)],
        1225,
        {"MILK": 1225},
        {"P5": 65},
    ),
    Ex(
        "amount off a SKU",
        {"MILK": 2},
        [R("M5", "amount_off", amount=500, scope={"skus": ["MILK"]})],
        2080,
        {"MILK": 2080},
        {"M5": 500},
    ),
    Ex(
        "a discount larger than its line stops at zero",
        {"BREAD": 1},
        [R("BIG", "amount_off", amount=5000)],
        0,
        {"BREAD": 0},
        {"BIG": 890},
    ),
    Ex(
        "an order discount is shared by largest remainder",
        {"MILK": 1, "BREAD": 1},
        [R("A10", "amount_off", amount=1000)],
        1180,
        {"MILK": 698, "BREAD": 482},
        {"A10": 1000},
    ),
    Ex(
        "the tier discount applies to its tier",
        {"MILK": 2},
        [GOLD5],
        2451,
        {"MILK": 2451},
        {"GOLD5": 129},
        ctx={"tier": "gold"},
    ),
    Ex(
        "the tier discount skips other tiers",
        {"MILK": 2},
        [GOLD5],
        2580,
        {"MILK": 2580},
        ctx={"tier": "silver"},
    ),
    Ex(
        "item promotions come before the tier discount",
        {"MILK": 2},
        [GOLD5, DAIRY10],
        2206,
        {"MILK": 2206},
        {"DAIRY10": 258, "GOLD5": 116},
        ctx={"tier": "gold"},
    ),
    Ex(
        "thresholds are measured after item discounts (missed)",
        {"MILK": 2},
        [DAIRY10, R("T25", "threshold_amount_off", threshold_amount=2500, amount=300)],
        2322,
        {"MILK": 2322},
        {"DAIRY10": 258},
    ),
    Ex(
        "thresholds are measured after item discounts (met)",
        {"MILK": 2},
        [DAIRY10, R("T20", "threshold_amount_off", threshold_amount=2000, amount=300)],
        2022,
        {"MILK": 2022},
        {"DAIRY10": 258, "T20": 300},
    ),
    Ex(
        "a repeating threshold applies per full multiple",
        {"OIL": 1},
        [R("R10", "threshold_amount_off", threshold_amount=1000, amount=100, repeat=True)],
        9090,
        {"OIL": 9090},
        {"R10": 900},
    ),
    Ex(
        "a plain threshold applies once",
        {"OIL": 1},
        [R("T10", "threshold_amount_off", threshold_amount=1000, amount=100)],
        9890,
        {"OIL": 9890},
        {"T10": 100},
    ),
    Ex(
        "of non-stackable promotions the largest benefit wins",
        {"MILK": 2},
        [DAIRY10, R("M300", "amount_off", amount=300, scope={"skus": ["MILK"]})],
        2280,
        {"MILK": 2280},
        {"M300": 300},
    ),
    Ex(
        "equal benefits: the lower priority wins",
        {"MILK": 2},
        [
            R("P-A", "percent_off", percent=10, priority=5),
            R("P-B", "percent_off", percent=10, priority=1),
        ],
        2322,
        {"MILK": 2322},
        {"P-B": 258},
    ),
    Ex(
        "stackable promotions all apply, in priority order",
        {"MILK": 2},
        [
            R("S2", "amount_off", amount=100, stackable=True, priority=2),
            R("S1", "percent_off", percent=10, stackable=True, priority=1),
        ],
        2222,
        {"MILK": 2222},
        {"S1": 258, "S2": 100},
    ),
    Ex(
        "an expired promotion is ignored",
        {"MILK": 2},
        [R("OLD", "percent_off", percent=50, ends_at=NOW - timedelta(days=1))],
        2580,
        {"MILK": 2580},
    ),
    Ex(
        "a promotion that has not started is ignored",
        {"MILK": 2},
        [R("SOON", "percent_off", percent=50, starts_at=NOW + timedelta(hours=1))],
        2580,
        {"MILK": 2580},
    ),
    Ex(
        "a channel-scoped promotion skips other channels",
        {"MILK": 2},
        [R("APP", "percent_off", percent=50, scope={"channels": ["app"]})],
        2580,
        {"MILK": 2580},
        ctx={"channel": "pos"},
    ),
    Ex(
        "a location-scoped promotion applies at its store",
        {"MILK": 2},
        [R("S1", "percent_off", percent=50, scope={"locations": ["S-1"]})],
        1290,
        {"MILK": 1290},
        {"S1": 1290},
        ctx={"location_id": "S-1"},
    ),
    Ex(
        "a coupon promotion needs its coupon",
        {"MILK": 2},
        [R("C10", "amount_off", amount=1000, coupon_required=True)],
        2580,
        {"MILK": 2580},
    ),
    Ex(
        "a carried coupon applies after thresholds",
        {"MILK": 2},
        [R("C10", "amount_off", amount=1000, coupon_required=True)],
        1580,
        {"MILK": 1580},
        {"C10": 1000},
        ctx={"coupon_promotions": frozenset({"C10"})},
    ),
    Ex(
        "a payment-method discount needs that method",
        {"MILK": 2},
        [R("WX", "payment_method_discount", amount=500, payment_methods=["wechat"])],
        2580,
        {"MILK": 2580},
        ctx={"payment_method": "alipay"},
    ),
    Ex(
        "a payment-method discount by percent",
        {"MILK": 2},
        [R("CARD", "payment_method_discount", percent=10, payment_methods=["card"])],
        2322,
        {"MILK": 2322},
        {"CARD": 258},
        ctx={"payment_method": "card"},
    ),
    Ex(
        "a threshold gift adds a free line",
        {"MILK": 2},
        [R("GIFT", "threshold_gift", threshold_amount=2000, gift_sku="BAG", gift_qty=1)],
        2580,
        {"MILK": 2580},
        gifts={"BAG": 1},
    ),
    Ex(
        "no gift below the threshold",
        {"MILK": 1},
        [R("GIFT", "threshold_gift", threshold_amount=2000, gift_sku="BAG", gift_qty=1)],
        1290,
        {"MILK": 1290},
    ),
    Ex(
        "a zero-payable order",
        {"MILK": 1, "BREAD": 2},
        [R("ALL", "amount_off", amount=10**6)],
        0,
        {"MILK": 0, "BREAD": 0},
        {"ALL": 3070},
    ),
    Ex(
        "points pay at most half",
        {"MILK": 2},
        [],
        1290,
        {"MILK": 1290},
        ctx={"points_to_redeem": 2000, "points_balance": 5000},
        points=1290,
    ),
    Ex(
        "points below half are all used",
        {"MILK": 2},
        [],
        2480,
        {"MILK": 2480},
        ctx={"points_to_redeem": 100, "points_balance": 100},
        points=100,
    ),
    Ex(
        "every step in its published order",
        {"MILK": 2, "BREAD": 1},
        [
            DAIRY10,
            GOLD5,
            R("T20", "threshold_amount_off", threshold_amount=2000, amount=200),
            R("C1", "amount_off", amount=100, coupon_required=True),
            R("WX", "payment_method_discount", amount=50, payment_methods=["wechat"]),
        ],
        2601,
        {"MILK": 1881, "BREAD": 720},
        {"DAIRY10": 258, "GOLD5": 161, "T20": 200, "C1": 100, "WX": 50},
        ctx={
            "tier": "gold",
            "coupon_promotions": frozenset({"C1"}),
            "payment_method": "wechat",
            "points_to_redeem": 100,
            "points_balance": 100,
        },
        points=100,
    ),
]


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda e: e.name)
def test_worked_example(ex: Ex) -> None:
    ctx = PricingContext(**({"channel": "app", "now": NOW} | ex.ctx))  # type: ignore[arg-type]
    lines = [LineRequest(sku=s, qty=q) for s, q in ex.lines.items()]
    p = price(lines, CATALOG, ex.rules, ctx)
    assert p.payable_amount == ex.payable
    assert {ln.sku: ln.paid_amount for ln in p.lines if not ln.gift} == ex.paid
    assert {a.promotion_id: a.amount for a in p.applied_promotions} == ex.applied
    assert {ln.sku: ln.qty for ln in p.lines if ln.gift} == ex.gifts
    assert p.points_redeemed == ex.points
    assert p.subtotal_amount == p.discount_amount + p.points_amount + p.payable_amount


def test_redeeming_more_points_than_the_balance_is_refused() -> None:
    ctx = PricingContext(channel="app", now=NOW, points_to_redeem=500, points_balance=499)
    with pytest.raises(InvalidRequest):
        price([LineRequest("MILK", 1)], CATALOG, [], ctx)


def test_unknown_skus_are_named() -> None:
    with pytest.raises(InvalidRequest) as err:
        price([LineRequest("NOPE", 1)], CATALOG, [], PricingContext(channel="app", now=NOW))
    assert err.value.details == {"skus": ["NOPE"], "field": "lines"}


def test_the_trace_says_which_promotion_gave_what() -> None:
    p = price([LineRequest("MILK", 2)], CATALOG, [DAIRY10], PricingContext("app", NOW))
    assert any("DAIRY10" in t and "258" in t for t in p.trace)
    assert p.lines[0].promotions == {"DAIRY10": 258}
