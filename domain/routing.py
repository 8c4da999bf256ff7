"""Routing and splitting: which locations fulfil an order, complete first, then nearest.

Implements the published routing rules: pickup orders go to the chosen location and are never
split; delivery orders go to one location that can serve every line when there is one, otherwise
to as few locations as stock allows. Every part carries the reasons for its choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InsufficientStock
from domain.geo import distance_km
from domain.orders import Address, LineRequest, PlannedPart, merge_lines

WAREHOUSE_KINDS = ("central_warehouse", "regional_warehouse")


@dataclass(frozen=True)
class Site:
    """A location as routing sees it."""

    location_id: str
    kind: str
    province: str
    city: str
    lat: float
    lng: float
    ships: bool = True
    pickup: bool = False
    priority: int = 100
    shipping_cost_amount: int = 0
    credit_score: int = 100
    quota_left: int | None = None  # None: no quota


@dataclass(frozen=True)
class RoutingInput:
    lines: list[LineRequest]
    mode: str
    address: Address | None
    pickup_location_id: str | None
    sites: list[Site]
    available: dict[tuple[str, str], int]  # (location_id, sku) -> available units
    goods_class: dict[str, str]
    min_credit_score: int = 60
    excluded: frozenset[str] = frozenset()


def _region_rank(site: Site, address: Address | None) -> int:
    if address is None:
        return 2
    if site.city == address.city and site.province == address.province:
        return 0
    return 1 if site.province == address.province else 2


def _distance(site: Site, address: Address | None) -> float:
    return 0.0 if address is None else distance_km(site.lat, site.lng, address.lat, address.lng)


def _exclusion(site: Site, inp: RoutingInput) -> str | None:
    if site.location_id in inp.excluded:
        return "already rejected or lapsed this part"
    if inp.mode == "delivery" and not site.ships:
        return "does not ship"
    if inp.mode == "pickup" and not site.pickup:
        return "does not offer pickup"
    if site.credit_score < inp.min_credit_score:
        return f"credit score {site.credit_score} below {inp.min_credit_score}"
    if site.quota_left is not None and site.quota_left <= 0:
        return "daily quota used up"
    return None


class _Ranker:
    def __init__(self, inp: RoutingInput, lines: list[LineRequest]) -> None:
        self.inp = inp
        self.has_a_goods = any(inp.goods_class.get(line.sku) == "A" for line in lines)
        self.skus = [line.sku for line in lines]

    def stock_of(self, site: Site) -> int:
        return sum(self.inp.available.get((site.location_id, sku), 0) for sku in self.skus)

    def key(self, site: Site) -> tuple[int, int, int, int, float, int, str]:
        a_pref = 0 if (not self.has_a_goods or site.kind in WAREHOUSE_KINDS) else 1
        return (
            a_pref,
            site.priority,
            _region_rank(site, self.inp.address),
            site.shipping_cost_amount,
            round(_distance(site, self.inp.address), 3),
            -self.stock_of(site),
            site.location_id,
        )

    def describe(self, site: Site) -> str:
        region = ("same city", "same province", "other province")[
            _region_rank(site, self.inp.address)
        ]
        parts = [f"priority {site.priority}", region]
        if self.inp.address is not None:
            parts.append(f"{_distance(site, self.inp.address):.1f} km")
        parts.append(f"shipping cost {site.shipping_cost_amount}")
        if self.has_a_goods and site.kind in WAREHOUSE_KINDS:
            parts.insert(0, "warehouse preferred for A goods")
        return ", ".join(parts)


def _short_skus(site_id: str, lines: list[LineRequest], inp: RoutingInput) -> list[str]:
    return [ln.sku for ln in lines if inp.available.get((site_id, ln.sku), 0) < ln.qty]


def plan_fulfilments(inp: RoutingInput, *, id_prefix: str) -> list[PlannedPart]:
    """The parts that fulfil the order, each with reasons; InsufficientStock when none can."""
    lines = merge_lines(inp.lines)
    ranker = _Ranker(inp, lines)
    dropped: list[str] = []
    eligible: list[Site] = []
    for site in inp.sites:
        if inp.mode == "pickup" and site.location_id != inp.pickup_location_id:
            continue
        why = _exclusion(site, inp)
        if why:
            dropped.append(f"{site.location_id}: {why}")
        else:
            eligible.append(site)
    eligible.sort(key=ranker.key)
    complete = [s for s in eligible if not _short_skus(s.location_id, lines, inp)]
    for site in eligible:
        if site not in complete:
            lacking = ", ".join(_short_skus(site.location_id, lines, inp))
            dropped.append(f"{site.location_id}: not enough stock of {lacking}")
    if complete:
        best = complete[0]
        reasons = [f"complete: serves every line ({ranker.describe(best)})"]
        reasons += [f"{s.location_id}: complete but ranked lower" for s in complete[1:4]]
        reasons += dropped[:8]
        return [PlannedPart(f"{id_prefix}-1", best.location_id, inp.mode, lines, reasons)]
    if inp.mode == "pickup" or not eligible:
        missing = (
            _short_skus(eligible[0].location_id, lines, inp)
            if eligible
            else [ln.sku for ln in lines]
        )
        raise InsufficientStock(
            "not enough stock for this order", details={"skus": sorted(missing)}
        )
    return _split(inp, lines, eligible, ranker, id_prefix=id_prefix, dropped=dropped)


def _coverable(line: LineRequest, sites: list[Site], inp: RoutingInput) -> bool:
    return sum(inp.available.get((s.location_id, line.sku), 0) for s in sites) >= line.qty


def _split(
    inp: RoutingInput,
    lines: list[LineRequest],
    eligible: list[Site],
    ranker: _Ranker,
    *,
    id_prefix: str,
    dropped: list[str],
) -> list[PlannedPart]:
    short = sorted(ln.sku for ln in lines if not _coverable(ln, eligible, inp))
    if short:
        raise InsufficientStock("not enough stock for this order", details={"skus": short})
    remaining = {ln.sku: ln.qty for ln in lines}
    parts: list[PlannedPart] = []
    used: set[str] = set()
    while any(remaining.values()):
        candidates = [s for s in eligible if s.location_id not in used]

        def gain(site: Site) -> tuple[int, int]:
            full = sum(
                1
                for sku, q in remaining.items()
                if q and inp.available.get((site.location_id, sku), 0) >= q
            )
            units = sum(
                min(q, inp.available.get((site.location_id, sku), 0))
                for sku, q in remaining.items()
            )
            return (full, units)

        best = min(candidates, key=lambda s: (tuple(-g for g in gain(s)), ranker.key(s)))
        take = []
        for sku, q in remaining.items():
            n = min(q, inp.available.get((best.location_id, sku), 0))
            if n:
                take.append(LineRequest(sku=sku, qty=n))
                remaining[sku] = q - n
        used.add(best.location_id)
        reasons = [
            "split: no single location serves every line",
            f"covers {', '.join(f'{t.sku} x{t.qty}' for t in take)} ({ranker.describe(best)})",
        ]
        if not parts:
            reasons += dropped[:8]
        parts.append(
            PlannedPart(f"{id_prefix}-{len(parts) + 1}", best.location_id, inp.mode, take, reasons)
        )
    return parts
