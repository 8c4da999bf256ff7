"""OrderWorkflow: one order from submission through payment and dispatch to completion."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from domain.fulfilment import DONE_STATES
    from domain.orders import (
        GATEWAY_METHODS,
        FulfilmentInput,
        FulfilmentState,
        LineRequest,
        OrderAccepted,
        OrderInput,
        PartAction,
        PaymentResult,
        PlannedPart,
        Pricing,
        ReturnRequest,
        fulfilment_workflow_id,
    )
    from domain.pricing import without_gifts
    from domain.refunds import points_to_reverse, refund_lines
    from domain.settlement import business_day
    from workflows.common import run_local, run_step, run_steps, since
    from workflows.fulfilment import FulfilmentWorkflow, PartRun
    from workflows.ui import (
        CHANNEL,
        FULFILMENT_STATUS,
        LOCATION_IDS,
        MEMBER_ID,
        ORDER_STATUS,
        ORDER_TOTAL,
        PART_STATUSES,
        stage,
        yuan,
    )


# Opening a payment waits for the gateway while the channel waits for its answer: a few quick
# tries, then the order is refused (and everything it held is given back).
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=300), maximum_attempts=4, backoff_coefficient=2.0
)


# A refund is never given up: retried with backoff until the tender takes it.
REFUND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


# Credit score points a store loses for refusing a part: more for letting the accept window pass
# in silence than for saying no.
REJECT_PENALTY = 5
LAPSE_PENALTY = 10


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        self.inp = inp
        self.req = inp.request
        self.status = "submitting"
        self.accepted: OrderAccepted | None = None
        self.failure: ApplicationError | None = None
        self.payment: PaymentResult | None = None
        self.pricing: Pricing | None = None
        self.parts: list[PlannedPart] = []
        self.results: dict[str, FulfilmentState] = {}
        self.member_id: str | None = None
        self.reroutes = 0
        self.unserved: list[PlannedPart] = []
        self.handed_over: set[str] = set()
        self.started: set[str] = set()
        self.cancel_reason: str | None = None
        self.refunded_units: dict[str, int] = {}
        self.refunded_amount = 0
        self.refunds = 0
        self.refund_tasks: list[asyncio.Future[None]] = []
        self.returned_units: dict[str, int] = {}
        self._refund_amounts: dict[str, dict[str, int]] = {}
        self.returned_amount = 0
        self.earned = 0
        self.settled_party = ""
        self.member_tier = ""
        self.earn_base = 0
        self._dispatch_recorded = False
        self.part_runs: dict[str, PartRun] = {}  # the parts, run in this workflow
        self._parts_shown = False  # PartStatuses upserted
        self._parts_unshown = False  # a part's status waits to be shown with the completion
        self._settled: set[str] = set()  # parts whose run and what follows it are over
        self._shown_status = "submitting"  # OrderStatus as last upserted

    @workflow.run
    async def run(self, inp: OrderInput) -> str:
        try:
            await self._price_and_reserve()
        except (ActivityError, ApplicationError) as err:
            cause = err.cause if isinstance(err, ActivityError) else err
            self.failure = (
                cause
                if isinstance(cause, ApplicationError)
                else ApplicationError(str(err), type="invalid_request", non_retryable=True)
            )
            self.status = "refused"
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.status
        if self.status == "awaiting_payment" and not await self._await_payment():
            await self._cancel_unpaid()
        else:
            await self._fulfil()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.refund_tasks:
            await asyncio.gather(*self.refund_tasks)  # every refund paid back before closing
        return self.status

    # --- submission ------------------------------------------------------------------------

    @workflow.update
    async def submit(self) -> OrderAccepted:
        """Returns once the order is priced, reserved and recorded, or fails with the reason."""
        await workflow.wait_condition(lambda: self.accepted is not None or self.failure is not None)
        if self.accepted is None:
            assert self.failure is not None
            raise self.failure
        return self.accepted

    async def _price_and_reserve(self) -> None:
        req = self.req
        if self.inp.version:  # priced, the member found, planned and reserved in one step
            prepared: c.PreparedOrder = await run_local(
                c.PREPARE_ORDER,
                c.PrepareOrder(req, workflow.now(), self.inp.min_credit_score),
                result_type=c.PreparedOrder,
                summary="price, find the member, plan the split and reserve stock",
            )
            pricing, member_id, parts = prepared.pricing, prepared.member_id, prepared.parts
        else:
            pricing, member_id, parts = await self._prepare_step_by_step()
        pricing = without_gifts(pricing, _dropped_gifts(pricing, parts))
        self.pricing, self.parts, self.member_id = pricing, parts, member_id
        payment_id = f"P{req.order_id[1:]}"
        paid_with_record = False
        try:
            await self._take_rights(pricing, member_id)
            status, payment_status = "awaiting_payment", "pending"
            pay: tuple[str, object, str] | None = None
            if req.payment_method == "cash" or pricing.payable_amount == 0:
                status, payment_status = "paid", "succeeded"
            elif req.payment_method == "stored_value":
                pay = self._stored_value_step(member_id, pricing.payable_amount)
                if not self.inp.version:
                    await run_step(pay)
                    pay = None
                status, payment_status = "paid", "succeeded"
            elif self._since("gateway-payment"):
                await run_local(
                    c.CREATE_PAYMENT,
                    c.GatewayPayment(payment_id, pricing.payable_amount, req.payment_method),
                    summary=f"open a payment of {yuan(pricing.payable_amount)}",
                    retry_policy=GATEWAY_RETRY,
                )
            record = c.RecordOrder(
                req, pricing, parts, status, member_id, payment_id, payment_status
            )
            if pay is not None:  # the balance taken in the same step as the order recorded
                paid_with_record = True
                await self._record(record, first=pay)
        except (ActivityError, ApplicationError):
            await self._give_back_rights("refused")
            await self._release(parts, "refused")
            raise
        if not paid_with_record:
            await self._record(record)

    async def _prepare_step_by_step(self) -> tuple[Pricing, str | None, list[PlannedPart]]:
        """Pricing, the member and the plan as orders started before workflow versions run
        them: each its own local activity."""
        req = self.req
        pricing: Pricing = await run_local(
            c.PRICE_ORDER,
            c.PriceRequest(req, workflow.now()),
            result_type=Pricing,
            summary="price the order",
        )
        member_id = None
        if req.member_phone:
            member_id = await run_local(
                c.ENSURE_MEMBER, req.member_phone, result_type=str, summary="find the member"
            )
        parts = await run_local(
            c.PLAN_AND_RESERVE,
            c.plan_request(c.PrepareOrder(req, workflow.now(), self.inp.min_credit_score), pricing),
            result_type=list[PlannedPart],
            summary="plan the split and reserve stock",
        )
        return pricing, member_id, parts

    async def _record(
        self, record: c.RecordOrder, *, first: tuple[str, object, str] | None = None
    ) -> None:
        """The order into the read model (with, in one batch, a paid order's dispatch), then its
        search attributes: the order is accepted."""
        req, status, pricing, parts = self.req, record.status, record.pricing, record.parts
        shown = status
        if self.inp.version:
            # One batch: the order recorded, its coupons used, and a paid order's dispatch, which
            # follows in this same workflow task (so Temporal's OrderStatus goes straight to
            # fulfilling: nothing could have seen it paid in between).
            steps: list[tuple[str, object, str]] = [(c.RECORD_ORDER, record, "record the order")]
            if first is not None:
                steps.insert(0, first)
            if status == "paid" and req.coupon_codes:
                steps.append((c.USE_COUPONS, c.CouponMove(req.order_id), "use the coupons"))
            if status == "paid":
                shown = "fulfilling"
                steps += self._dispatch_steps()
            await run_steps(steps)
        else:
            await run_local(c.RECORD_ORDER, record, summary="record the order")
            if status == "paid" and req.coupon_codes:
                await run_local(
                    c.USE_COUPONS, c.CouponMove(req.order_id), summary="use the coupons"
                )
        self.status, self._shown_status = status, shown
        workflow.upsert_search_attributes(
            [
                ORDER_STATUS.value_set(shown),  # (one upsert for a paid order's dispatch)
                ORDER_TOTAL.value_set(pricing.payable_amount),
                LOCATION_IDS.value_set(sorted({p.location_id for p in parts})),
                *([MEMBER_ID.value_set(record.member_id)] if record.member_id else []),
                *(self._dispatched_parts_shown() if shown == "fulfilling" else []),
            ]
        )
        self._details(status.replace("_", " "))
        self.accepted = OrderAccepted(
            req.order_id, status, pricing.payable_amount, record.payment_id
        )

    async def _take_rights(self, pricing: Pricing, member_id: str | None) -> None:
        """Hold the coupons and redeem the points the price was computed with."""
        req = self.req
        if req.coupon_codes:
            await run_local(
                c.HOLD_COUPONS,
                c.CouponMove(req.order_id, req.coupon_codes),
                summary="hold the coupons",
            )
        if pricing.points_redeemed and member_id:
            await run_local(
                c.REDEEM_POINTS,
                c.PointsMove(req.order_id, member_id, pricing.points_redeemed),
                summary=f"redeem {pricing.points_redeemed} points",
            )

    async def _give_back_rights(self, reason: str) -> None:
        """An order that is not paid gives its coupons and points back."""
        req, pricing = self.req, self.pricing
        if req.coupon_codes:
            await run_local(
                c.RELEASE_COUPONS, c.CouponMove(req.order_id), summary="release the coupons"
            )
        if pricing and pricing.points_redeemed and self.member_id:
            await run_local(
                c.RESTORE_POINTS,
                c.PointsMove(req.order_id, self.member_id, pricing.points_redeemed),
                summary=f"give back {pricing.points_redeemed} points ({reason})",
            )

    def _stored_value_step(self, member_id: str | None, amount: int) -> tuple[str, object, str]:
        if member_id is None:
            raise ApplicationError(
                "stored value needs a member_phone", type="invalid_request", non_retryable=True
            )
        payment = c.StoredValuePayment(self.req.order_id, member_id, amount)
        return c.PAY_STORED_VALUE, payment, f"take {yuan(amount)} from stored value"

    # --- payment ---------------------------------------------------------------------------

    @workflow.signal
    def payment_result(self, result: PaymentResult) -> None:
        if self.payment is None and self.accepted and result.payment_id == self.accepted.payment_id:
            self.payment = result

    async def _await_payment(self) -> bool:
        assert self.req.payment_method in GATEWAY_METHODS
        try:
            await workflow.wait_condition(
                lambda: self.payment is not None or self.cancel_reason is not None,
                timeout=timedelta(seconds=self.inp.timeouts.payment_s),
                timeout_summary="payment timeout",
            )
        except TimeoutError:
            return False
        if self.payment is None:  # cancelled by the member before paying
            return False
        assert self.accepted is not None
        projection = c.PaymentProjection(self.accepted.payment_id, self.payment.outcome)
        if self.inp.version and self.payment.outcome == "succeeded":
            # One batch: the payment, the coupons used, the order paid and then dispatched.
            detail = f"paid by {self.req.payment_method}"
            steps: list[tuple[str, object, str]] = [
                (c.PROJECT_PAYMENT, projection, "record the payment")
            ]
            if self.req.coupon_codes:
                steps.append((c.USE_COUPONS, c.CouponMove(self.req.order_id), "use the coupons"))
            steps.append(self._status_step("paid", "paid", detail))
            steps += self._dispatch_steps()
            self.status = "paid"
            self._details(detail)
            await run_steps(steps)
            return True
        await run_local(c.PROJECT_PAYMENT, projection, summary="record the payment")
        if self.payment.outcome != "succeeded":
            return False
        if self.req.coupon_codes:
            await run_local(
                c.USE_COUPONS, c.CouponMove(self.req.order_id), summary="use the coupons"
            )
        await self._set_status("paid", "paid", f"paid by {self.req.payment_method}")
        return True

    async def _cancel_unpaid(self) -> None:
        await self._release(self.parts, "unpaid")
        await self._give_back_rights("unpaid")
        reason = (
            self.cancel_reason
            or ("payment failed" if self.payment else None)
            or "payment timed out"
        )
        for part in self.parts:
            await run_local(
                c.PROJECT_FULFILMENT,
                c.FulfilmentProjection(part.fulfilment_id, "cancelled", "cancelled", reason),
                summary=f"cancel {part.fulfilment_id}",
            )
        await self._set_status("cancelled", "cancelled", reason)

    async def _release(self, parts: list[PlannedPart], reason: str) -> None:
        await run_local(
            c.RELEASE_STOCK,
            c.StockChange(self.req.order_id, parts, reason),
            summary="release reserved stock",
        )

    # --- fulfilment ------------------------------------------------------------------------

    def _dispatch_steps(self) -> list[tuple[str, object, str]]:
        """The order's dispatch for the read model: the order fulfilling and each part
        dispatched to its location."""
        self._dispatch_recorded = True
        steps = [self._status_step("fulfilling", "dispatched", self._dispatch_detail())]
        for part in self.parts:
            projection = c.FulfilmentProjection(
                part.fulfilment_id, "dispatched", "dispatched", f"dispatched to {part.location_id}"
            )
            steps.append((c.PROJECT_FULFILMENT, projection, f"dispatch {part.fulfilment_id}"))
        return steps

    def _dispatched_parts_shown(self) -> list[SearchAttributeUpdate]:
        """PartStatuses with every part dispatched, once, with the order's own upsert."""
        if not self.inp.version or self._parts_shown:
            return []
        self._parts_shown = True
        return [PART_STATUSES.value_set(_part_statuses(self.parts, {}))]

    def _dispatch_detail(self) -> str:
        return f"{len(self.parts)} part(s) dispatched"

    async def _fulfil(self) -> None:
        # (versioned orders: recorded in the read model with the order or its payment, and the
        # parts' dispatch with it, in this task)
        recorded = self._dispatch_recorded
        await self._set_status(
            "fulfilling",
            "dispatched",
            self._dispatch_detail(),
            project=not recorded,
            also=self._dispatched_parts_shown(),
        )
        tried: set[str] = set()
        await asyncio.gather(
            *(self._run_part(part, tried, announced=recorded) for part in list(self.parts))
        )
        done = [s for s in self.results.values() if s.status in DONE_STATES]
        if done and self.inp.version:
            await self._complete(done)
        elif done:
            await self._complete_step_by_step(done)
        if done:
            if self._since("return-window"):
                try:  # returns come in as updates while the window is open
                    await workflow.wait_condition(
                        lambda: self.status == "returned",
                        timeout=timedelta(seconds=self.inp.timeouts.return_window_s),
                        timeout_summary="return window",
                    )
                except TimeoutError:
                    pass
        else:
            await self._set_status("cancelled", "cancelled", "no part could be fulfilled")

    async def _complete_step_by_step(self, done: list[FulfilmentState]) -> None:
        """Completion as orders started before workflow versions run it: points, settlement,
        tier and status, each its own local activity."""
        if self.member_id and self.pricing and self._since("earn-points"):
            self.earn_base = self.pricing.payable_amount - self.refunded_amount
            earned = self.earned = self.earn_base // 100  # 1 point per full yuan paid
            if earned:
                await run_local(
                    c.EARN_POINTS,
                    c.PointsMove(self.req.order_id, self.member_id, earned),
                    summary=f"earn {earned} points",
                )
        if self.pricing and self._since("settlement"):
            await self._settle(
                self.pricing.payable_amount - self.refunded_amount,
                "completed",
                party=f"location:{done[0].location_id}",
            )
        if self.member_id and self._since("tier"):
            tier = await run_local(
                c.EVALUATE_TIER,
                c.TierCheck(self.req.order_id, self.member_id),
                summary="re-evaluate the member's tier on 12-month spend",
            )
            self.member_tier = str(tier)
        await self._set_status(
            "completed", "completed", f"{len(done)} of {len(self.parts)} part(s) handed over"
        )

    async def _run_child(self, part: PlannedPart) -> FulfilmentState:
        """The part as its own child workflow (orders started before workflow versions)."""
        handle = await workflow.start_child_workflow(
            FulfilmentWorkflow.run,
            FulfilmentInput(self.req.order_id, part, self.inp.timeouts, self.inp.version),
            id=fulfilment_workflow_id(part.fulfilment_id),
            static_summary=f"{part.mode} part of {self.req.order_id} at {part.location_id}",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(LOCATION_IDS, [part.location_id]),
                    SearchAttributePair(CHANNEL, self.req.channel),
                    *(
                        [SearchAttributePair(FULFILMENT_STATUS, "dispatched")]
                        if self.inp.version
                        else []
                    ),
                ]
            ),
        )
        self.started.add(part.fulfilment_id)
        state: FulfilmentState = await handle
        return state

    async def _run_inline(self, part: PlannedPart, *, announced: bool) -> FulfilmentState:
        """The part's state machine in this workflow: staff act on it through `act`."""
        fid = part.fulfilment_id
        run = PartRun(
            FulfilmentInput(self.req.order_id, part, self.inp.timeouts, self.inp.version),
            self,
            timer_prefix=f"{fid}: ",
        )
        self.part_runs[fid] = run
        self.started.add(fid)
        return await run.run(announced=announced, show_first=not announced)

    async def _run_part(
        self, part: PlannedPart, tried: set[str], *, announced: bool = False
    ) -> None:
        """Run one part at its location; a part the store rejects or lets lapse is routed again
        to the next best location, never back to one that refused it."""
        try:
            await self._run_part_once(part, tried, announced=announced)
        finally:
            self._settled.add(part.fulfilment_id)

    async def _run_part_once(self, part: PlannedPart, tried: set[str], *, announced: bool) -> None:
        if self.inp.version:
            state = await self._run_inline(part, announced=announced)
        else:
            state = await self._run_child(part)
        self.results[state.fulfilment_id] = state
        if state.status == "expired" and self._since("refunds"):
            await self._refund(part.lines, f"{part.fulfilment_id} not collected in time")
        if state.status in DONE_STATES and self._since("short-pick"):
            short = _shortage(state)
            if short:
                await self._refund(short, f"{part.fulfilment_id} short picked")
        if state.status == "rejected" and self._since("credit"):
            lapsed = state.ended_by == "lapse"
            await run_local(
                c.LOWER_CREDIT,
                c.CreditPenalty(
                    part.location_id,
                    LAPSE_PENALTY if lapsed else REJECT_PENALTY,
                    f"credit:{part.fulfilment_id}",
                    f"{'let lapse' if lapsed else 'rejected'} {part.fulfilment_id}",
                ),
                summary=f"lower the credit score of {part.location_id}",
            )
        if state.status != "rejected" or not self._since("reroute"):
            return
        tried.add(part.location_id)
        self.reroutes += 1
        try:
            again: list[PlannedPart] = await run_local(
                c.PLAN_AND_RESERVE,
                c.PlanRequest(
                    self.req,
                    workflow.now().date().isoformat(),
                    self.inp.min_credit_score,
                    excluded=sorted(tried),
                    lines=part.lines,
                    id_prefix=f"{self.req.order_id}-R{self.reroutes}",
                ),
                result_type=list[PlannedPart],
                summary=f"route {part.fulfilment_id} again",
            )
        except (ActivityError, ApplicationError):  # no other location can take it
            self.unserved.append(part)
            if self._since("refunds"):
                await self._refund(part.lines, f"no location can serve {part.fulfilment_id}")
            await run_local(
                c.PROJECT_ORDER,
                c.OrderProjection(
                    self.req.order_id,
                    self.status,
                    f"unserved:{part.fulfilment_id}",
                    f"no other location can serve {part.fulfilment_id}",
                ),
                summary="record the unserved part",
            )
            return
        self.parts += again
        workflow.upsert_search_attributes(
            [LOCATION_IDS.value_set(sorted({p.location_id for p in self.parts}))]
        )
        await run_local(
            c.RECORD_PARTS,
            c.PartsRecord(
                self.req.order_id, again, f"{part.fulfilment_id} refused at {part.location_id}"
            ),
            summary="record the new parts",
        )
        self._details(f"{part.fulfilment_id} routed again")
        await asyncio.gather(*(self._run_part(p, tried) for p in again))

    # --- cancellation and refunds -----------------------------------------------------------

    @workflow.signal
    def part_handed_over(self, fulfilment_id: str) -> None:
        self.handed_over.add(fulfilment_id)

    # --- parts run in this workflow -------------------------------------------------------

    def show_part(self, run: PartRun, *, upsert: bool) -> None:
        """A part's new status: PartStatuses for Temporal UI, and the order's details."""
        if upsert and self._completes_order(run):
            self._parts_unshown = True  # shown by the completion's upsert, in this same task
        elif upsert:
            workflow.upsert_search_attributes(self._parts_now())
        st = run.state
        self._details(f"{st.fulfilment_id} {st.status.replace('_', ' ')}")

    def _parts_now(self) -> list[SearchAttributeUpdate]:
        self._parts_shown, self._parts_unshown = True, False
        statuses = {fid: r.state.status for fid, r in self.part_runs.items()}
        return [PART_STATUSES.value_set(_part_statuses(self.parts, statuses))]

    def _completes_order(self, run: PartRun) -> bool:
        """Whether this part's new status is the last thing before the order completes, in this
        same workflow task: it is handed over with nothing short (no refund follows) and every
        other part, and whatever followed it, is over."""
        st = run.state
        return (
            self.inp.version >= 2
            and st.status in DONE_STATES
            and not _shortage(st)
            and all(fid in self._settled for fid in self.part_runs if fid != st.fulfilment_id)
        )

    async def part_left(self, run: PartRun) -> None:
        self.handed_over.add(run.state.fulfilment_id)

    @workflow.update
    async def act(self, req: PartAction) -> FulfilmentState:
        """A store's action on one of this order's parts."""
        fid = req.fulfilment_id
        await workflow.wait_condition(  # a paid order dispatches its parts in this same task
            lambda: fid in self.part_runs or not self._dispatching()
        )
        run = self.part_runs.get(fid)
        if run is None:
            raise self._not_dispatched(req)
        return await run.act(req.action)

    @act.validator
    def validate_act(self, req: PartAction) -> None:
        run = self.part_runs.get(req.fulfilment_id)
        if run is not None:
            run.check(req.action)
            return
        if not self.inp.version:
            raise ApplicationError(
                "this part runs in its own workflow",
                {"fulfilment_id": req.fulfilment_id},
                type="part_elsewhere",
                non_retryable=True,
            )
        if req.fulfilment_id not in {p.fulfilment_id for p in self.parts}:
            raise ApplicationError(
                f"fulfilment {req.fulfilment_id} is not part of this order",
                type="not_found",
                non_retryable=True,
            )
        if not self._dispatching():
            raise self._not_dispatched(req)

    def _dispatching(self) -> bool:
        """Whether the order's parts are dispatched, or will be in this workflow task: it is
        paid, or the gateway's success has just come in. (After a worker's crash, the payment
        and a store's action on the part it dispatched can reach the next worker together.)"""
        paid = self.payment is not None and self.payment.outcome == "succeeded"
        return self.status in ("paid", "fulfilling") or (self.status == "awaiting_payment" and paid)

    def _not_dispatched(self, req: PartAction) -> ApplicationError:
        state = "cancelled" if self.status in ("cancelled", "refused") else "pending"
        return ApplicationError(
            f"cannot {req.action.action} a fulfilment that is {state}",
            {"action": req.action.action, "status": state},
            type="invalid_transition",
            non_retryable=True,
        )

    @workflow.query
    def part_pickup_code(self, fulfilment_id: str) -> str | None:
        """The pickup code of a part waiting for collection ("" when none); None when the part
        runs in its own workflow (orders started before versions), which answers instead."""
        run = self.part_runs.get(fulfilment_id)
        if run is None:
            return "" if self.inp.version else None
        return run.pickup_code()

    @workflow.query
    def part(self, fulfilment_id: str) -> FulfilmentState | None:
        run = self.part_runs.get(fulfilment_id)
        return run.state if run else self.results.get(fulfilment_id)

    @workflow.update
    async def cancel(self, reason: str) -> str:
        """Cancel before anything has shipped or been picked up: open parts stop (their stores
        are told at once), stock is released, and what was paid goes back to its tender."""
        self.cancel_reason = reason or "cancelled by the member"
        if self.status == "awaiting_payment":
            await workflow.wait_condition(lambda: self.status == "cancelled")
            return self.status
        await workflow.wait_condition(lambda: self.started >= {p.fulfilment_id for p in self.parts})
        open_parts = [p for p in self.parts if p.fulfilment_id not in self.results]
        for part in open_parts:
            run = self.part_runs.get(part.fulfilment_id)
            if run is not None:
                run.cancel(self.cancel_reason)
                continue
            await workflow.get_external_workflow_handle(
                fulfilment_workflow_id(part.fulfilment_id)
            ).signal(FulfilmentWorkflow.cancel, self.cancel_reason)
        await workflow.wait_condition(
            lambda: all(
                p.fulfilment_id in self.results or p.fulfilment_id in self.handed_over
                for p in open_parts
            )
        )
        stopped = [p for p in open_parts if self._status_of(p) == "cancelled"]
        lines = [ln for p in stopped for ln in p.lines]
        if lines:
            await self._refund(lines, f"cancelled: {self.cancel_reason}")
        if stopped and len(stopped) == len(self.parts) and self.req.coupon_codes:
            await run_local(
                c.GIVE_BACK_COUPONS,
                c.CouponMove(self.req.order_id),
                summary="give the coupons back",
            )
        if all(self._status_of(p) in ("cancelled", "rejected", "expired") for p in self.parts):
            await workflow.wait_condition(lambda: self.status == "cancelled")
        return self.status

    @cancel.validator
    def validate_cancel(self, reason: str) -> None:
        if self.handed_over:
            raise ApplicationError(
                "part of the order has already shipped or been picked up",
                {"handed_over": sorted(self.handed_over)},
                type="already_shipped",
                non_retryable=True,
            )
        if self.status not in ("awaiting_payment", "paid", "fulfilling") or self.cancel_reason:
            raise ApplicationError(
                f"an order that is {self.status} cannot be cancelled",
                {"status": self.status},
                type="invalid_transition",
                non_retryable=True,
            )

    @workflow.update
    async def request_return(self, req: ReturnRequest) -> str:
        """Goods handed over come back: their paid share is refunded, the points earned on them
        are taken back, and they go back into the receiving location's stock."""
        wanted = {ln.sku: ln.qty for ln in req.lines}
        receiving = self._receiving_locations(wanted)
        refund_id = await self._refund(req.lines, f"returned: {req.reason or 'no reason given'}")
        amount = sum(self._refund_amounts.get(refund_id, {}).values())
        reverse = points_to_reverse(
            self.earned, self.earn_base, refunded_before=self.returned_amount, refunded_now=amount
        )
        self.returned_amount += amount
        if self.status == "completed" and self._since("settlement"):
            await self._settle(-amount, refund_id, party=self.settled_party)
        for sku, qty in wanted.items():
            self.returned_units[sku] = self.returned_units.get(sku, 0) + qty
        await run_local(
            c.RECEIVE_RETURN,
            c.ReturnReceipt(self.req.order_id, refund_id, receiving, self.member_id, reverse),
            summary="restock the returned goods and take back their points",
        )
        purchased = {ln.sku: ln.qty for ln in self.pricing.lines if not ln.gift}  # type: ignore[union-attr]
        if all(self.refunded_units.get(s, 0) >= q for s, q in purchased.items()):
            await self._set_status("returned", "returned", "everything has been refunded")
        return self.status

    @request_return.validator
    def validate_return(self, req: ReturnRequest) -> None:
        if self.status not in ("completed", "fulfilling") or self.pricing is None:
            raise ApplicationError(
                f"an order that is {self.status} takes no returns",
                {"status": self.status},
                type="invalid_transition",
                non_retryable=True,
            )
        wanted: dict[str, int] = {}
        for ln in req.lines:
            wanted[ln.sku] = wanted.get(ln.sku, 0) + ln.qty
        handed = self._handed_units()
        for sku, qty in wanted.items():
            left = handed.get(sku, 0) - self.returned_units.get(sku, 0)
            if qty > left:
                raise ApplicationError(
                    "more units than were handed over and not yet returned",
                    {"sku": sku, "qty": qty, "returnable": max(0, left)},
                    type="invalid_request",
                    non_retryable=True,
                )

    def _handed_units(self) -> dict[str, int]:
        """Units handed over to the member (picked quantities of delivered or collected parts),
        gifts excluded."""
        assert self.pricing is not None
        purchased = {ln.sku: ln.qty for ln in self.pricing.lines if not ln.gift}
        out: dict[str, int] = {}
        for state in self.results.values():
            if state.status in DONE_STATES:
                lines = state.picked or state.lines
                for ln in lines:
                    out[ln.sku] = min(purchased.get(ln.sku, 0), out.get(ln.sku, 0) + ln.qty)
        return out

    def _receiving_locations(self, wanted: dict[str, int]) -> list[tuple[str, str, int]]:
        """(location, sku, qty): returned goods go back to the location that handed them over."""
        out = []
        for sku, qty in wanted.items():
            for state in self.results.values():
                if state.status in DONE_STATES and qty:
                    took = sum(ln.qty for ln in (state.picked or state.lines) if ln.sku == sku)
                    n = min(qty, took)
                    if n:
                        out.append((state.location_id, sku, n))
                        qty -= n
        return out

    def _handed_values(self) -> list[tuple[str, int]]:
        """(location, paid value of what it handed over), per location that handed goods over,
        in the order of the parts."""
        assert self.pricing is not None
        lines = {ln.sku: ln for ln in self.pricing.lines if not ln.gift}
        out: dict[str, int] = {}
        for state in self.results.values():
            if state.status in DONE_STATES:
                value = 0
                for ln in state.picked or state.lines:
                    priced = lines.get(ln.sku)
                    if priced is not None and priced.qty:
                        value += priced.paid_amount * ln.qty // priced.qty
                out[state.location_id] = out.get(state.location_id, 0) + value
        return list(out.items())

    async def _settle(self, amount: int, step: str, *, party: str) -> None:
        """Buy-sell settlement: the fulfilling entity sells to the member what the member paid
        less refunds; a return after completion settles its refund back."""
        await run_step(self._settle_step(amount, step, party=party))

    def _settle_step(self, amount: int, step: str, *, party: str) -> tuple[str, object, str]:
        self.settled_party = party
        record = c.SettlementRecord(
            self.req.order_id,
            f"settle:{self.req.order_id}:{step}",
            amount,
            party,
            business_day(workflow.now()),
            channel=self.req.channel,
            cause=step,
            fulfillers=self._handed_values() if step == "completed" else [],
        )
        return c.RECORD_SETTLEMENT, record, f"settle {yuan(abs(amount))}"

    async def _complete(self, done: list[FulfilmentState]) -> None:
        """Goods handed over: points earned (1 per full yuan paid), the order settled, the
        member's tier re-evaluated and the order completed, as one batch of steps."""
        assert self.pricing is not None
        net = self.pricing.payable_amount - self.refunded_amount
        steps: list[tuple[str, object, str]] = []
        if self.member_id:
            self.earn_base, self.earned = net, net // 100
            if self.earned:
                move = c.PointsMove(self.req.order_id, self.member_id, self.earned)
                steps.append((c.EARN_POINTS, move, f"earn {self.earned} points"))
        steps.append(self._settle_step(net, "completed", party=f"location:{done[0].location_id}"))
        if self.member_id:
            check = c.TierCheck(self.req.order_id, self.member_id)
            steps.append((c.EVALUATE_TIER, check, "re-evaluate the member's tier (12-month spend)"))
        detail = f"{len(done)} of {len(self.parts)} part(s) handed over"
        steps.append(self._status_step("completed", "completed", detail))
        results = await run_steps(steps)
        if self.member_id:
            self.member_tier = str(results[-2])
        parts = self._parts_now() if self._parts_unshown else []
        await self._set_status("completed", "completed", detail, project=False, also=parts)

    def _status_of(self, part: PlannedPart) -> str:
        state = self.results.get(part.fulfilment_id)
        return state.status if state else "open"

    async def _refund(self, lines: list[LineRequest], reason: str) -> str:
        """Give back the paid share of these units (gifts give nothing), as one keyed refund,
        retried until it succeeds."""
        assert self.pricing is not None and self.accepted is not None
        purchased = {ln.sku: ln.qty for ln in self.pricing.lines if not ln.gift}
        wanted: dict[str, int] = {}
        for ln in lines:
            left = purchased.get(ln.sku, 0) - self.refunded_units.get(ln.sku, 0)
            wanted[ln.sku] = min(left, wanted.get(ln.sku, 0) + ln.qty)
        back = refund_lines(self.pricing.lines, refunded=self.refunded_units, wanted=wanted)
        if not back:
            return ""
        for r in back:
            self.refunded_units[r.sku] = self.refunded_units.get(r.sku, 0) + r.qty
        amount, points = sum(r.amount for r in back), sum(r.points for r in back)
        self.refunded_amount += amount
        self.refunds += 1
        order = c.RefundOrder(
            self.req.order_id,
            f"R{self.req.order_id[1:]}-{self.refunds}",
            self.accepted.payment_id,
            self.req.payment_method,
            self.member_id,
            amount,
            points,
            reason,
            [{"sku": r.sku, "qty": r.qty, "amount": r.amount} for r in back],
        )
        await run_local(c.RECORD_REFUND, order, summary=f"record refund of {yuan(amount)}")
        # Paid back in the background: a tender that is down must not hold up the order.
        self.refund_tasks.append(asyncio.ensure_future(self._pay_back(order)))
        self._refund_amounts[order.refund_id] = {r.sku: r.amount for r in back}
        return order.refund_id

    async def _pay_back(self, order: c.RefundOrder) -> None:
        await workflow.execute_activity(
            c.EXECUTE_REFUND,
            order,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=REFUND_RETRY,
            summary=f"refund {yuan(order.amount)} to {order.method}",
        )

    def _since(self, patch: str) -> bool:
        return since(self.inp.version, patch)

    # --- read-outs -------------------------------------------------------------------------

    @workflow.query
    def current_status(self) -> str:
        return self.status

    async def _set_status(
        self,
        status: str,
        event: str,
        detail: str,
        *,
        project: bool = True,
        also: list[SearchAttributeUpdate] | None = None,
    ) -> None:
        """The order's status, in Temporal (search attribute, with the updates `also`, and
        details) and, unless it was recorded with other steps already, in the read model."""
        self.status = status
        if not self.inp.version or status != self._shown_status or also:
            self._shown_status = status
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status), *(also or [])])
        self._details(detail)
        if project:
            await run_step(self._status_step(status, event, detail))

    def _status_step(self, status: str, event: str, detail: str) -> tuple[str, object, str]:
        projection = c.OrderProjection(self.req.order_id, status, event, detail)
        return c.PROJECT_ORDER, projection, f"record status {status}"

    def _details(self, headline: str) -> None:
        lines = []
        if self.pricing:
            lines.append(
                f"payable {yuan(self.pricing.payable_amount)} by {self.req.payment_method}"
            )
            lines += self.pricing.trace
        if self.member_tier:
            lines.append(f"member {self.member_id} is {self.member_tier}")
        for p in self.parts:
            run = self.part_runs.get(p.fulfilment_id)
            state = run.state if run else self.results.get(p.fulfilment_id)
            lines.append(
                f"{p.fulfilment_id} at {p.location_id}"
                + (f": {state.status}" if state else "")
                + f" — {'; '.join(p.reasons[:2])}"
            )
        workflow.set_current_details(
            stage(f"{self.status.replace('_', ' ')}: {headline}", workflow.now(), lines=lines)
        )


