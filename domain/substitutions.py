"""Substitutions: a replacement for units a store is short of, as the member wants it, and what
it costs them.

The missing units carry their share of what was paid for their line, in money and in points
(`domain.refunds.unit_share`). The replacement costs at most that: a dearer one costs exactly
the share (the difference is a discount, `SUBSTITUTION`), a cheaper one its list price, the rest
going back to the member in money and points in the proportion they were paid in."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidRequest
from domain.orders import LineRequest, PricedLine, line_amount
from domain.refunds import RefundLedger, RefundLine

DISCOUNT = "SUBSTITUTION"  # the promotion id a dearer replacement's difference is shown as
NONE, SIMILAR = "none", "similar"


def preference_decides(preference: str, with_sku: str) -> str:
    """What the line's preference answers for the member who did not: `none` declines,
    `similar` approves, a named SKU approves that SKU only."""
    if preference == SIMILAR:
        return "approve"
    if preference.startswith("sku:") and preference.removeprefix("sku:") == with_sku:
        return "approve"
    return "decline"


@dataclass
class Proposal:
    """A substitution as the order, the console and the channel see it."""

    substitution_id: str
    fulfilment_id: str
    sku: str
    with_sku: str
    qty: int
    status: str = "proposed"  # approved, declined, withdrawn (the part ended first)
    decided_by: str = ""  # channel, preference (no answer in time), order
    price_amount: int = 0  # what the replacement costs the member
    refund_amount: int = 0  # what went back (a cheaper replacement, or a decline)


@dataclass(frozen=True)
class Replacement:
    sku: str
    qty: int
    price_amount: int  # per unit, per kilogram when sold by weight
    sold_by: str = "unit"
    category: str = ""


def check_replacement(line: PricedLine, qty: int, r: Replacement, on_order: set[str]) -> None:
    """A replacement is sold the way the missing line is, is not on the order already, and
    stands for no more units than the line has."""
    if r.sku == line.sku or r.sku in on_order:
        raise InvalidRequest(
            f"{r.sku} is on this order already: propose an item it does not have",
            details={"field": "with_sku", "with_sku": r.sku},
        )
    if r.sold_by != line.sold_by:
        raise InvalidRequest(
            f"{line.sku} is sold by {line.sold_by} and {r.sku} by {r.sold_by}: propose an item "
            "sold the same way",
            details={"field": "with_sku", "with_sku": r.sku},
        )
    if qty > line.qty:
        raise InvalidRequest(
            f"{line.sku} has {line.qty} on the order: replace at most that many",
            details={"field": "qty", "qty": qty, "ordered": line.qty},
        )


def substitute(
    ledger: RefundLedger, lines: list[PricedLine], sku: str, qty: int, r: Replacement
) -> tuple[PricedLine, RefundLine]:
    """Replace `qty` missing units of `sku` with `r`: the replacement's priced line, and what
    goes back to the member (zero when it costs all of the missing units' share). The ledger
    counts the missing units as given back, and only the money that actually went back."""
    taken = ledger.take(lines, [LineRequest(sku, qty)])
    money, points = (taken[0].amount, taken[0].points) if taken else (0, 0)
    listed = line_amount(r.price_amount, r.qty, r.sold_by)
    cost = min(listed, money + points)
    paid = cost * money // (money + points) if money + points else 0
    pts = cost - paid
    line = PricedLine(
        r.sku,
        r.qty,
        r.price_amount,
        listed - cost,
        paid,
        category=r.category,
        points_amount=pts,
        promotions={DISCOUNT: listed - cost} if listed > cost else {},
        sold_by=r.sold_by,
        substitutes=sku,
    )
    ledger.refunded_amount -= paid  # kept for the replacement, not given back
    return line, RefundLine(sku, qty, money - paid, points - pts)
