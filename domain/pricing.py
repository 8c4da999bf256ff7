"""The pricing engine: list prices, member rights and every promotion, exact to the fen.

Steps, each on the amounts left by the one before (see "Pricing rules" in the API contract):
  1. line subtotal = unit price x qty (sold by weight: price per kg x grams / 1000, to the fen)
  2. item promotions (percent_off, amount_off) on the lines in their scope
  3. the member's tier discount (tier_discount promotions scoped to that tier)
  4. order thresholds (threshold_amount_off, threshold_gift) on the eligible lines' amount
  5. coupons (coupon_required promotions whose code the order carries)
  6. payment-method discounts
  7. points: 1 point = 1 fen, at most half of what is left to pay

Within a step the promotions that apply are every `stackable` one plus the single non-stackable
one giving the largest benefit (ties: lower `priority`, then id); they are applied in priority
order, each on the amounts left by the one before. Every order-level amount is shared out over
the lines it covers in proportion to their amounts (largest remainder), so each line carries
exactly what it cost. `amount_off` takes its amount off the in-scope lines once per order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidRequest
from domain.money import split_capped
from domain.orders import (
    AppliedPromotion,
    LineRequest,
    PricedLine,
    Pricing,
    line_amount,
    merge_lines,
)

ITEM_KINDS = ("percent_off", "amount_off")


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    price_amount: int  # per unit; per kilogram when sold by weight
    category: str
    goods_class: str = "B"
    sold_by: str = "unit"  # unit | weight (qty in grams)
    weight_g: int = 0  # one unit's weight (0: not known)

    def grams(self, qty: int) -> int:
        """The weight of `qty` of it."""
        return qty if self.sold_by == "weight" else qty * self.weight_g

    def amount(self, qty: int) -> int:
        """The list price of `qty` of it (grams when sold by weight), in fen."""
        return line_amount(self.price_amount, qty, self.sold_by)


THRESHOLD_KINDS = ("threshold_amount_off", "threshold_gift")


@dataclass(frozen=True)
class Scope:
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    locations: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()

    def covers_order(self, ctx: PricingContext) -> bool:
        return (
            (not self.channels or ctx.channel in self.channels)
            and (not self.locations or (ctx.location_id or "") in self.locations)
            and (not self.tiers or ctx.tier in self.tiers)
        )


@dataclass(frozen=True)
class Rule:
    """A promotion as the engine sees it."""

    promotion_id: str
    kind: str
    scope: Scope = Scope()
    percent: int = 0
    amount: int = 0
    threshold_amount: int = 0
    repeat: bool = False
    gift_sku: str | None = None
    gift_qty: int = 0
    payment_methods: frozenset[str] = frozenset()
    coupon_required: bool = False
    stackable: bool = False
    priority: int = 100
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True

    def valid_at(self, now: datetime) -> bool:
        return (
            self.active
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or now < self.ends_at)
        )


@dataclass(frozen=True)
class PricingContext:
    channel: str
    now: datetime
    tier: str = "normal"
    location_id: str | None = None
    payment_method: str = ""
    coupon_promotions: frozenset[str] = frozenset()  # promotion ids of the valid coupons carried
    points_to_redeem: int = 0
    points_balance: int = 0


@dataclass
class _Line:
    line: PricedLine
    amount: int  # what is left to pay on this line
    given: dict[str, int] = field(default_factory=dict)

    def take(self, promotion_id: str, fen: int) -> None:
        if fen:
            self.amount -= fen
            self.given[promotion_id] = self.given.get(promotion_id, 0) + fen


@dataclass
class _Outcome:
    """What the steps produce besides the line amounts: gifts, totals per promotion, trace."""

    gifts: list[PricedLine] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)


def price(
    lines: list[LineRequest],
    catalog: dict[str, CatalogItem],
    rules: Iterable[Rule] | RuleBook,
    ctx: PricingContext,
) -> Pricing:
    """Price an order. Deterministic; independent of the order of the lines. Pass a RuleBook
    to reuse the promotion index across orders."""
    merged = sorted(merge_lines(lines), key=lambda ln: ln.sku)
    unknown = sorted(ln.sku for ln in merged if ln.sku not in catalog)
    if unknown:
        raise InvalidRequest(
            f"unknown SKUs in lines: {', '.join(unknown)}; correct or remove them (the catalogue: "
            "GET /v1/catalog/skus)",
            details={"skus": unknown, "field": "lines"},
        )
    work = [
        _Line(
            PricedLine(
                ln.sku,
                ln.qty,
                catalog[ln.sku].price_amount,
                0,
                0,
                False,
                catalog[ln.sku].category,
                sold_by=catalog[ln.sku].sold_by,
            ),
            catalog[ln.sku].amount(ln.qty),
        )
        for ln in merged
    ]
    book = rules if isinstance(rules, RuleBook) else RuleBook(rules)
    live, cover = book.coverage(work, ctx)
    out = _Outcome()
    steps = [
        [r for r in live if r.kind in ITEM_KINDS and not r.coupon_required],
        [r for r in live if r.kind == "tier_discount" and not r.coupon_required],
        [r for r in live if r.kind in THRESHOLD_KINDS and not r.coupon_required],
        [r for r in live if r.coupon_required and r.promotion_id in ctx.coupon_promotions],
        [
            r
            for r in live
            if r.kind == "payment_method_discount"
            and not r.coupon_required
            and ctx.payment_method in r.payment_methods
        ],
    ]
    for candidates in steps:
        for rule in _chosen(candidates, work, cover):
            _apply(rule, [work[i] for i in cover[rule.promotion_id]], out)
    points = _redeem_points(work, ctx, out.trace)
    return _summary(work, points, out)


class RuleBook:
    """Promotions indexed by the SKUs and categories they cover, built once and reused for
    every order until the promotions change."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = sorted(rules, key=lambda r: (r.priority, r.promotion_id))
        self.unscoped: list[Rule] = []
        self.by_sku: dict[str, list[Rule]] = {}
        self.by_category: dict[str, list[Rule]] = {}
        for r in self.rules:
            if not r.scope.skus and not r.scope.categories:
                self.unscoped.append(r)
            for sku in r.scope.skus:
                self.by_sku.setdefault(sku, []).append(r)
            for cat in r.scope.categories:
                self.by_category.setdefault(cat, []).append(r)

    def coverage(
        self, work: list[_Line], ctx: PricingContext
    ) -> tuple[list[Rule], dict[str, list[int]]]:
        """The rules live for this order that cover at least one line, in priority order,
        and the lines (indexes into `work`) each covers."""
        cover: dict[str, list[int]] = {}
        everything = list(range(len(work)))
        for r in self.unscoped:
            cover[r.promotion_id] = everything
        for i, w in enumerate(work):
            for r in (*self.by_sku.get(w.line.sku, ()), *self.by_category.get(w.line.category, ())):
                idx = cover.setdefault(r.promotion_id, [])
                if not idx or idx[-1] != i:  # a rule may match a line by SKU and by category
                    idx.append(i)
        live = [
            r
            for r in self.rules
            if r.promotion_id in cover and r.valid_at(ctx.now) and r.scope.covers_order(ctx)
        ]
        return live, cover


