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
from domain.policy import MIN_CREDIT_SCORE

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
class ChannelRule:
    """Which locations serve a channel: by kind, by id, and within a radius of the address."""

    kinds: frozenset[str] = frozenset()  # empty: every kind
    location_ids: frozenset[str] = frozenset()  # empty: every location of those kinds
    radius_km: float | None = None

    def refuses(self, site: Site, address: Address | None) -> str | None:
        if self.kinds and site.kind not in self.kinds:
            return f"{site.kind} does not serve this channel"
        if self.location_ids and site.location_id not in self.location_ids:
            return "not among this channel's locations"
        if self.radius_km is not None and address is not None:
            km = _distance(site, address)
            if km > self.radius_km:
                return f"{km:.1f} km away, beyond this channel's {self.radius_km:g} km"
        return None


@dataclass(frozen=True)
class RoutingInput:
    lines: list[LineRequest]
    mode: str
    address: Address | None
    pickup_location_id: str | None
    sites: list[Site]
    available: dict[tuple[str, str], int]  # (location_id, sku) -> available units
    goods_class: dict[str, str]
    min_credit_score: int = MIN_CREDIT_SCORE
    excluded: frozenset[str] = frozenset()
    channel_rule: ChannelRule | None = None


def _region_rank(site: Site, address: Address | None) -> int:
    if address is None:
        return 2
    if site.city == address.city and site.province == address.province:
        return 0
    return 1 if site.province == address.province else 2


def _distance(site: Site, address: Address | None) -> float:
    return 0.0 if address is None else distance_km(site.lat, site.lng, address.lat, address.lng)


def _exclusion(site: Site, inp: RoutingInput) -> str | None:
    if inp.channel_rule is not None:
        refused = inp.channel_rule.refuses(site, inp.address)
        if refused:
            return refused
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
    """Ranks sites for one order; distances and stock vectors are computed once per site."""

    def __init__(self, inp: RoutingInput, lines: list[LineRequest]) -> None:
        self.inp = inp
        self.has_a_goods = any(inp.goods_class.get(line.sku) == "A" for line in lines)
        self.skus = [line.sku for line in lines]
        self._keys: dict[str, tuple[int, int, int, int, float, int, str]] = {}
        self._vecs: dict[str, list[int]] = {}

    def vec(self, site: Site) -> list[int]:
        """Available units of each order line's SKU at `site`."""
        v = self._vecs.get(site.location_id)
        if v is None:
            avail, loc = self.inp.available, site.location_id
            v = self._vecs[site.location_id] = [avail.get((loc, sku), 0) for sku in self.skus]
        return v

    def key(self, site: Site) -> tuple[int, int, int, int, float, int, str]:
        k = self._keys.get(site.location_id)
        if k is None:
            a_pref = 0 if (not self.has_a_goods or site.kind in WAREHOUSE_KINDS) else 1
            k = self._keys[site.location_id] = (
                a_pref,
                site.priority,
                _region_rank(site, self.inp.address),
                site.shipping_cost_amount,
                round(_distance(site, self.inp.address), 3),
                -sum(self.vec(site)),
                site.location_id,
            )
        return k

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
        if self.inp.mode == "pickup":
            parts = ["the member's chosen pickup location"]
        return ", ".join(parts)


def _short_skus(site_id: str, lines: list[LineRequest], inp: RoutingInput) -> list[str]:
    return [ln.sku for ln in lines if inp.available.get((site_id, ln.sku), 0) < ln.qty]


MAX_REASONS = 8


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
        if why is None:
            eligible.append(site)
        elif len(dropped) < MAX_REASONS:
            dropped.append(f"{site.location_id}: {why}")
    avail = inp.available
    need = [(ln.sku, ln.qty) for ln in lines]
    complete = [
        s for s in eligible if all(avail.get((s.location_id, sku), 0) >= q for sku, q in need)
    ]
    if complete:
        complete.sort(key=ranker.key)
        best = complete[0]
        reasons = [f"complete: serves every line ({ranker.describe(best)})"]
        reasons += [f"{s.location_id}: complete but ranked lower" for s in complete[1:4]]
        reasons += _preferred_but_short(eligible, complete, best, ranker, lines)
        return [PlannedPart(f"{id_prefix}-1", best.location_id, inp.mode, lines, reasons + dropped)]
    if inp.mode == "pickup" or not eligible:
        missing = (
            _short_skus(eligible[0].location_id, lines, inp)
            if eligible
            else [ln.sku for ln in lines]
        )
        raise InsufficientStock(
            "not enough stock for this order: lower the qty of the SKUs in details.skus, drop "
            "them, or choose another pickup location",
            details={"skus": sorted(missing), "field": "lines"},
        )
    return _split(lines, eligible, ranker, id_prefix=id_prefix, dropped=dropped)


