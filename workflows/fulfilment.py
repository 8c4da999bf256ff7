"""One part of an order at one location, driven by store staff: `PartRun`, the part's state
machine, run inside the order workflow, or by its own child `FulfilmentWorkflow` for orders
started before workflow versions (version 0, see `domain/orders.py`)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Protocol

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
HANDED_OVER = ("shipped", "picked_up")


def code_hash(fulfilment_id: str, code: str) -> str:
    return hashlib.sha256(f"{fulfilment_id}:{code}".encode()).hexdigest()


def rejection(err: DomainError) -> ApplicationError:
    return ApplicationError(err.message, err.details, type=err.code, non_retryable=True)


class PartHost(Protocol):
    """The workflow a part runs in: shows the part's status in Temporal UI and hears of the
    goods leaving the store."""

    def show_part(self, run: PartRun, *, upsert: bool) -> None: ...

    async def part_left(self, run: PartRun) -> None: ...


class PartRun:
    """A part's state machine: accept window, staff actions, pickup code, expiry, delivery
    confirmation, cancellation; every step projected into the read model."""

    def __init__(self, inp: FulfilmentInput, host: PartHost, *, timer_prefix: str = "") -> None:
        part = inp.part
        self.inp = inp
        self.host = host
        self.timer_prefix = timer_prefix
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

    async def run(
        self, *, announced: bool = False, show_first: bool | None = None
    ) -> FulfilmentState:
        """Until the part ends. `announced`: its dispatch is already shown and recorded;
        `show_first`: upsert its first status (by default only for version 0, whose child part
        did not start with FulfilmentStatus=dispatched)."""
        if not announced:
            await self._project(
                "dispatched",
                f"dispatched to {self.state.location_id}",
                upsert=self.inp.version == 0 if show_first is None else show_first,
            )
        while self.state.status not in TERMINAL:
            await self._wait_or_time_out()
        async with self._lock:  # the action that ended the part is projected and heard
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
                timeout_summary=self.timer_prefix + timer[2] if timer else None,
            )
            if self._cancel is not None and self.state.status == before:
                await self._cancel_now(self._cancel)
        except TimeoutError:
            assert timer is not None
            async with self._lock:
                if self.state.status == before:
                    await self._apply(StaffAction(action=timer[0], reason=f"{timer[2]} passed"))

    # --- the order cancelled ----------------------------------------------------------------

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

    async def act(self, action: StaffAction) -> FulfilmentState:
        async with self._lock:
            self.check(action)
            if not already_applied(action.action, mode=self.state.mode, state=self.state.status):
                await self._apply(action)
            return self.state

    def check(self, action: StaffAction) -> None:
        """Refuses an action that does not apply (an update validator calls this too)."""
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

    def pickup_code(self) -> str:
        """The code the member shows at the store, while the part waits for collection."""
        return self._code or "" if self.state.status == "ready_for_pickup" else ""

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
            if self.inp.version == 0:
                await run_step(stock)
                stock = None
        st.status = new
        st.ended_by = action.action
        # (versioned orders: the stock move and the projection as one batch of steps)
        await self._project(action.action, detail, fields, first=stock)
        if new in HANDED_OVER:
            await self.host.part_left(self)

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
        self.host.show_part(self, upsert=upsert)
        project = (
            c.PROJECT_FULFILMENT,
            c.FulfilmentProjection(st.fulfilment_id, st.status, event, detail, fields or {}),
            f"record {st.fulfilment_id} {st.status}",
        )
        if first is None:
            await run_step(project)
        else:
            await run_steps([first, project])


@workflow.defn
class FulfilmentWorkflow:
    """A part as its own child workflow, as orders started before workflow versions run it."""

    @workflow.init
    def __init__(self, inp: FulfilmentInput) -> None:
        self.inp = inp
        self.part = PartRun(inp, self)

    @property
    def state(self) -> FulfilmentState:
        return self.part.state

    @workflow.run
    async def run(self, inp: FulfilmentInput) -> FulfilmentState:
        await self.part.run()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def show_part(self, run: PartRun, *, upsert: bool) -> None:
        st = run.state
        if upsert:
            workflow.upsert_search_attributes([FULFILMENT_STATUS.value_set(st.status)])
        workflow.set_current_details(
            stage(
                f"{st.status.replace('_', ' ')} at {st.location_id}",
                workflow.now(),
                lines=[f"{ln.sku} x{ln.qty}" for ln in st.lines],
            )
        )

    async def part_left(self, run: PartRun) -> None:
        if since(self.inp.version, "notify-parent"):
            parent = workflow.info().parent
            if parent is not None:  # tell the order: a cancel can no longer stop this part
                await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                    "part_handed_over", run.state.fulfilment_id
                )

    @workflow.signal
    def cancel(self, reason: str) -> None:
        """The member cancelled the order: stop, unless the goods have already left."""
        self.part.cancel(reason)

    @workflow.update
    async def act(self, action: StaffAction) -> FulfilmentState:
        return await self.part.act(action)

    @act.validator
    def validate_act(self, action: StaffAction) -> None:
        self.part.check(action)

    @workflow.query
    def pickup_code(self) -> str:
        """The code the member shows at the store, while the part waits for collection."""
        return self.part.pickup_code()

    @workflow.query
    def current(self) -> FulfilmentState:
        return self.state
