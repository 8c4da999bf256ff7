"""Invariants of the pricing engine under hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.orders import LineRequest
from domain.pricing import CatalogItem, PricingContext, Rule, Scope, price

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 11, tzinfo=UTC)
SKUS = [f"S{i}" for i in range(8)]
CATS = ["dairy", "bakery", "produce"]
KINDS = [
    "percent_off",
    "amount_off",
    "tier_discount",
    "threshold_amount_off",
    "threshold_gift",
    "payment_method_discount",
]

catalogs = st.fixed_dictionaries(
    {
        s: st.builds(CatalogItem, st.just(s), st.integers(0, 50_000), st.sampled_from(CATS))
        for s in SKUS
    }
)
lines = st.lists(
    st.builds(LineRequest, st.sampled_from(SKUS), st.integers(1, 20)), min_size=1, max_size=8
)


@st.composite
def rules(draw: st.DrawFn) -> list[Rule]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(KINDS))
        scope = Scope(
            skus=frozenset(draw(st.lists(st.sampled_from(SKUS), max_size=3))),
            categories=frozenset(draw(st.lists(st.sampled_from(CATS), max_size=2))),
            tiers=frozenset(["gold"]) if kind == "tier_discount" else frozenset(),
        )
        out.append(
            Rule(
                f"P{i}",
                kind,
                scope=scope,
                percent=draw(st.integers(0, 100)),
                amount=draw(st.integers(0, 100_000)),
                threshold_amount=draw(st.integers(1, 200_000)),
                repeat=draw(st.booleans()),
                gift_sku="S0",
                gift_qty=1,
                payment_methods=frozenset(["wechat"]),
                coupon_required=draw(st.booleans()),
                stackable=draw(st.booleans()),
                priority=draw(st.integers(0, 3)),
            )
        )
    return out


contexts = st.builds(
    PricingContext,
    channel=st.just("app"),
    now=st.just(NOW),
    tier=st.sampled_from(["normal", "gold"]),
    payment_method=st.sampled_from(["wechat", "cash"]),
    coupon_promotions=st.just(frozenset({"P0", "P1", "P2"})),
    points_to_redeem=st.integers(0, 100_000),
    points_balance=st.just(10**9),
)


@settings(max_examples=300, deadline=None)
@given(catalogs, lines, rules(), contexts)
def test_every_line_adds_up_and_nothing_is_negative(cat, ls, rs, ctx) -> None:  # type: ignore[no-untyped-def]
    p = price(ls, cat, rs, ctx)
    for ln in p.lines:
        subtotal = ln.unit_price_amount * ln.qty
        assert 0 <= ln.paid_amount <= subtotal
        assert ln.discount_amount >= 0 and ln.points_amount >= 0
        assert ln.discount_amount + ln.points_amount + ln.paid_amount == subtotal
        assert all(a >= 0 for a in ln.promotions.values())
    assert sum(ln.paid_amount for ln in p.lines) == p.payable_amount
    assert p.subtotal_amount == p.discount_amount + p.points_amount + p.payable_amount
    assert all(a.amount >= 0 for a in p.applied_promotions)
    assert sum(a.amount for a in p.applied_promotions) == p.discount_amount
    assert p.points_amount <= (p.payable_amount + p.points_amount) // 2 + 1


@settings(max_examples=200, deadline=None)
@given(catalogs, lines, rules(), contexts, st.randoms())
def test_the_order_of_lines_does_not_matter_and_the_same_input_gives_the_same_output(
    cat,
    ls,
    rs,
    ctx,
    rnd,  # type: ignore[no-untyped-def]
) -> None:
    first = price(ls, cat, rs, ctx)
    shuffled = list(ls)
    rnd.shuffle(shuffled)
    assert price(shuffled, cat, list(reversed(rs)), ctx) == first
    assert price(ls, cat, rs, ctx) == first