def _preferred_but_short(
    eligible: list[Site],
    complete: list[Site],
    best: Site,
    ranker: _Ranker,
    lines: list[LineRequest],
) -> list[str]:
    """A few locations the rules would have preferred (priority, region, cost) but that lack
    stock: the complete-first rule at work."""
    complete_ids = {s.location_id for s in complete}
    bar = ranker.key(best)[:4]
    out = []
    for site in eligible:
        if site.location_id not in complete_ids and ranker.key(site)[:4] < bar:
            lacking = ", ".join(_short_skus(site.location_id, lines, ranker.inp))
            out.append(f"{site.location_id}: preferred but short of {lacking}")
            if len(out) == 4:
                break
    return out


def _split(
    lines: list[LineRequest],
    eligible: list[Site],
    ranker: _Ranker,
    *,
    id_prefix: str,
    dropped: list[str],
) -> list[PlannedPart]:
    """As few parts as stock allows: greedily take the location that serves the most remaining
    lines in full (then the most units, then the best ranked); a pair that covers everything
    is preferred to three or more parts."""
    need = [ln.qty for ln in lines]
    candidates = [s for s in eligible if any(ranker.vec(s))]
    totals = [sum(col) for col in zip(*(ranker.vec(s) for s in candidates), strict=True)]
    totals = totals or [0] * len(lines)
    short = sorted(ln.sku for ln, t in zip(lines, totals, strict=True) if t < ln.qty)
    if short:
        raise InsufficientStock(
            "not enough stock for this order: lower the qty of the SKUs in details.skus, or "
            "drop them",
            details={"skus": short, "field": "lines"},
        )
    order = _greedy(need, candidates, ranker)
    if len(order) > 2:
        order = _best_pair(need, candidates, ranker) or order
    return _parts(lines, order, ranker, id_prefix=id_prefix, dropped=dropped)


def _gain(vec: list[int], active: list[tuple[int, int]]) -> tuple[int, int]:
    """(lines served in full, units served) of the remaining `active` (index, qty) lines."""
    full = units = 0
    for i, r in active:
        v = vec[i]
        if v >= r:
            full += 1
            units += r
        else:
            units += v
    return full, units


def _greedy(need: list[int], candidates: list[Site], ranker: _Ranker) -> list[Site]:
    remaining = list(need)
    chosen: list[Site] = []
    pool = list(candidates)
    while any(remaining):
        active = [(i, r) for i, r in enumerate(remaining) if r]
        gains = [(_gain(ranker.vec(s), active), s) for s in pool]
        top = max(g for g, _ in gains)
        best = min((s for g, s in gains if g == top), key=ranker.key)
        pool = [s for s in pool if s is not best]
        chosen.append(best)
        remaining = [max(0, r - v) for r, v in zip(remaining, ranker.vec(best), strict=True)]
    return chosen


PAIR_POOL = 40


def _best_pair(need: list[int], candidates: list[Site], ranker: _Ranker) -> list[Site] | None:
    """The best-ranked pair among the strongest candidates that covers every line, if any."""
    active = list(enumerate(need))
    strongest = sorted(
        candidates,
        key=lambda s: (tuple(-g for g in _gain(ranker.vec(s), active)), ranker.key(s)),
    )[:PAIR_POOL]
    best: tuple[tuple[object, ...], list[Site]] | None = None
    for i, a in enumerate(strongest):
        va = ranker.vec(a)
        for b in strongest[i + 1 :]:
            vb = ranker.vec(b)
            if all(x + y >= q for x, y, q in zip(va, vb, need, strict=True)):
                rank = (ranker.key(a), ranker.key(b))
                if best is None or rank < best[0]:
                    best = (rank, [a, b])
    return None if best is None else best[1]


def _parts(
    lines: list[LineRequest],
    order: list[Site],
    ranker: _Ranker,
    *,
    id_prefix: str,
    dropped: list[str],
) -> list[PlannedPart]:
    remaining = {ln.sku: ln.qty for ln in lines}
    parts: list[PlannedPart] = []
    for site in order:
        take = []
        for ln, v in zip(lines, ranker.vec(site), strict=True):
            n = min(remaining[ln.sku], v)
            if n:
                take.append(LineRequest(sku=ln.sku, qty=n))
                remaining[ln.sku] -= n
        if not take:
            continue
        reasons = [
            f"split: no single location serves every line ({len(order)} parts)",
            f"covers {', '.join(f'{t.sku} x{t.qty}' for t in take)} ({ranker.describe(site)})",
        ]
        if not parts:
            reasons += dropped
        parts.append(
            PlannedPart(
                f"{id_prefix}-{len(parts) + 1}", site.location_id, ranker.inp.mode, take, reasons
            )
        )
    return parts
