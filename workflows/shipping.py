"""A part's dealings with the systems that move its goods, inside the order's workflow: its
carrier's waybill and tracking, and, when a warehouse's execution system runs the part, that
system's notice, its reports (applied in their order, each once, whatever order they come in)
and its answer to a stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.logistics import LogisticsActivities
    from domain.fulfilment import HANDED_OVER, TERMINAL_STATES
    from domain.orders import Address, LineRequest
    from workflows.messages import StaffAction, TrackingReport, WarehouseReport
    from workflows.steps import Step, run_all

if TYPE_CHECKING:
    from workflows.parts import PartRun

R = TypeVar("R")
# Outside systems may be down for a while: asked again, more and more slowly, until they answer.
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)
)
# A carrier's final event waits this long for the events before it that have not come yet.
TRACKING_GRACE = 120.0


async def outside(activity: Any, arg: Any, summary: str) -> Any:
    """A call to an outside system, as an activity of its own (retried until it answers)."""
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=OUTSIDE_RETRY,
        summary=summary,
    )


class Shipping:
    def __init__(self, run: PartRun, address: Address | None) -> None:
        self.run = run
        self.address = address
        self.stopped = False  # the warehouse's execution system stopped the part
        self.issued: str | None = None  # the waybill this run had the carrier issue
        self._reports: dict[int, WarehouseReport] = {}
        self._applied = 0  # the last report applied
        self._tracked: set[int] = set()
        self._tasks: list[asyncio.Future[Any]] = []

    @property
    def by_warehouse(self) -> bool:
        return self.run.part.execution == "wms"

    def _parcel(self, carrier: str | None, waybill: str | None = None) -> c.Parcel:
        return c.Parcel(self.run.order_id, self.run.part, self.address, carrier, waybill)

    async def waybill(self, carrier: str) -> str:
        """A waybill from the carrier (the part's own, when it has one already)."""
        st = self.run.state
        if st.tracking_no:  # before shipment, only the carrier's own (issued earlier)
            self.issued = st.tracking_no
            return st.tracking_no
        number: str = await outside(
            LogisticsActivities.issue_waybill, self._parcel(carrier), f"waybill from {carrier}"
        )
        st.carrier, st.tracking_no = carrier, number
        self.issued = number
        return number

    def shipped(self) -> None:
        """The parcel left with its carrier, who tracks it from now on (told in the background:
        a carrier that is down holds up nothing). A waybill staff brought from elsewhere is not
        the courier's to track."""
        number = self.run.state.tracking_no
        if number and number == self.issued:
            summary = f"{number} collected by {self.run.state.carrier}"
            self._later(outside(LogisticsActivities.parcel_collected, number, summary))

    def cancelled(self) -> None:
        """A waybill issued for a part that will not ship is cancelled with its carrier."""
        number = self.run.state.tracking_no
        if number and number == self.issued:
            summary = f"cancel waybill {number}"
            self._later(outside(LogisticsActivities.cancel_waybill, number, summary))

    def _later(self, call: Any) -> None:
        self._tasks.append(asyncio.ensure_future(call))

    def idle(self) -> bool:
        """No call to the carrier is under way."""
        return all(t.done() for t in self._tasks)

    async def settled(self) -> None:
        """Every call to the carrier made."""
        if self._tasks:
            await asyncio.gather(*self._tasks)

    # --- a warehouse run by an execution system ---------------------------------------------

    async def to_warehouse(self) -> None:
        """The part's notice (with its carrier's waybill, for a delivery) to the warehouse's
        execution system, which takes it: the part is accepted. (Called with the run's lock.)"""
        run, st = self.run, self.run.state
        if st.status != "dispatched" or self.stopped:
            return
        carrier = run.part.carrier
        waybill = await self.waybill(carrier) if run.part.mode == "delivery" and carrier else None
        await outside(
            LogisticsActivities.send_notice,
            self._parcel(carrier, waybill),
            f"notice of {run.fid} to the warehouse's execution system",
        )
        await run.apply(StaffAction(action="accept", reason="taken by the execution system"))
        await self._apply_reports()

    async def report(self, r: WarehouseReport) -> None:
        """A report of the execution system: kept until those before it are in, then applied;
        one applied already is ignored."""
        if r.seq <= self._applied or r.seq in self._reports:
            return
        self._reports[r.seq] = r
        async with self.run.lock:
            await self._apply_reports()

    async def _apply_reports(self) -> None:
        run, st = self.run, self.run.state
        while self._applied + 1 in self._reports and st.status not in TERMINAL_STATES:
            if st.status == "dispatched":
                return  # its notice is on its way: the reports follow it
            r = self._reports.pop(self._applied + 1)
            self._applied += 1
            if r.kind == "picked" and st.status == "accepted":
                ordered = {ln.sku: ln.qty for ln in st.lines}
                got = {ln.sku: ln.qty for ln in r.lines}
                lines = [
                    LineRequest(sku, max(0, min(qty, got.get(sku, qty))))
                    for sku, qty in ordered.items()
                ]
                await run.apply(
                    StaffAction(action="picked", lines=lines, reason="by the warehouse")
                )
            elif r.kind == "shipped" and st.status == "picked":
                carrier = r.carrier or st.carrier or run.part.carrier or ""
                ship = StaffAction(
                    action="ship",
                    carrier=carrier,
                    tracking_no=r.waybill or st.tracking_no,
                    reason="by the warehouse",
                )
                await run.apply(ship)

    async def stop(self) -> bool:
        """Whether the part will not leave: the execution system is asked to stop it (a part
        it has not been sent yet, or that has ended, needs no asking)."""
        run, st = self.run, self.run.state
        if not self.by_warehouse or self.stopped:
            return True
        async with run.lock:
            if st.status in HANDED_OVER:
                return False
            if st.status in TERMINAL_STATES or st.status == "dispatched":
                self.stopped = True
                return True
            answer = await outside(
                LogisticsActivities.stop_at_warehouse, run.fid, f"stop {run.fid} at the warehouse"
            )
            self.stopped = answer == "stopped"
            return self.stopped

    # --- the carrier's tracking -------------------------------------------------------------

    async def track(self, t: TrackingReport) -> None:
        """A tracking event, once each: on the part's tracking and timeline; `delivered`
        completes the part, `failed` brings its goods back and refunds them. A final event that
        comes before the carrier's earlier ones waits for them (up to `TRACKING_GRACE`), so the
        part's tracking tells the whole way."""
        if t.seq in self._tracked:
            return
        self._tracked.add(t.seq)
        run, st = self.run, self.run.state
        if t.event in ("delivered", "failed"):
            earlier = set(range(1, t.seq))
            await _wait(lambda: earlier <= self._tracked, TRACKING_GRACE)
        async with run.lock:
            note = c.TrackingNote(run.order_id, run.fid, t.seq, t.event, t.detail)
            await run_all(
                [Step(LogisticsActivities.record_tracking, note, f"{run.fid}: {t.event}")]
            )
            if st.status != "shipped":
                return
            if t.event == "delivered":
                await run.apply(StaffAction(action="deliver", reason=t.detail))
            elif t.event == "failed":
                await run.apply(StaffAction(action="fail", reason=t.detail))


async def _wait(ready: Any, seconds: float) -> None:
    try:
        await workflow.wait_condition(ready, timeout=timedelta(seconds=seconds))
    except TimeoutError:
        pass
