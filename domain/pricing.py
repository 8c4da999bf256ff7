"""Pricing: what the member pays for each line, exact to the fen.

This module holds list pricing and points as tender; promotions are applied by the promotion
engine in `domain.promotions` when present.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidRequest
from domain.money import split_capped
from domain.orders import LineRequest, PricedLine, Pricing, merge_lines


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    price_amount: int
    category: str
    goods_class: str = "B"


def list_price(lines: list[LineRequest], catalog: dict[str, CatalogItem]) -> list[PricedLine]:
    """One priced line per SKU at list price, or InvalidRequest naming the unknown SKUs."""
    merged = merge_lines(lines)
    unknown = sorted({line.sku for line in merged if line.sku not in catalog})
    if unknown:
        raise InvalidRequest("unknown SKUs in the order", details={"skus": unknown})
    return [
        PricedLine(
            sku=line.sku,
            qty=line.qty,
            unit_price_amount=catalog[line.sku].price_amount,
            discount_amount=0,
            paid_amount=catalog[line.sku].price_amount * line.qty,
            category=catalog[line.sku].category,
        )
        for line in merged
    ]


def apply_points(lines: list[PricedLine], *, points: int) -> int:
    """Take `points` (1 point = 1 fen, at most half of what is left) off the lines; return used."""
    left = sum(line.paid_amount for line in lines)
    used = max(0, min(points, left // 2))
    shares = split_capped(used, [line.paid_amount for line in lines])
    for line, share in zip(lines, shares, strict=True):
        line.paid_amount -= share
        line.discount_amount += share
    return used


def summarise(lines: list[PricedLine], *, points_used: int = 0) -> Pricing:
    subtotal = sum(line.unit_price_amount * line.qty for line in lines)
    payable = sum(line.paid_amount for line in lines)
    return Pricing(
        lines=lines,
        subtotal_amount=subtotal,
        discount_amount=subtotal - payable - points_used,
        payable_amount=payable,
        points_redeemed=points_used,
        points_amount=points_used,
    )
