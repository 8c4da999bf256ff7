"""What both workflows share: how a short database step runs (a local activity), and how a
change to the command sequence is gated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c

LOCAL_TIMEOUT = timedelta(seconds=30)


async def run_local(
    name: str,
    arg: object,
    *,
    summary: str,
    result_type: type | None = None,
    retry_policy: RetryPolicy | None = None,
) -> Any:
    """Run the activity `name` as a local activity: recorded as a marker, no server round trip."""
    return await workflow.execute_local_activity(
        name,
        arg,
        result_type=result_type,
        summary=summary,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=retry_policy,
    )


async def run_step(step: tuple[str, object, str]) -> Any:
    """One step (activity name, input, summary) as its own local activity."""
    name, arg, summary = step
    return await run_local(name, arg, summary=summary)


async def run_steps(steps: list[tuple[str, object, str]]) -> list[Any]:
    """Run database steps (activity name, input, summary) that follow one another as one local
    activity (`activities/steps.py`); its summary lists theirs. Returns their results."""
    return list(
        await run_local(
            c.RUN_STEPS,
            c.Steps([c.Step(name, arg) for name, arg, _ in steps]),
            summary="; ".join(summary for _, _, summary in steps)[:400],
            result_type=list,
        )
    )


def since(started_at: int, patch: str) -> bool:
    """Whether a change once made behind the patch marker `patch` applies to this run.

    A run started at a workflow version (`domain.orders.WORKFLOW_VERSION`, carried in its input)
    takes every such change, and nothing is written to its history for it. A run started before
    versions (0) goes by the patch marker as it always did: the marker is in its history if the
    change applied when it ran. (A patch call writes a marker and upserts the
    TemporalChangeVersion search attribute, a visibility write on the server, per change per
    order.)
    """
    return started_at > 0 or workflow.patched(patch)