def _dropped_gifts(pricing: Pricing, parts: list[PlannedPart]) -> set[str]:
    """Gift SKUs the plan could not reserve (out of stock): the order goes on without them."""
    wanted: dict[str, int] = {}
    for ln in pricing.lines:
        wanted[ln.sku] = wanted.get(ln.sku, 0) + ln.qty
    planned: dict[str, int] = {}
    for part in parts:
        for pl in part.lines:
            planned[pl.sku] = planned.get(pl.sku, 0) + pl.qty
    return {ln.sku for ln in pricing.lines if ln.gift and planned.get(ln.sku, 0) < wanted[ln.sku]}


def _part_statuses(parts: list[PlannedPart], statuses: dict[str, str]) -> list[str]:
    """PartStatuses: each part's status, alone and at its location ("ready_for_pickup",
    "S-HZ-01:ready_for_pickup"); a part not in `statuses` is dispatched."""
    out: set[str] = set()
    for p in parts:
        status = statuses.get(p.fulfilment_id, "dispatched")
        out |= {status, f"{p.location_id}:{status}"}
    return sorted(out)


def _shortage(state: FulfilmentState) -> list[LineRequest]:
    """Units ordered but not picked: refunded, not routed elsewhere."""
    if not state.picked:
        return []
    picked = {ln.sku: ln.qty for ln in state.picked}
    return [
        LineRequest(sku=ln.sku, qty=ln.qty - picked.get(ln.sku, ln.qty))
        for ln in state.lines
        if picked.get(ln.sku, ln.qty) < ln.qty
    ]
