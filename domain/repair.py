"""What an order still owes when its workflow ended before the order did (an operator pressed
"Terminate"): the stock it holds goes back, what was paid for goods not handed over is refunded,
and the order ends `completed` (some goods were handed over: it is settled on what was kept) or
`cancelled` (none were)."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.fulfilment import HANDED_OVER, TERMINAL_STATES, FulfilmentState, handed_lines
from domain.members import points_earned
from domain.orders import LineRequest, PricedLine
from domain.refunds import RefundLedger, RefundLine


@dataclass
class RepairDecision:
    outcome: str  # cancelled | completed
    release: list[str] = field(default_factory=list)  # parts whose stock goes back
    stop: list[str] = field(default_factory=list)  # parts that end cancelled
    delivered: list[str] = field(default_factory=list)  # shipped parts counted as delivered
    refund: list[RefundLine] = field(default_factory=list)
    net: int = 0  # what the member keeps paid for (settled when completed)
    points: int = 0  # points the member earns on it


def decide_repair(
    *,
    priced: list[PricedLine],
    parts: list[FulfilmentState],
    refunded_units: dict[str, int],
    refunded_amount: int,
    paid_amount: int,
) -> RepairDecision:
    handed = [p for p in parts if p.status in HANDED_OVER]
    outcome = "completed" if handed else "cancelled"
    decision = RepairDecision(outcome)
    for p in parts:
        if p.status not in HANDED_OVER:
            decision.release.append(p.fulfilment_id)
            if p.status not in TERMINAL_STATES:
                decision.stop.append(p.fulfilment_id)
        elif p.status == "shipped":
            decision.delivered.append(p.fulfilment_id)
    kept: dict[str, int] = {}
    for p in handed:
        for ln in handed_lines(p):
            kept[ln.sku] = kept.get(ln.sku, 0) + ln.qty
    ledger = RefundLedger(refunded_units=dict(refunded_units), refunded_amount=refunded_amount)
    if paid_amount:
        owed = {  # bought, not handed over, not refunded yet (a short pick was, say)
            ln.sku: ln.qty - kept.get(ln.sku, 0) - refunded_units.get(ln.sku, 0)
            for ln in priced
            if not ln.gift
        }
        missing = [LineRequest(sku, n) for sku, n in owed.items() if n > 0]
        decision.refund = ledger.take(priced, missing)
    decision.net = max(0, paid_amount - ledger.refunded_amount)
    decision.points = points_earned(decision.net) if outcome == "completed" else 0
    return decision
