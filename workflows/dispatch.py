"""The order's parts at their locations: each run to its end in this workflow; what each end
means (a refund for what cannot be handed over, a credit penalty for a store that refused);
and a refused part routed again to the next best location, never back to one that refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.fulfilment import CREDIT_PENALTY, TERMINAL_STATES, FulfilmentState, shortage
    from domain.orders import PlannedPart
    from workflows.completion import Closing
    from workflows.operations import LOCATION_IDS, PART_STATUSES, OperatorView, part_statuses
    from workflows.parts import PartRun
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all


class Dispatch:
    """Runs the parts and is their host (`workflows.parts.PartHost`)."""

    def __init__(
        self,
        state: OrderState,
        view: OperatorView,
        refunds: Refunds,
        details: Callable[[str], None],
    ) -> None:
        self.o = state
        self.view = view
        self.refunds = refunds
        self.details = details
        self.runs: dict[str, PartRun] = {}
        self._over: set[str] = set()  # parts whose run, and what follows its end, is over
        self._tried: set[str] = set()  # locations that refused a part of the order
        self._more: list[asyncio.Future[None]] = []  # parts a change added while running
        # the order's completion, given the parts that handed their goods over and every part's
        # end: set by the order
        self.closing: Callable[[list[FulfilmentState], list[FulfilmentState]], Closing] | None = (
            None
        )

    def stage_dispatched(self) -> None:
        self.view.stage(
            PART_STATUSES, part_statuses([(p.location_id, "dispatched") for p in self.o.parts])
        )

    async def run(self, *, announced: bool) -> list[FulfilmentState]:
        """Every part to its end (parts a change adds included); the parts that handed their
        goods over."""
        tried = self._tried
        await asyncio.gather(
            *(self._run(part, tried, announced=announced) for part in list(self.o.parts))
        )
        while self._more:
            more, self._more = self._more, []
            await asyncio.gather(*more)
        return [s for s in self.o.results.values() if s.status in ("delivered", "picked_up")]

    def cancel_open(self, reason: str) -> list[PartRun]:
        """Stop every part that has not ended; the runs told."""
        runs = [r for r in self.runs.values() if r.state.status not in TERMINAL_STATES]
        for run in runs:
            run.cancel(reason)
        return runs

    async def stop_at_warehouses(self) -> tuple[list[PartRun], list[PartRun]]:
        """Open parts run by an execution system asked to stop: (stopped, too late)."""
        runs = [
            r
            for r in self.runs.values()
            if r.shipping.by_warehouse and r.state.status not in TERMINAL_STATES
        ]
        answers = await asyncio.gather(*(r.shipping.stop() for r in runs))
        stopped = [r for r, ok in zip(runs, answers, strict=True) if ok]
        return stopped, [r for r, ok in zip(runs, answers, strict=True) if not ok]

    def start(self, part: PlannedPart) -> None:
        """A part a change added: run to its end like the others."""
        self._more.append(asyncio.ensure_future(self._run(part, self._tried)))

    def started(self) -> bool:
        return all(p.fulfilment_id in self.runs for p in self.o.parts)

    def all_ended(self) -> bool:
        return all(r.state.status in TERMINAL_STATES for r in self.runs.values())

    # --- one part --------------------------------------------------------------------------

    async def _run(self, part: PlannedPart, tried: set[str], *, announced: bool = False) -> None:
        address = self.o.request.fulfilment.address
        run = PartRun(self.o.order_id, part, self.o.timeouts, self, address)
        self.runs[part.fulfilment_id] = run
        recorded = self._recorded(part.fulfilment_id)
        state = await run.run(announced=announced, recorded=recorded)
        self.o.results[part.fulfilment_id] = state
        try:
            await self._ended(part, state, tried)
        finally:
            self._over.add(part.fulfilment_id)
            if not self._all_over():
                self.view.show()  # the completion that follows the last part shows it

    def _recorded(self, fid: str) -> FulfilmentState | None:
        recorded = self.o.recorded
        return (
            next((p for p in recorded.parts if p.fulfilment_id == fid), None) if recorded else None
        )

    def _all_over(self) -> bool:
        return all(fid in self._over for fid in self.runs)

    async def _ended(self, part: PlannedPart, state: FulfilmentState, tried: set[str]) -> None:
        fid = part.fulfilment_id
        if state.status == "expired":
            await self.refunds.give_back(
                part.lines, f"{fid} not collected in time", key=f"expired-{fid}"
            )
        if state.status == "delivery_failed":  # the goods came back: what was paid goes back
            handed = [ln for ln in state.picked if ln.qty] if state.picked else part.lines
            await self.refunds.give_back(
                handed, f"{fid} could not be delivered", key=f"failed-{fid}"
            )
        if state.status != "rejected":
            return
        penalty = CREDIT_PENALTY.get(state.ended_by, CREDIT_PENALTY["reject"])
        why = f"{'let lapse' if state.ended_by == 'lapse' else 'rejected'} {fid}"
        credit = c.CreditPenalty(part.location_id, penalty, f"credit:{fid}", why)
        await run_all(
            [
                Step(
                    OrderActivities.lower_credit,
                    credit,
                    f"lower the credit score of {part.location_id}",
                )
            ]
        )
        tried.add(part.location_id)
        again = await self._route_again(part, tried)
        if again:
            await asyncio.gather(*(self._run(p, tried) for p in again))

    async def _route_again(self, part: PlannedPart, tried: set[str]) -> list[PlannedPart]:
        """The refused part's lines planned and reserved elsewhere, and recorded; none when no
        other location can take them (the member is refunded)."""
        self.o.reroutes += 1
        fid = part.fulfilment_id
        plan = c.PlanRequest(
            self.o.request,
            workflow.now().date().isoformat(),
            self.o.min_credit_score,
            excluded=sorted(tried),
            lines=part.lines,
            id_prefix=f"{self.o.order_id}-R{self.o.reroutes}",
        )
        try:
            parts = await run(Step(OrderActivities.reserve_again, plan, f"route {fid} again"))
        except (ActivityError, ApplicationError):  # no other location can take it
            await self.refunds.give_back(
                part.lines, f"no location can serve {fid}", key=f"unserved-{fid}"
            )
            note = c.Note(
                self.o.order_id,
                f"{self.o.order_id}:unserved:{fid}",
                "unserved",
                f"no other location can serve {fid}",
            )
            await run_all([Step(OrderActivities.record_note, note, "record the unserved part")])
            return []
        self.o.parts += parts
        self.view.stage(LOCATION_IDS, sorted({p.location_id for p in self.o.parts}))
        record = c.PartsRecord(self.o.order_id, parts, f"{fid} refused at {part.location_id}")
        await run_all([Step(OrderActivities.record_parts, record, "record the new parts")])
        self.details(f"{fid} routed again")
        return parts

    # --- the host of the parts ---------------------------------------------------------------

    def show_part(self, run: PartRun) -> None:
        statuses = {fid: r.state.status for fid, r in self.runs.items()}
        self.view.stage(
            PART_STATUSES,
            part_statuses(
                [(p.location_id, statuses.get(p.fulfilment_id, "dispatched")) for p in self.o.parts]
            ),
        )
        self.details(f"{run.fid} {run.state.status.replace('_', ' ')}")

    def show(self) -> None:
        self.view.show()

    async def part_picked(self, run: PartRun) -> None:
        """A short pick is refunded when it is recorded, not when the part completes."""
        short = shortage(run.state)
        if short:
            await self.refunds.give_back(short, f"{run.fid} short picked", key=f"short-{run.fid}")

    def sold_by_weight(self) -> set[str]:
        return {ln.sku for ln in self.o.priced().lines if ln.sold_by == "weight"}

    def awaiting_answer(self, fid: str) -> str | None:
        return self.o.awaiting_answer(fid)

    def completing_with(self, run: PartRun) -> Closing | None:
        """When `run` has just handed over the goods of the order's last open part, and nothing
        else is left to happen first: the order's completion, to run in the same step as the
        part's own (one local activity fewer). None otherwise: the order completes after."""
        others = [fid for fid in self.runs if fid != run.fid]
        if (
            self.closing is None
            or self._more
            or not self.started()
            or self.o.status != "fulfilling"
            or not all(fid in self._over for fid in others)
            or not run.shipping.idle()
        ):
            return None
        # (the part's end is in the order's results once its run is over, not before)
        parts = [*self.o.results.values(), run.state]
        return self.closing([s for s in parts if s.status in ("delivered", "picked_up")], parts)

    async def part_left(self, run: PartRun) -> None:
        self.o.handed_over.add(run.fid)
