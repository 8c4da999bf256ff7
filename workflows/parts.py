"""One part of an order at one location: `PartRun`, the part's state machine, run inside the
order's workflow. Staff act on it through the order's `act` update; timers end what staff let
lapse; every step is projected into the read model, and a record further along than the
workflow (after a reset) is caught up with rather than done again."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.errors import (
        DomainError,
        Forbidden,
        InvalidRequest,
        InvalidTransition,
        TooManyAttempts,
        WrongPickupCode,
    )
    from domain.fulfilment import (
        HANDED_OVER,
        STOCK_EFFECT,
        TERMINAL_STATES,
        FulfilmentState,
        action_leading_to,
        already_applied,
        code_hash,
        heaviest_pick,
        is_behind,
        next_state,
    )
    from domain.orders import Address, LineRequest, PlannedPart, require_distinct_skus
    from domain.policy import PICKUP_ATTEMPTS, PICKUP_LOCKOUT_S, Timeouts
    from workflows.completion import Closing
    from workflows.messages import StaffAction
    from workflows.shipping import Shipping
    from workflows.steps import Results, Step, run_all


def rejection(err: DomainError) -> ApplicationError:
    return ApplicationError(err.message, err.details, type=err.code, non_retryable=True)


class PartHost(Protocol):
    """The order a part belongs to: it shows the part's status, refunds a short pick at once,
    and hears of the goods leaving the location."""

    def show_part(self, run: PartRun) -> None: ...

    def show(self) -> None: ...

    async def part_picked(self, run: PartRun) -> None: ...

    async def part_left(self, run: PartRun) -> None: ...

    def sold_by_weight(self) -> set[str]: ...

    def awaiting_answer(self, fid: str) -> str | None: ...

    def completing_with(self, run: PartRun) -> Closing | None: ...


# The timer each waiting status runs: (action when it fires, seconds, what Temporal UI calls it)
def _timers(t: Timeouts) -> dict[str, tuple[str, int, str]]:
    return {
        "dispatched": ("lapse", t.accept_s, "store accept window"),
        "ready_for_pickup": ("expire", t.pickup_expiry_s, "pickup expiry"),
        "shipped": ("deliver", t.delivery_confirm_s, "delivery confirmation"),
    }


class PartRun:
    """A part's state machine: accept window, staff actions, pickup code and its lockout,
    expiry, delivery confirmation, cancellation."""

    def __init__(
        self,
        order_id: str,
        part: PlannedPart,
        timeouts: Timeouts,
        host: PartHost,
        address: Address | None = None,
    ) -> None:
        self.order_id = order_id
        self.part = part
        self.host = host
        self.shipping = Shipping(self, address)
        self.timers = _timers(timeouts)
        self.state = FulfilmentState(
            fulfilment_id=part.fulfilment_id,
            location_id=part.location_id,
            mode=part.mode,
            status="dispatched",
            lines=part.lines,
        )
        self.lock = asyncio.Lock()
        self._cancel: str | None = None
        self._wrong_codes = 0
        self._locked_until: datetime | None = None

    @property
    def fid(self) -> str:
        return self.part.fulfilment_id

    async def run(self, *, announced: bool, recorded: FulfilmentState | None) -> FulfilmentState:
        """Until the part ends. `announced`: its dispatch is already recorded; `recorded`: the
        part as the read model held it when the order's workflow (re)started."""
        if recorded is not None and is_behind(self.state.status, recorded.status):
            await self._catch_up(recorded)
        elif not announced:
            await self._project("dispatched", f"dispatched to {self.state.location_id}")
        if self.shipping.by_warehouse:
            async with self.lock:
                await self.shipping.to_warehouse()
        while self.state.status not in TERMINAL_STATES:
            await self._wait_or_time_out()
        async with self.lock:  # the action that ended the part is projected and heard
            await self.shipping.settled()
            return self.state

    async def _wait_or_time_out(self) -> None:
        before = self.state.status
        timer = self.timers.get(before)
        self.host.show()
        try:
            await workflow.wait_condition(
                lambda: self.state.status != before or self._cancel is not None,
                timeout=timedelta(seconds=timer[1]) if timer else None,
                timeout_summary=f"{self.fid}: {timer[2]}" if timer else None,
            )
            if self._cancel is not None and self.state.status == before:
                await self._cancel_now(self._cancel)
        except TimeoutError:
            assert timer is not None
            async with self.lock:
                if self.state.status == before:
                    await self.apply(StaffAction(action=timer[0], reason=f"{timer[2]} passed"))

    # --- the order cancelled ----------------------------------------------------------------

    def cancel(self, reason: str) -> None:
        """The order is cancelled: stop, unless the goods have already left."""
        if self._cancel is None:
            self._cancel = reason

    async def _cancel_now(self, reason: str) -> None:
        if not await self.shipping.stop():
            self._cancel = None  # too late: the warehouse has shipped it
            return
        async with self.lock:
            if self.state.status in ("dispatched", "accepted", "picked", "ready_for_pickup"):
                await self.apply(StaffAction(action="cancel", reason=reason))
            else:
                self._cancel = None  # too late: shipped or handed over

    # --- staff actions -------------------------------------------------------------------

    async def act(self, action: StaffAction) -> FulfilmentState:
        async with self.lock:
            self.check(action)
            if already_applied(action.action, mode=self.state.mode, state=self.state.status):
                return self.state
            if action.action == "pickup" and not self._code_matches(action.code):
                await self._wrong_code()
            if action.action == "ship" and not action.tracking_no:
                action.carrier = action.carrier or self._carrier()
                action.tracking_no = await self.shipping.waybill(action.carrier)
            await self.apply(action)
            return self.state

    def _carrier(self) -> str:
        """The carrier of a part shipped without one named: its own (by the courier rules, or
        the one its waybill is from)."""
        return self.state.carrier or self.part.carrier or ""

    def check(self, action: StaffAction) -> None:
        """Refuses an action that does not apply (the `act` validator calls this too). A wrong
        pickup code is not refused here: it is counted, then refused, by `act`."""
        try:
            if action.location_id is not None and action.location_id != self.state.location_id:
                raise Forbidden("this fulfilment belongs to another location")
            if self.shipping.by_warehouse and action.action != "pickup":
                raise InvalidTransition(
                    f"the warehouse's execution system runs {self.fid}: it picks and ships the "
                    "part and reports back, so staff do not act on it",
                    details={"action": action.action, "execution": "wms"},
                )
            if action.action == "ship" and not (action.carrier or self._carrier()):
                raise InvalidRequest(
                    f"no carrier rule covers {self.fid}: give a carrier (and its tracking_no)",
                    details={"field": "carrier"},
                )
            if already_applied(action.action, mode=self.state.mode, state=self.state.status):
                return
            next_state(action.action, mode=self.state.mode, state=self.state.status)
            if action.action == "picked":
                self._check_picked(action.lines)
                waiting = self.host.awaiting_answer(self.fid)
                if waiting is not None:
                    raise InvalidTransition(
                        f"substitution {waiting} waits for the member's answer: record the pick "
                        "once it is answered (or its wait is over)",
                        details={"action": "picked", "substitution_id": waiting},
                    )
            if action.action == "pickup" and self._locked():
                raise TooManyAttempts(
                    f"{PICKUP_ATTEMPTS} wrong pickup codes: this part refuses every code until "
                    f"{self._locked_until:%H:%M} UTC; ask the member to check the code in the app",
                    details={"fulfilment_id": self.fid, "retry_after_s": self._lock_left()},
                )
        except DomainError as err:
            raise rejection(err) from None

    def _check_picked(self, lines: list[LineRequest]) -> None:
        require_distinct_skus(ln.sku for ln in lines)
        ordered = {ln.sku: ln.qty for ln in self.state.lines}
        weighed = self.host.sold_by_weight()
        for ln in lines:
            if ln.sku not in ordered:
                raise InvalidRequest(
                    f"SKU {ln.sku} is not on this part: pick only the SKUs it lists",
                    details={"sku": ln.sku, "ordered": sorted(ordered)},
                )
            if ln.sku in weighed:
                most = heaviest_pick(ordered[ln.sku])
                if not 0 <= ln.qty <= most:
                    raise InvalidRequest(
                        f"{ln.qty} g of {ln.sku} picked for {ordered[ln.sku]} g ordered: more "
                        f"than 10 % over; weigh out at most {most} g",
                        details={"sku": ln.sku, "qty": ln.qty, "ordered": ordered[ln.sku]},
                    )
            elif not 0 <= ln.qty <= ordered[ln.sku]:
                raise InvalidRequest(
                    f"{ln.qty} unit(s) of {ln.sku} picked, but only {ordered[ln.sku]} "
                    f"ordered: give a quantity from 0 to {ordered[ln.sku]}",
                    details={"sku": ln.sku, "qty": ln.qty, "ordered": ordered[ln.sku]},
                )

    # --- the pickup code -------------------------------------------------------------------

    def _code_matches(self, code: str) -> bool:
        st = self.state
        return bool(st.code_hash) and code_hash(st.fulfilment_id, code) == st.code_hash

    def _locked(self) -> bool:
        return self._locked_until is not None and workflow.now() < self._locked_until

    def _lock_left(self) -> int:
        assert self._locked_until is not None
        return max(0, int((self._locked_until - workflow.now()).total_seconds()))

    async def _wrong_code(self) -> None:
        """A wrong code is counted and written in the timeline; the fifth locks the part."""
        self._wrong_codes += 1
        n = self._wrong_codes
        detail = f"{self.fid}: wrong pickup code ({n} in a row)"
        if n % PICKUP_ATTEMPTS == 0:
            self._locked_until = workflow.now() + timedelta(seconds=PICKUP_LOCKOUT_S)
            detail += f"; every code refused for {PICKUP_LOCKOUT_S // 60} minutes"
        note = c.Note(self.order_id, f"{self.fid}:wrong-code:{n}", "wrong_pickup_code", detail)
        await run_all([Step(OrderActivities.record_note, note, "record a wrong pickup code")])
        raise rejection(
            WrongPickupCode(
                "the pickup code does not match: ask the member to show the code in the app",
                details={"fulfilment_id": self.fid, "attempts_left": self._attempts_left()},
            )
        )

    def _attempts_left(self) -> int:
        return (PICKUP_ATTEMPTS - self._wrong_codes % PICKUP_ATTEMPTS) % PICKUP_ATTEMPTS

    # --- applying an action ----------------------------------------------------------------

    async def apply(self, action: StaffAction) -> None:
        st = self.state
        new = next_state(action.action, mode=st.mode, state=st.status)
        fields: dict[str, object] = {}
        detail = f"{st.fulfilment_id} at {st.location_id}: {action.action}"
        if action.action == "picked":
            picked = {ln.sku: ln.qty for ln in action.lines}
            over = [
                f"{ln.sku} {picked[ln.sku]} g for {ln.qty} g"
                for ln in st.lines
                if picked.get(ln.sku, ln.qty) > ln.qty
            ]
            if over:  # a heavier weighed pick costs nothing more: it counts as what was ordered
                detail += f"; weighed over, not charged: {', '.join(over)}"
            st.picked = [
                LineRequest(sku=ln.sku, qty=min(ln.qty, picked.get(ln.sku, ln.qty)))
                for ln in st.lines
            ]
            fields["lines"] = [
                {"sku": ln.sku, "qty": ln.qty, "picked_qty": p.qty}
                for ln, p in zip(st.lines, st.picked, strict=True)
            ]
        if action.action == "ship":
            st.carrier, st.tracking_no = action.carrier, action.tracking_no
            fields |= {"carrier": action.carrier, "tracking_no": action.tracking_no}
            detail += f" with {action.carrier} {action.tracking_no}"
        if action.reason:
            detail += f" ({action.reason})"
        steps: list[Step[Any, Any]] = []
        effect = STOCK_EFFECT.get(action.action)
        if effect:
            stock = {
                "deduct": OrderActivities.deduct_stock,
                "release": OrderActivities.release_stock,
                "restock": OrderActivities.restock_part,
            }[effect]
            handed = {p.sku: p.qty for p in st.picked} if st.picked else None
            change = c.StockChange(self.order_id, [self.part], action.action, handed)
            steps.append(Step(stock, change, f"{effect} stock for {st.fulfilment_id}"))
        issue = None
        if new == "ready_for_pickup":
            issue = Step(OrderActivities.issue_pickup_code, self.fid, "issue the pickup code")
            steps.append(issue)
        st.status, st.ended_by = new, action.action
        # the order's last part handed over: the order's completion goes in the same step
        closing = self.host.completing_with(self) if new in ("delivered", "picked_up") else None
        results, ahead = await self._project(
            action.action, detail, fields, first=steps, then=closing.steps if closing else None
        )
        if closing is not None and ahead is None:  # (ahead: the completion's steps did not run)
            closing.complete()
            closing.closed(results)
        if ahead is not None:
            await self._catch_up(ahead)
            return
        if issue is not None:
            st.code_hash = results.of(issue)
        if action.action == "picked":
            await self.host.part_picked(self)
        if action.action == "ship":
            self.shipping.shipped()
        if action.action == "cancel":
            self.shipping.cancelled()
        if new in HANDED_OVER:
            await self.host.part_left(self)

    async def _project(
        self,
        event: str,
        detail: str,
        fields: dict[str, object] | None = None,
        *,
        first: list[Step[Any, Any]] | None = None,
        then: list[Step[Any, Any]] | None = None,
    ) -> tuple[Results, FulfilmentState | None]:
        """The part's status in Temporal UI and in the read model (after the steps `first` and
        before the steps `then`, in one batch); with the recorded part, when the record is
        further along (and then the steps `then` are not run)."""
        st = self.state
        self.host.show_part(self)
        projection = c.FulfilmentProjection(
            st.fulfilment_id, st.status, event, detail, fields or {}
        )
        project = Step(
            OrderActivities.project_fulfilment,
            projection,
            f"record {st.fulfilment_id} {st.status}",
            stop_on_result=bool(then),  # a record further along: `then` is not for it
        )
        results = await run_all([*(first or []), project, *(then or [])])
        return results, results.of(project)

    async def _catch_up(self, recorded: FulfilmentState) -> None:
        """The read model holds this part further along than the workflow (its earlier run did
        it, and the workflow was reset): take the record as it is, doing nothing again."""
        st = self.state
        st.status, st.picked = recorded.status, recorded.picked
        st.carrier, st.tracking_no = recorded.carrier, recorded.tracking_no
        st.code_hash = recorded.code_hash or st.code_hash
        st.ended_by = action_leading_to(recorded.status, mode=st.mode) or st.ended_by
        self.host.show_part(self)
        if st.picked:
            await self.host.part_picked(self)
        if st.status in HANDED_OVER:
            await self.host.part_left(self)