def _is_percent(rule: Rule) -> bool:
    return rule.kind in ("percent_off", "tier_discount") or (
        rule.kind == "payment_method_discount" and rule.percent > 0
    )


def _benefit(rule: Rule, amounts: list[int], idx: list[int]) -> int:
    """What `rule` would take off, given the amounts left on the lines."""
    if _is_percent(rule):
        p2 = rule.percent * 2  # percent_of, inlined: this is the engine's hot loop
        return sum((amounts[i] * p2 + 100) // 200 for i in idx)
    base = sum(map(amounts.__getitem__, idx))
    if rule.kind in ("amount_off", "payment_method_discount"):
        return min(rule.amount, base)
    if rule.kind == "threshold_amount_off":
        return min(rule.amount * _times(rule, base), base)
    if rule.kind == "threshold_gift":
        return 1 if _times(rule, base) else 0  # any gift beats none; value is not money
    return 0


def _upper_bound(rule: Rule, amounts: list[int], idx: list[int]) -> tuple[int, int]:
    """(lower, upper) bounds of the benefit, cheap for percentages: each line's rounded
    share lies within one fen below its exact share."""
    if not _is_percent(rule):
        exact = _benefit(rule, amounts, idx)
        return exact, exact
    base = sum(map(amounts.__getitem__, idx))
    upper = (base * rule.percent * 2 + 100 * len(idx)) // 200
    return max(0, upper - len(idx)), upper


def _times(rule: Rule, base: int) -> int:
    if rule.threshold_amount <= 0 or base < rule.threshold_amount:
        return 0
    return base // rule.threshold_amount if rule.repeat else 1


def _chosen(candidates: list[Rule], work: list[_Line], cover: dict[str, list[int]]) -> list[Rule]:
    """Every stackable rule, plus the non-stackable one with the largest benefit."""
    stackable = [r for r in candidates if r.stackable]
    contenders = [r for r in candidates if not r.stackable]
    if contenders:
        amounts = [w.amount for w in work]
        bounds = [(r, *_upper_bound(r, amounts, cover[r.promotion_id])) for r in contenders]
        floor = max(lo for _, lo, _ in bounds)
        scored = [
            (r, _benefit(r, amounts, cover[r.promotion_id]))
            for r, _, hi in bounds
            if hi >= floor and hi > 0
        ]
        scored = [(r, b) for r, b in scored if b > 0]
        if scored:
            best = min(scored, key=lambda rb: (-rb[1], rb[0].priority, rb[0].promotion_id))[0]
            stackable.append(best)
    return sorted(stackable, key=lambda r: (r.priority, r.promotion_id))


def _apply(rule: Rule, covered: list[_Line], out: _Outcome) -> None:
    trace = out.trace
    pid = rule.promotion_id
    if _is_percent(rule):
        total, p2 = 0, rule.percent * 2
        for w in covered:
            off = (w.amount * p2 + 100) // 200  # percent_of, inlined
            if off:
                w.amount -= off
                w.given[pid] = w.given.get(pid, 0) + off
                total += off
        out.applied[pid] = total
        trace.append(f"{pid}: {rule.percent}% off {len(covered)} line(s), {total} fen")
        return
    base = sum(w.amount for w in covered)
    if rule.kind == "threshold_gift":
        times = _times(rule, base)
        if times and rule.gift_sku:
            out.gifts.append(PricedLine(rule.gift_sku, rule.gift_qty * times, 0, 0, 0, True))
            trace.append(
                f"{pid}: spent {base} of {rule.threshold_amount} fen, "
                f"gift {rule.gift_sku} x{rule.gift_qty * times}"
            )
        return
    if rule.kind == "threshold_amount_off":
        times = _times(rule, base)
        amount = min(rule.amount * times, base)
        if not times:
            trace.append(f"{pid}: {base} fen is below the {rule.threshold_amount} fen threshold")
            return
    else:  # amount_off, payment_method_discount by amount
        amount = min(rule.amount, base)
    for w, share in zip(covered, split_capped(amount, [w.amount for w in covered]), strict=True):
        w.take(pid, share)
    out.applied[pid] = amount
    trace.append(f"{pid}: {amount} fen off, shared over {len(covered)} line(s)")


def _redeem_points(work: list[_Line], ctx: PricingContext, trace: list[str]) -> list[int]:
    if ctx.points_to_redeem > ctx.points_balance:
        raise InvalidRequest(
            f"points_to_redeem is {ctx.points_to_redeem} but the member has "
            f"{ctx.points_balance}: redeem at most that many",
            details={
                "points_to_redeem": ctx.points_to_redeem,
                "balance": ctx.points_balance,
                "field": "points_to_redeem",
            },
        )
    left = sum(w.amount for w in work)
    used = min(ctx.points_to_redeem, left // 2)
    shares = split_capped(used, [w.amount for w in work])
    for w, share in zip(work, shares, strict=True):
        w.amount -= share
    if used:
        trace.append(f"points: {used} redeemed as {used} fen (at most half of {left})")
    return shares


def _summary(work: list[_Line], points: list[int], out: _Outcome) -> Pricing:
    gifts, trace, applied = out.gifts, out.trace, out.applied
    lines: list[PricedLine] = []
    for w, pts in zip(work, points, strict=True):
        ln = w.line
        ln.points_amount = pts
        ln.paid_amount = w.amount
        ln.discount_amount = ln.subtotal_amount - w.amount - pts
        ln.promotions = w.given  # in the order the promotions were applied
        lines.append(ln)
    for gift in gifts:
        same = next((g for g in lines if g.gift and g.sku == gift.sku), None)
        if same:
            same.qty += gift.qty
        else:
            lines.append(gift)
    subtotal = sum(ln.subtotal_amount for ln in lines)
    payable = sum(ln.paid_amount for ln in lines)
    used = sum(points)
    return Pricing(
        lines=lines,
        subtotal_amount=subtotal,
        discount_amount=subtotal - payable - used,
        payable_amount=payable,
        points_redeemed=used,
        points_amount=used,
        applied_promotions=[AppliedPromotion(p, a) for p, a in sorted(applied.items()) if a],
        trace=trace,
    )


def without_gifts(pricing: Pricing, skus: set[str]) -> Pricing:
    """The same pricing with the gift lines of `skus` dropped (out of stock), saying so."""
    kept = [ln for ln in pricing.lines if not (ln.gift and ln.sku in skus)]
    if len(kept) == len(pricing.lines):
        return pricing
    notes = [f"gift {sku} is out of stock: the order goes on without it" for sku in sorted(skus)]
    return Pricing(
        lines=kept,
        subtotal_amount=pricing.subtotal_amount,
        discount_amount=pricing.discount_amount,
        payable_amount=pricing.payable_amount,
        points_redeemed=pricing.points_redeemed,
        points_amount=pricing.points_amount,
        applied_promotions=pricing.applied_promotions,
        trace=pricing.trace + notes,
    )


def order_lines(pricing: Pricing) -> list[LineRequest]:
    """What must be reserved: every priced line, gifts included."""
    return merge_lines([LineRequest(sku=ln.sku, qty=ln.qty) for ln in pricing.lines])


def dropped_gifts(pricing: Pricing, planned: list[LineRequest]) -> set[str]:
    """Gift SKUs the plan could not reserve (out of stock): the order goes on without them."""
    wanted: dict[str, int] = {}
    for ln in pricing.lines:
        wanted[ln.sku] = wanted.get(ln.sku, 0) + ln.qty
    got: dict[str, int] = {}
    for pl in planned:
        got[pl.sku] = got.get(pl.sku, 0) + pl.qty
    return {ln.sku for ln in pricing.lines if ln.gift and got.get(ln.sku, 0) < wanted[ln.sku]}
