"""Order data: what a channel submits, how it is priced and split, and the rules on its lines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from domain.errors import DuplicateSku

GATEWAY_METHODS = ("wechat", "alipay", "card")  # paid through the payment gateway

# How far along each order status is. A record never goes back to an earlier status, and a
# cancelled order never becomes anything else (nor does a completed one become cancelled).
_ORDER_PROGRESS = {
    "submitting": 0,
    "awaiting_payment": 1,
    "paid": 2,
    "fulfilling": 3,
    "completed": 4,
    "returned": 5,
    "cancelled": 4,
}


def statuses_before(status: str) -> list[str]:
    """The recorded statuses an order may move to `status` from (itself included)."""
    rank = _ORDER_PROGRESS.get(status, 0)
    out = [s for s, r in _ORDER_PROGRESS.items() if r <= rank and s != "cancelled"]
    if status == "cancelled":
        out = [s for s in out if s != "completed"] + ["cancelled"]
    return out


@dataclass
class Address:
    province: str
    city: str
    lat: float
    lng: float
    line1: str = ""
    recipient: str = ""
    phone: str = ""


@dataclass
class FulfilmentChoice:
    """How the member wants the goods: delivered to an address, or picked up at a location."""

    mode: str  # "delivery" | "pickup"
    address: Address | None = None
    location_id: str | None = None


@dataclass
class LineRequest:
    sku: str
    qty: int


@dataclass
class OrderRequest:
    """A channel's order, as accepted by the API (already shape-validated)."""

    order_id: str
    channel: str
    channel_order_id: str
    lines: list[LineRequest]
    fulfilment: FulfilmentChoice
    payment_method: str
    member_phone: str | None = None
    coupon_codes: list[str] = field(default_factory=list)
    points_to_redeem: int = 0
    # what the member accepts for units the store is short of, per SKU: "similar" or
    # "sku:<SKU>" (none listed: the missing units are refunded)
    substitutions: dict[str, str] = field(default_factory=dict)


@dataclass
class AppliedPromotion:
    promotion_id: str
    amount: int


@dataclass
class PricedLine:
    """subtotal_amount (unit_price_amount x qty) = discount_amount + points_amount + paid_amount.
    A line sold by weight has its qty in grams and its unit price per kilogram."""

    sku: str
    qty: int
    unit_price_amount: int
    discount_amount: int
    paid_amount: int
    gift: bool = False
    category: str = ""
    points_amount: int = 0
    promotions: dict[str, int] = field(default_factory=dict)  # promotion id -> fen off
    sold_by: str = "unit"  # unit | weight
    substitutes: str = ""  # the SKU whose missing units it replaces (a substitution)

    @property
    def subtotal_amount(self) -> int:
        return line_amount(self.unit_price_amount, self.qty, self.sold_by)


def line_amount(price_amount: int, qty: int, sold_by: str = "unit") -> int:
    """Price x quantity in fen: per unit, or per kilogram for `qty` grams (half a fen up)."""
    if sold_by == "weight":
        return (price_amount * qty + 500) // 1000
    return price_amount * qty


@dataclass
class Pricing:
    lines: list[PricedLine]
    subtotal_amount: int
    discount_amount: int
    payable_amount: int
    points_redeemed: int = 0
    points_amount: int = 0
    applied_promotions: list[AppliedPromotion] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)

    def purchased(self) -> dict[str, int]:
        """Units bought per SKU (gifts excluded)."""
        return {ln.sku: ln.qty for ln in self.lines if not ln.gift}


@dataclass
class PaymentRecord:
    """One payment of an order (an order may try several: one after another fails)."""

    payment_id: str
    method: str
    amount: int
    status: str  # pending, succeeded, failed, closed


@dataclass
class PlannedPart:
    """One part of a split order: the lines one location fulfils, and why it was chosen."""

    fulfilment_id: str
    location_id: str
    mode: str
    lines: list[LineRequest]
    reasons: list[str] = field(default_factory=list)
    execution: str = "staff"  # staff | wms: the location's execution system runs the part
    carrier: str | None = None  # a delivery part's carrier, by the courier rules
    carrier_reasons: list[str] = field(default_factory=list)


def order_id_for(channel: str, channel_order_id: str) -> str:
    """A stable order id from the channel's own id: the same submission maps to the same order."""
    digest = hashlib.sha256(f"{channel}\x00{channel_order_id}".encode()).hexdigest()[:16]
    return f"O{digest.upper()}"


def merge_lines(lines: list[LineRequest]) -> list[LineRequest]:
    """One line per SKU, quantities added, in first-seen order."""
    qty: dict[str, int] = {}
    for line in lines:
        qty[line.sku] = qty.get(line.sku, 0) + line.qty
    return [LineRequest(sku=s, qty=q) for s, q in qty.items()]


def require_distinct_skus(skus: Iterable[str]) -> None:
    """A list of lines (an order, a quote, a pick, a return) names each SKU once."""
    seen: set[str] = set()
    for sku in skus:
        if sku in seen:
            raise DuplicateSku(
                f"SKU {sku} is listed twice: give each SKU once, with its whole quantity",
                details={"sku": sku},
            )
        seen.add(sku)


def request_differences(first: Mapping[str, object], again: Mapping[str, object]) -> list[str]:
    """The fields in which a resubmission (same channel order id) differs from the order
    placed first (both as plain dicts of `OrderRequest`)."""
    fields = (
        "lines",
        "fulfilment",
        "payment_method",
        "member_phone",
        "coupon_codes",
        "points_to_redeem",
    )
    return [name for name in fields if first.get(name) != again.get(name)]
