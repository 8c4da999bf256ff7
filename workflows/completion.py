"""An order's end with the goods handed over: points earned, the order settled between the
parties, the member's tier re-evaluated; and returns after that, which settle back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.fulfilment import FulfilmentState
    from domain.members import points_earned
    from domain.refunds import handed_units, points_to_reverse, receiving_locations
    from domain.settlement import business_day, handed_values
    from workflows.messages import ReturnRequest
    from workflows.operations import yuan
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Results, Step, run_all


@dataclass
class Closing:
    """An order's completion: its steps; what marks the order completed (before its steps run
    on their own, after them when they run with the last part's step); what follows from the
    steps' results."""

    steps: list[Step[Any, Any]]
    complete: Callable[[], None]
    closed: Callable[[Results], None]


class Completion:
    def __init__(self, state: OrderState, refunds: Refunds) -> None:
        self.o = state
        self.refunds = refunds

    def steps(
        self, done: list[FulfilmentState], parts: Iterable[FulfilmentState] | None = None
    ) -> tuple[list[Step[Any, Any]], Step[Any, str] | None]:
        """The completion's steps (points, settlement, tier), and the tier step to read.
        `parts`: every part's end (the ended parts', by default)."""
        o = self.o
        net = o.priced().payable_amount - o.ledger.refunded_amount
        steps: list[Step[Any, Any]] = []
        if o.member_id:
            o.earn_base, o.earned = net, points_earned(net)
            if o.earned:
                move = c.PointsMove(o.order_id, o.member_id, o.earned)
                steps.append(Step(OrderActivities.earn_points, move, f"earn {o.earned} points"))
        party = f"location:{done[0].location_id}"
        steps.append(self._settle(net, "completed", party=party, parts=parts))
        tier = None
        if o.member_id:
            check = c.TierCheck(o.order_id, o.member_id)
            tier = Step(OrderActivities.evaluate_tier, check, "re-evaluate the member's tier")
            steps.append(tier)
        return steps, tier

    def _settle(
        self,
        amount: int,
        cause: str,
        *,
        party: str,
        parts: Iterable[FulfilmentState] | None = None,
    ) -> Step[c.SettlementRecord, None]:
        """Settlement of `amount` (negative for a return) with the party that fulfilled it."""
        o = self.o
        o.settled_party = party
        ended = o.results.values() if parts is None else parts
        record = c.SettlementRecord(
            o.order_id,
            f"settle:{o.order_id}:{cause}",
            amount,
            party,
            business_day(workflow.now()),
            channel=o.request.channel,
            cause=cause,
            fulfillers=handed_values(o.priced().lines, ended) if cause == "completed" else [],
        )
        return Step(OrderActivities.record_settlement, record, f"settle {yuan(abs(amount))}")

    def handed(self) -> dict[str, int]:
        return handed_units(self.o.priced().purchased(), self.o.results.values())

    async def take_return(self, req: ReturnRequest) -> bool:
        """Goods handed over come back: their paid share is refunded, the points earned on them
        taken back, the goods restocked where they left from, and (after completion) the
        refund settled back. Whether everything bought has now been refunded."""
        o = self.o
        o.returns += 1
        wanted = {ln.sku: ln.qty for ln in req.lines}
        refunded_before = o.ledger.refunded_amount
        refund_id = await self.refunds.give_back(
            req.lines, f"returned: {req.reason or 'no reason given'}", key=f"return-{o.returns}"
        )
        amount = o.ledger.refunded_amount - refunded_before
        reverse = points_to_reverse(
            o.earned, o.earn_base, refunded_before=o.ledger.returned_amount, refunded_now=amount
        )
        o.ledger.record_return(req.lines, amount)
        steps: list[Step[Any, Any]] = []
        if o.status == "completed":
            steps.append(self._settle(-amount, refund_id, party=o.settled_party))
        receipt = c.ReturnReceipt(
            o.order_id,
            refund_id,
            receiving_locations(o.results.values(), wanted),
            o.member_id,
            reverse,
        )
        steps.append(
            Step(
                OrderActivities.receive_return,
                receipt,
                "restock the returned goods, take back their points",
            )
        )
        await run_all(steps)
        return o.ledger.all_refunded(o.priced().purchased())
