"""Routing benchmark: a 20-line delivery order planned over 500 locations (`make bench-routing`).

Two cases from one run: a complete location exists (the common case), and none does, so the order
is split. Prints medians and p99 of one `plan_fulfilments()` call.
"""

from __future__ import annotations

import random
import statistics
import time

from domain.orders import Address, LineRequest
from domain.routing import RoutingInput, Site, plan_fulfilments

RUNS = 1000
CITIES = [
    ("Zhejiang", "Hangzhou", 30.27, 120.15),
    ("Zhejiang", "Ningbo", 29.87, 121.54),
    ("Jiangsu", "Nanjing", 32.04, 118.78),
    ("Jiangsu", "Suzhou", 31.30, 120.59),
    ("Shanghai", "Shanghai", 31.23, 121.47),
    ("Anhui", "Hefei", 31.82, 117.23),
]


def build(*, complete: bool, seed: int = 11) -> RoutingInput:
    rnd = random.Random(seed)
    skus = [f"SKU{i:03d}" for i in range(20)]
    sites, available = [], {}
    for i in range(500):
        prov, city, lat, lng = rnd.choice(CITIES)
        kind = (
            "store"
            if i >= 20
            else rnd.choice(["central_warehouse", "regional_warehouse", "front_warehouse"])
        )
        sites.append(
            Site(
                f"L{i:03d}",
                kind,
                prov,
                city,
                lat + rnd.uniform(-0.2, 0.2),
                lng + rnd.uniform(-0.2, 0.2),
                ships=rnd.random() > 0.05,
                priority=rnd.choice([10, 10, 10, 20]),
                shipping_cost_amount=rnd.choice([300, 500, 800]),
                credit_score=rnd.choice([100, 90, 80, 50]),
                quota_left=rnd.choice([None, None, 5, 0]),
            )
        )
        for sku in skus:
            if rnd.random() < 0.7:
                available[(f"L{i:03d}", sku)] = rnd.randint(0, 12)
    if complete:  # one eligible store in the province that holds everything
        sites[250] = Site(
            "L250",
            "store",
            "Zhejiang",
            "Ningbo",
            29.87,
            121.54,
            priority=10,
            shipping_cost_amount=500,
        )
        for sku in skus:
            available[("L250", sku)] = 50
    return RoutingInput(
        lines=[LineRequest(s, rnd.randint(1, 8)) for s in skus],
        mode="delivery",
        address=Address("Zhejiang", "Hangzhou", 30.25, 120.17),
        pickup_location_id=None,
        sites=sites,
        available=available,
        goods_class={s: "B" for s in skus},
    )


def measure(inp: RoutingInput) -> tuple[float, float, int]:
    for _ in range(20):
        plan_fulfilments(inp, id_prefix="O1-F")
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        parts = plan_fulfilments(inp, id_prefix="O1-F")
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(RUNS * 0.99)], len(parts)


def main() -> None:
    print(f"routing: 20-line delivery order over 500 locations, {RUNS} runs per case")
    results = {}
    for name, complete in (("complete", True), ("split", False)):
        med, p99, n = measure(build(complete=complete))
        results[name] = med
        print(f"  {name:8s}: {n} part(s), median {med:.3f} ms, p99 {p99:.3f} ms")
    worst = max(results.values())
    print(f"routing_median_ms={worst:.3f} target_ms=5.0 ok={worst < 5.0}")


if __name__ == "__main__":
    main()
