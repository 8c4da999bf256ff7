"""FulfilmentWorkflow: one part of an order at one location, driven by store staff."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from domain.errors import DomainError, Forbidden, InvalidRequest, WrongPickupCode
    from domain.fulfilment import (
        DONE_STATES,
        FAILED_STATES,
        STOCK_EFFECT,
        already_applied,
        next_state,
    )
    from domain.orders import FulfilmentInput, FulfilmentState, LineRequest, StaffAction
    from workflows.common import run_step, run_steps, since
    from workflows.ui import FULFILMENT_STATUS, stage

TERMINAL = DONE_STATES + FAILED_STATES


def code_hash(fulfilment_id: str, code: str) -> str:
    return hashlib.sha256(f"{fulfilment_id}:{code}".encode()).hexdigest()


def rejection(err: DomainError) -> ApplicationError:
    return ApplicationError(err.message, err.details, type=err.code, non_retryable=True)


@workflow.defn
class FulfilmentWorkflow:
    @workflow.init
    def __init__(self, inp: FulfilmentInput) -> None:
        part = inp.part
        self.inp = inp
        self.state = FulfilmentState(
            fulfilment_id=part.fulfilment_id,
            location_id=part.location_id,
            mode=part.mode,
            status="dispatched",
            lines=part.lines,
        )
        self._code: str | None = None
        self._code_hash: str | None = None
        self._lock = asyncio.Lock()
        self._cancel: str | None = None

    @workflow.run
    async def run(self, inp: FulfilmentInput) -> FulfilmentState:
        # (v2: the order starts it with FulfilmentStatus=dispatched: nothing to upsert yet)
        await self._project(
            "dispatched", f"dispatched to {self.state.location_id}", upsert=inp.version < 2
        )
        while self.state.status not in TERMINAL:
            await self._wait_or_time_out()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _wait_or_time_out(self) -> None:
        before = self.state.status
        timers = {
            "dispatched": ("lapse", self.inp.timeouts.accept_s, "store accept window"),
            "ready_for_pickup": ("expire", self.inp.timeouts.pickup_expiry_s, "pickup expiry"),
            "shipped": ("deliver", self.inp.timeouts.delivery_confirm_s, "delivery confirmation"),
        }
        timer = timers.get(before)
        try:
            await workflow.wait_condition(
                lambda: self.state.status != before or self._cancel is not None,
                timeout=timedelta(seconds=timer[1]) if timer else None,
                timeout_summary=timer[2] if timer else None,
            )
            if self._cancel is not None and self.state.status == before:
                await self._cancel_now(self._cancel)
        except TimeoutError:
            assert timer is not None
            async with self._lock:
                if self.state.status == before:
                    await self._apply(StaffAction(action=timer[0], reason=f"{timer[2]} passed"))

    # --- the order cancelled ----------------------------------------------------------------

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """The member cancelled the order: stop, unless the goods have already left."""
        if self._cancel is None:
            self._cancel = reason or "cancelled by the member"

    async def _cancel_now(self, reason: str) -> None:
        async with self._lock:
            if self.state.status in ("dispatched", "accepted", "picked", "ready_for_pickup"):
                await self._apply(StaffAction(action="cancel", reason=reason))
            else:
                self._cancel = None  # too late: shipped or handed over

    # --- staff actions -------------------------------------------------------------------

    @workflow.update
    async def act(self, action: StaffAction) -> FulfilmentState:
        async with self._lock:
            self._check(action)
            if not already_applied(action.action, mode=self.state.mode, state=self.state.status):
                await self._apply(action)
            return self.state

    @act.validator
    def validate_act(self, action: StaffAction) -> None:
        self._check(action)

    def _check(self, action: StaffAction) -> None:
        try:
            if action.location_id is not None and action.location_id != self.state.location_id:
                raise Forbidden("this fulfilment belongs to another location")
            if already_applied(action.action, mode=self.state.mode, state=self.state.status):
                return
            next_state(action.action, mode=self.state.mode, state=self.state.status)
            if action.action == "picked":
                self._check_picked(action)
            if action.action == "pickup" and (
                self._code_hash is None
                or code_hash(self.state.fulfilment_id, action.code) != self._code_hash
            ):
                raise WrongPickupCode("the pickup code does not match")
        except DomainError as err:
            raise rejection(err) from None

    def _check_picked(self, action: StaffAction) -> None:
        ordered = {ln.sku: ln.qty for ln in self.state.lines}
        for ln in action.lines:
            if ln.sku not in ordered or not 0 <= ln.qty <= ordered[ln.sku]:
                raise InvalidRequest(
                    "picked lines must name ordered SKUs with at most the ordered quantity",
                    details={"sku": ln.sku},
                )

    @workflow.query
    def pickup_code(self) -> str:
        """The code the member shows at the store, while the part waits for collection."""
        return self._code or "" if self.state.status == "ready_for_pickup" else ""

    @workflow.query
    def current(self) -> FulfilmentState:
        return self.state

    async def _apply(self, action: StaffAction) -> None:
        st = self.state
        new = next_state(action.action, mode=st.mode, state=st.status)
        fields: dict[str, object] = {}
        detail = f"{st.fulfilment_id} at {st.location_id}: {action.action}"
        if action.action == "picked":
            picked = {ln.sku: ln.qty for ln in action.lines}
            st.picked = [LineRequest(sku=ln.sku, qty=picked.get(ln.sku, ln.qty)) for ln in st.lines]
            fields["lines"] = [
                {"sku": ln.sku, "qty": ln.qty, "picked_qty": p.qty}
                for ln, p in zip(st.lines, st.picked, strict=True)
            ]
        if new == "ready_for_pickup":
            self._code = f"{workflow.random().randint(0, 999_999):06d}"
            self._code_hash = code_hash(st.fulfilment_id, self._code)
            fields["pickup_code_hash"] = self._code_hash
        if action.action == "ship":
            st.carrier, st.tracking_no = action.carrier, action.tracking_no
            fields |= {"carrier": action.carrier, "tracking_no": action.tracking_no}
            detail += f" with {action.carrier} {action.tracking_no}"
        if action.reason:
            detail += f" ({action.reason})"
        effect = STOCK_EFFECT.get(action.action)
        stock: tuple[str, object, str] | None = None
        if effect:
            name = c.DEDUCT_STOCK if effect == "deduct" else c.RELEASE_STOCK
            handed = {p.sku: p.qty for p in st.picked} if st.picked else None
            change = c.StockChange(self.inp.order_id, [self.inp.part], action.action, handed)
            stock = (name, change, f"{effect} stock for {st.fulfilment_id}")
            if self.inp.version < 2:
                await run_step(stock)
                stock = None
        st.status = new
        st.ended_by = action.action
        # (v2: the stock move and the projection as one batch of steps)
        await self._project(action.action, detail, fields, first=stock)
        if new in ("shipped", "picked_up") and since(1, self.inp.version, "notify-parent"):
            parent = workflow.info().parent
            if parent is not None:  # tell the order: a cancel can no longer stop this part
                await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                    "part_handed_over", st.fulfilment_id
                )

    async def _project(
        self,
        event: str,
        detail: str,
        fields: dict | None = None,
        *,
        upsert: bool = True,
        first: tuple[str, object, str] | None = None,
    ) -> None:
        """The part's status in Temporal (search attribute, details) and in the read model,
        after the step `first` if given (in one batch)."""
        st = self.state
        if upsert:
            workflow.upsert_search_attributes([FULFILMENT_STATUS.value_set(st.status)])
        workflow.set_current_details(
            stage(
                f"{st.status.replace('_', ' ')} at {st.location_id}",
                workflow.now(),
                lines=[f"{ln.sku} x{ln.qty}" for ln in st.lines],
            )
        )
        project = (
            c.PROJECT_FULFILMENT,
            c.FulfilmentProjection(st.fulfilment_id, st.status, event, detail, fields or {}),
            f"record {st.fulfilment_id} {st.status}",
        )
        if first is None:
            await run_step(project)
        else:
            await run_steps([first, project])
