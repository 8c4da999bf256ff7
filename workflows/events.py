"""ChannelEventsWorkflow: keeps the channel-events pump running, for as long as the product runs.

The pump is one long activity (`activities/events.py`) that heartbeats: when its worker dies, the
heartbeat stops and Temporal starts it again on another worker; when it returns (every few
minutes), the workflow starts it again; every few hundred runs the workflow continues as new, so
that its history stays short. Events live in the database until delivered, so nothing is lost
whatever process dies."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities, PumpConfig


def events_workflow_id(task_queue: str) -> str:
    """One pump per task queue (in production: one)."""
    return f"channel-events-{task_queue}"


RUNS_BEFORE_NEW = 200
PUMP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)


@workflow.defn
class ChannelEventsWorkflow:
    @workflow.run
    async def run(self, cfg: PumpConfig) -> None:
        for _ in range(RUNS_BEFORE_NEW):
            workflow.set_current_details("**delivering channel events** (the pump is running)")
            await workflow.execute_activity_method(
                EventActivities.pump_events,
                cfg,
                start_to_close_timeout=timedelta(seconds=cfg.run_s + 120),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=PUMP_RETRY,
                summary="publish sold-out changes, POST events to the channels' webhooks",
            )
        workflow.continue_as_new(cfg)
