"""Substitutions inside the order's workflow: staff propose a replacement for units a part is
short of, the member answers through their channel (or, when no answer comes within
`OMS_SUBSTITUTION_WAIT_S`, the line's preference answers), and the answer is carried out under
the part's lock: approved, the replacement is reserved in place of the missing units and costs
no more than their paid share (a cheaper one refunds the difference); declined, the missing
units are released and refunded at once; a part that ended first withdraws it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.substitutions import SubstitutionActivities
    from domain.errors import DomainError, Forbidden, InvalidRequest, InvalidTransition
    from domain.orders import LineRequest
    from domain.substitutions import (
        Proposal,
        Replacement,
        check_replacement,
        preference_decides,
        substitute,
    )
    from workflows.dispatch import Dispatch
    from workflows.messages import SubstitutionAnswer, SubstitutionRequest
    from workflows.operations import yuan
    from workflows.parts import PartRun, rejection
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all


class Substitutions:
    def __init__(
        self,
        state: OrderState,
        dispatch: Dispatch,
        refunds: Refunds,
        details: Callable[[str], None],
        background: list[asyncio.Future[None]],
    ) -> None:
        self.o = state
        self.dispatch = dispatch
        self.refunds = refunds
        self.details = details
        self._replacements: dict[str, Replacement] = {}
        self._answers: dict[str, str] = {}
        self._waiting = background  # the workflow waits for these before it closes

    # --- a proposal -------------------------------------------------------------------------

    def check(self, req: SubstitutionRequest) -> None:
        """Refuses a proposal that cannot stand (the update's validator calls this too)."""
        try:
            run_ = self.dispatch.runs.get(req.fulfilment_id)
            if run_ is None:
                raise InvalidTransition(
                    f"{req.fulfilment_id} is not being picked: propose a replacement while "
                    "picking an accepted part",
                    details={"fulfilment_id": req.fulfilment_id},
                )
            st = run_.state
            if req.location_id is not None and req.location_id != st.location_id:
                raise Forbidden("this fulfilment belongs to another location")
            if run_.shipping.by_warehouse:
                raise InvalidTransition(
                    f"the warehouse's execution system runs {run_.fid}: staff do not act on it",
                    details={"execution": "wms"},
                )
            if st.status != "accepted":
                raise InvalidTransition(
                    f"{run_.fid} is {st.status}: propose a replacement while picking (after "
                    "accepting, before recording the pick)",
                    details={"fulfilment_id": run_.fid, "status": st.status},
                )
            if self.o.supplement is not None:
                raise InvalidTransition(
                    "a change of the order waits for its payment: propose once it is settled",
                    details={"payment_id": self.o.supplement.payment_id},
                )
            waiting = self.o.awaiting_answer(run_.fid)
            if waiting is not None:
                raise InvalidTransition(
                    f"substitution {waiting} waits for the member's answer: one at a time",
                    details={"substitution_id": waiting},
                )
            ordered = {ln.sku: ln.qty for ln in st.lines}
            bought = {ln.sku for ln in self.o.priced().lines if not ln.gift}
            if req.sku in ordered and req.sku not in bought:
                raise InvalidRequest(
                    f"{req.sku} is a gift here: a gift short is left out, not replaced",
                    details={"field": "sku", "sku": req.sku},
                )
            if req.sku not in ordered:
                raise InvalidRequest(
                    f"SKU {req.sku} is not on this part: replace one of the SKUs it lists",
                    details={"field": "sku", "ordered": sorted(ordered)},
                )
            if req.qty > ordered[req.sku]:
                raise InvalidRequest(
                    f"the part has {ordered[req.sku]} of {req.sku}: replace at most that many",
                    details={"field": "qty", "qty": req.qty, "ordered": ordered[req.sku]},
                )
        except DomainError as err:
            raise rejection(err) from None

    async def propose(self, req: SubstitutionRequest) -> Proposal:
        run_ = self.dispatch.runs[req.fulfilment_id]
        async with run_.lock:
            self.check(req)
            query = c.SubstituteQuery(run_.state.location_id, req.with_sku, req.qty)
            found = Step(SubstitutionActivities.find_replacement, query, f"find {req.with_sku}")
            replacement = await run(found)
            line = next(ln for ln in self.o.priced().lines if ln.sku == req.sku and not ln.gift)
            try:
                on_order = {ln.sku for ln in self.o.priced().lines}
                check_replacement(line, req.qty, replacement, on_order)
            except DomainError as err:
                raise rejection(err) from None
            sid = f"{run_.fid}-S{len(self.o.substitutions) + 1}"
            proposal = Proposal(sid, run_.fid, req.sku, req.with_sku, req.qty)
            self.o.substitutions[sid] = proposal
            self._replacements[sid] = replacement
            detail = (
                f"{run_.fid}: {req.qty} of {req.sku} short, {req.with_sku} proposed instead; "
                f"waiting up to {self.o.timeouts.substitution_wait_s} s for the member"
            )
            await self._record(proposal, "substitution.proposed", detail)
        self.details(f"{sid} waits for the member")
        self._waiting.append(asyncio.ensure_future(self._answer_or_time_out(sid)))
        return proposal

    # --- the answer -------------------------------------------------------------------------

    def check_answer(self, a: SubstitutionAnswer) -> None:
        proposal = self.o.substitutions.get(a.substitution_id)
        if proposal is None:
            raise ApplicationError(
                f"substitution {a.substitution_id} is not part of this order",
                type="not_found",
                non_retryable=True,
            )
        if proposal.status != "proposed" or a.substitution_id in self._answers:
            raise rejection(
                InvalidTransition(
                    f"substitution {a.substitution_id} is {proposal.status} already: it takes "
                    "no other answer",
                    details={"substitution_id": a.substitution_id, "status": proposal.status},
                )
            )

    async def answer(self, a: SubstitutionAnswer) -> Proposal:
        """The member's answer, carried out before the update returns."""
        self.check_answer(a)
        self._answers[a.substitution_id] = a.decision
        proposal = self.o.substitutions[a.substitution_id]
        await workflow.wait_condition(lambda: proposal.status != "proposed")
        return proposal

    async def _answer_or_time_out(self, sid: str) -> None:
        proposal = self.o.substitutions[sid]
        run_ = self.dispatch.runs[proposal.fulfilment_id]
        try:
            await workflow.wait_condition(
                lambda: sid in self._answers or run_.state.status != "accepted",
                timeout=timedelta(seconds=self.o.timeouts.substitution_wait_s),
                timeout_summary=f"{sid}: the member's answer",
            )
        except TimeoutError:
            pass
        preference = self.o.request.substitutions.get(proposal.sku, "none")
        decision, by = self._answers.get(sid), "channel"
        if decision is None:
            decision, by = preference_decides(preference, proposal.with_sku), "preference"
        async with run_.lock:
            if run_.state.status != "accepted":
                proposal.status, proposal.decided_by = "withdrawn", "order"
                why = f"{sid} withdrawn: {run_.fid} is {run_.state.status}"
                await self._record(proposal, "substitution.withdrawn", why)
                return
            proposal.decided_by = by
            if not (decision == "approve" and await self._approve(run_, proposal)):
                await self._decline(run_, proposal, by)
        self.details(f"{sid} {proposal.status}")

    async def _approve(self, run_: PartRun, p: Proposal) -> bool:
        """The replacement in place of the missing units; False when it is no longer to be
        had (the substitution is then declined)."""
        swap = c.StockSwap(
            self.o.order_id, p.fulfilment_id, run_.state.location_id, p.substitution_id,
            p.sku, p.qty, p.with_sku, p.qty,
        )  # fmt: skip
        moved = Step(SubstitutionActivities.swap_stock, swap, f"reserve {p.with_sku}")
        if not await run(moved):
            return False
        pricing = self.o.priced()
        r = self._replacements[p.substitution_id]
        line, back = substitute(self.o.ledger, pricing.lines, p.sku, p.qty, r)
        pricing.lines.append(line)
        _shrink(run_, p.sku, p.qty)
        run_.part.lines.append(LineRequest(p.with_sku, p.qty))
        p.status = "approved"
        p.price_amount, p.refund_amount = line.paid_amount + line.points_amount, back.amount
        by = "the member" if p.decided_by == "channel" else "the line's preference"
        detail = f"{p.substitution_id} approved by {by}: {p.with_sku} for {yuan(p.price_amount)}"
        if back.amount:
            detail += f", {yuan(back.amount)} back"
        await self._record(p, "substitution.approved", detail, line=line, part=run_)
        await self.refunds.give_back_lines(
            [back],
            f"{p.substitution_id}: the replacement costs less",
            key=f"sub-{p.substitution_id}",
        )
        return True

    async def _decline(self, run_: PartRun, p: Proposal, by: str) -> None:
        """The missing units released and refunded at once."""
        swap = c.StockSwap(
            self.o.order_id, p.fulfilment_id, run_.state.location_id, p.substitution_id,
            p.sku, p.qty,
        )  # fmt: skip
        await run(Step(SubstitutionActivities.swap_stock, swap, f"release {p.sku}"))
        back = self.o.ledger.take(self.o.priced().lines, [LineRequest(p.sku, p.qty)])
        _shrink(run_, p.sku, p.qty)
        p.status, p.decided_by = "declined", by
        p.refund_amount = sum(b.amount for b in back)
        who = {"channel": "the member", "preference": "the line's preference"}.get(by, by)
        detail = f"{p.substitution_id} declined by {who}: {p.qty} of {p.sku} refunded"
        await self._record(p, "substitution.declined", detail, part=run_)
        await self.refunds.give_back_lines(
            back,
            f"{p.substitution_id}: {p.sku} short, no replacement",
            key=f"sub-{p.substitution_id}",
        )

    async def _record(
        self,
        p: Proposal,
        event: str,
        detail: str,
        *,
        line: object = None,
        part: PartRun | None = None,
    ) -> None:
        rec = c.SubstitutionRecord(self.o.order_id, p, event, detail)
        if part is not None:  # answered: the part's lines and the plan as they are now
            rec.part_lines = list(part.part.lines)
            rec.new_line = line  # type: ignore[assignment]
            rec.pricing, rec.parts = self.o.priced(), list(self.o.parts)
        step = Step(SubstitutionActivities.record_substitution, rec, f"record {p.substitution_id}")
        await run_all([step])


def _shrink(run_: PartRun, sku: str, qty: int) -> None:
    """The part's line of `sku` less `qty` units (gone when none are left)."""
    lines = run_.part.lines
    for ln in list(lines):
        if ln.sku == sku:
            ln.qty -= qty
            if ln.qty <= 0:
                lines.remove(ln)
