"""Pricing benchmark: a 50-line order against 200 active promotions (`make bench-pricing`).

Prints the median, p90 and p99 time of one `price()` call over many runs, in one process.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime

from domain.orders import LineRequest
from domain.pricing import CatalogItem, PricingContext, Rule, RuleBook, Scope, price

RUNS = 2000
CATEGORIES = [f"cat{i}" for i in range(12)]
KINDS = [
    "percent_off",
    "amount_off",
    "tier_discount",
    "threshold_amount_off",
    "threshold_gift",
    "payment_method_discount",
]


def build(
    seed: int = 7,
) -> tuple[list[LineRequest], dict[str, CatalogItem], list[Rule], PricingContext]:
    rnd = random.Random(seed)
    catalog = {
        f"SKU{i:04d}": CatalogItem(f"SKU{i:04d}", rnd.randint(100, 30_000), rnd.choice(CATEGORIES))
        for i in range(2000)
    }
    skus = rnd.sample(sorted(catalog), 50)
    lines = [LineRequest(s, rnd.randint(1, 6)) for s in skus]
    rules = []
    for i in range(200):
        kind = KINDS[i % len(KINDS)]
        scope = Scope(
            skus=frozenset(rnd.sample(sorted(catalog), 30)) if i % 3 == 0 else frozenset(),
            categories=frozenset(rnd.sample(CATEGORIES, 2)) if i % 3 == 1 else frozenset(),
            tiers=frozenset(["gold"]) if kind == "tier_discount" else frozenset(),
        )
        rules.append(
            Rule(
                f"P{i:03d}",
                kind,
                scope=scope,
                percent=rnd.randint(1, 15),
                amount=rnd.randint(100, 2000),
                threshold_amount=rnd.randint(5000, 50_000),
                repeat=i % 2 == 0,
                gift_sku="SKU0001",
                gift_qty=1,
                payment_methods=frozenset(["wechat"]),
                coupon_required=i % 10 == 0,
                stackable=i % 4 == 0,
                priority=rnd.randint(0, 50),
            )
        )
    ctx = PricingContext(
        channel="app",
        now=datetime.now(UTC),
        tier="gold",
        payment_method="wechat",
        coupon_promotions=frozenset({"P000", "P010", "P020"}),
        points_to_redeem=5000,
        points_balance=10_000,
    )
    return lines, catalog, rules, ctx


def main() -> None:
    lines, catalog, rule_list, ctx = build()
    start = time.perf_counter()
    rules = RuleBook(rule_list)  # built once per change of promotions, as the service does
    book_ms = (time.perf_counter() - start) * 1000
    for _ in range(100):
        price(lines, catalog, rules, ctx)
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = price(lines, catalog, rules, ctx)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    median = statistics.median(samples)
    print(f"pricing: 50 lines x 200 active promotions, {RUNS} runs")
    print(
        f"  applied promotions: {len(result.applied_promotions)}, payable "
        f"{result.payable_amount} fen of {result.subtotal_amount}"
    )
    print(
        f"  median {median:.3f} ms, p90 {samples[int(RUNS * 0.9)]:.3f} ms, "
        f"p99 {samples[int(RUNS * 0.99)]:.3f} ms"
    )
    print(f"  promotion index built once in {book_ms:.3f} ms (rebuilt when promotions change)")
    print(f"pricing_median_ms={median:.3f} target_ms=2.0 ok={median < 2.0}")


if __name__ == "__main__":
    main()
