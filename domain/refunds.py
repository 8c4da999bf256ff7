"""Refunds to the fen: what giving back some units of some lines returns, in money and points,
and which units a member may still return.

A line's paid amount (and points) is shared over its units cumulatively: after refunding r of q
units, floor(total * r / q) has gone back. Refunding units in any number of steps therefore adds
up exactly to the line's total once every unit is back, and never more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.errors import InvalidRequest, TooManyUnits, UnknownSku
from domain.fulfilment import DONE_STATES, FulfilmentState, handed_lines
from domain.orders import LineRequest, PricedLine


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


def handed_units(purchased: dict[str, int], parts: Iterable[FulfilmentState]) -> dict[str, int]:
    """Units the member received per SKU (picked quantities of delivered or collected parts),
    gifts excluded (never more than were bought)."""
    out: dict[str, int] = {}
    for state in parts:
        if state.status in DONE_STATES:
            for ln in handed_lines(state):
                out[ln.sku] = min(purchased.get(ln.sku, 0), out.get(ln.sku, 0) + ln.qty)
    return out


def receiving_locations(
    parts: Iterable[FulfilmentState], wanted: dict[str, int]
) -> list[tuple[str, str, int]]:
    """(location, sku, qty): returned goods go back to the locations that handed them over."""
    done = [p for p in parts if p.status in DONE_STATES]
    out = []
    for sku, qty in wanted.items():
        for state in done:
            took = sum(ln.qty for ln in handed_lines(state) if ln.sku == sku)
            n = min(qty, took)
            if n:
                out.append((state.location_id, sku, n))
                qty -= n
    return out


@dataclass
class RefundLedger:
    """What an order has given back so far: units and money refunded, and units returned."""

    refunded_units: dict[str, int] = field(default_factory=dict)
    refunded_amount: int = 0
    returned_units: dict[str, int] = field(default_factory=dict)
    returned_amount: int = 0

    def take(self, priced: list[PricedLine], lines: list[LineRequest]) -> list[RefundLine]:
        """Refund `lines` (capped at what is left to refund per SKU; gifts give nothing) and
        record it: the refund's lines, empty when nothing is left."""
        purchased = {ln.sku: ln.qty for ln in priced if not ln.gift}
        wanted: dict[str, int] = {}
        for ln in lines:
            left = purchased.get(ln.sku, 0) - self.refunded_units.get(ln.sku, 0)
            wanted[ln.sku] = min(left, wanted.get(ln.sku, 0) + ln.qty)
        back = refund_lines(priced, refunded=self.refunded_units, wanted=wanted)
        for r in back:
            self.refunded_units[r.sku] = self.refunded_units.get(r.sku, 0) + r.qty
            self.refunded_amount += r.amount
        return back

    def check_return(self, handed: dict[str, int], lines: list[LineRequest]) -> None:
        """A return names SKUs the member received, each at most the units not yet returned."""
        for ln in lines:
            if ln.sku not in handed:
                raise UnknownSku(
                    f"SKU {ln.sku} was not handed over in this order: name a SKU the member "
                    "received",
                    details={"sku": ln.sku, "returnable": sorted(handed)},
                )
            left = handed[ln.sku] - self.returned_units.get(ln.sku, 0)
            if ln.qty > left:
                raise TooManyUnits(
                    f"only {max(0, left)} unit(s) of {ln.sku} can still be returned: ask for at "
                    "most that many",
                    details={"sku": ln.sku, "qty": ln.qty, "returnable": max(0, left)},
                )

    def record_return(self, lines: list[LineRequest], amount: int) -> None:
        for ln in lines:
            self.returned_units[ln.sku] = self.returned_units.get(ln.sku, 0) + ln.qty
        self.returned_amount += amount

    def all_refunded(self, purchased: dict[str, int]) -> bool:
        return all(self.refunded_units.get(s, 0) >= q for s, q in purchased.items())
