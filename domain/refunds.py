"""Refunds to the fen: what giving back some units of some lines returns, in money and points.

A line's paid amount (and points) is shared over its units cumulatively: after refunding r of q
units, floor(total * r / q) has gone back. Refunding units in any number of steps therefore adds
up exactly to the line's total once every unit is back, and never more.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidRequest
from domain.orders import PricedLine


@dataclass
class RefundLine:
    sku: str
    qty: int
    amount: int  # money, fen
    points: int = 0  # points given back (points were tender)


def unit_share(total: int, qty: int, *, done: int, more: int) -> int:
    """What `more` units give back of a `total` spread over `qty` units, `done` already back."""
    return total * (done + more) // qty - total * done // qty


def refund_lines(
    lines: list[PricedLine], *, refunded: dict[str, int], wanted: dict[str, int]
) -> list[RefundLine]:
    """The refund of `wanted` units per SKU, given the units already `refunded`. Gift lines give
    nothing back. InvalidRequest when more units are asked than are left."""
    paid = {ln.sku: ln for ln in lines if not ln.gift}
    out: list[RefundLine] = []
    for sku, qty in sorted(wanted.items()):
        if qty <= 0:
            continue
        line = paid.get(sku)
        done = refunded.get(sku, 0)
        if line is None or done + qty > line.qty:
            raise InvalidRequest(
                "more units than the order has left to refund",
                details={"sku": sku, "qty": qty, "left": 0 if line is None else line.qty - done},
            )
        out.append(
            RefundLine(
                sku=sku,
                qty=qty,
                amount=unit_share(line.paid_amount, line.qty, done=done, more=qty),
                points=unit_share(line.points_amount, line.qty, done=done, more=qty),
            )
        )
    return out


def points_to_reverse(earned: int, paid: int, *, refunded_before: int, refunded_now: int) -> int:
    """Points earned on the order that a refund takes back: in proportion to the money, counted
    cumulatively so that a full refund takes back exactly what was earned."""
    if paid <= 0:
        return 0
    return earned * (refunded_before + refunded_now) // paid - earned * refunded_before // paid
