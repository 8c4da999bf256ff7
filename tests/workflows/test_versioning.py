"""How a change to the commands of orders already running ships (docs/versioning.md), shown on
one change in full: a store is reminded of a part before its accept window lapses.

- stage 1, the code orders run today: wait for the store, or let the part lapse;
- stage 2, `workflow.patched("accept-reminder")`: new runs remind the store first, runs started
  before keep their old path;
- stage 3, `workflow.deprecate_patch`: once no run of stage 1 is open, only the new path is left
  (its marker is still written, so runs of stage 2 replay);
- stage 4, the patch removed, once no run of stage 2 is open.

Each stage replays the histories the stage before it wrote, on the real dev server's histories;
skipping a stage does not. Worker Versioning (pinned runs, one worker per build) is measured too.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    Replayer,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkerDeploymentConfig,
)

pytestmark = pytest.mark.workflow
ACCEPT_S = 2
REMIND_BEFORE_S = 1


@workflow.defn(name="AcceptWindow")
class Stage1:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(ACCEPT_S, summary="store accept window")
        return "lapsed"


@workflow.defn(name="AcceptWindow")
class Stage2:
    @workflow.run
    async def run(self) -> str:
        if workflow.patched("accept-reminder"):
            await workflow.sleep(ACCEPT_S - REMIND_BEFORE_S, summary="until the reminder")
            await workflow.sleep(REMIND_BEFORE_S, summary="store accept window")
            return "lapsed after a reminder"
        await workflow.sleep(ACCEPT_S, summary="store accept window")
        return "lapsed"


@workflow.defn(name="AcceptWindow")
class Stage3:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("accept-reminder")
        await workflow.sleep(ACCEPT_S - REMIND_BEFORE_S, summary="until the reminder")
        await workflow.sleep(REMIND_BEFORE_S, summary="store accept window")
        return "lapsed after a reminder"


@workflow.defn(name="AcceptWindow")
class Stage4:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(ACCEPT_S - REMIND_BEFORE_S, summary="until the reminder")
        await workflow.sleep(REMIND_BEFORE_S, summary="store accept window")
        return "lapsed after a reminder"


async def history_of(client: Client, stage: type) -> WorkflowHistory:
    queue = f"versioning-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=[stage], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        handle = await client.start_workflow(
            "AcceptWindow", id=f"accept-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        await handle.result()
        return await handle.fetch_history()


async def replays(history: WorkflowHistory, stage: type) -> bool:
    replayer = Replayer(workflows=[stage], workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure is None


async def test_a_change_ships_as_patched_then_deprecated_then_removed(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    written = {stage: await history_of(client, stage) for stage in (Stage1, Stage2, Stage3)}
    # each stage takes over the runs the stage before it left open
    assert await replays(written[Stage1], Stage2)
    assert await replays(written[Stage2], Stage3)
    assert await replays(written[Stage3], Stage4)
    # and a stage skipped breaks them: this is why the stages are needed
    assert not await replays(written[Stage1], Stage3)
    assert not await replays(written[Stage1], Stage4)


@workflow.defn(name="PinnedAcceptWindow", versioning_behavior=VersioningBehavior.PINNED)
class PinnedBefore:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(ACCEPT_S)
        return "build 1"


@workflow.defn(name="PinnedAcceptWindow", versioning_behavior=VersioningBehavior.PINNED)
class PinnedAfter:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(ACCEPT_S - REMIND_BEFORE_S)
        await workflow.sleep(REMIND_BEFORE_S)
        return "build 2"


async def make_current(client: Client, deployment: str, build: str) -> None:
    import asyncio

    import temporalio.api.workflowservice.v1 as wsv1
    from temporalio.service import RPCError

    for _ in range(100):
        try:
            r = await client.workflow_service.describe_worker_deployment(
                wsv1.DescribeWorkerDeploymentRequest(
                    namespace="default", deployment_name=deployment
                )
            )
        except RPCError:  # no poller of this deployment yet
            await asyncio.sleep(0.1)
            continue
        if any(
            v.deployment_version.build_id == build
            for v in r.worker_deployment_info.version_summaries
        ):
            break
        await asyncio.sleep(0.1)
    await client.workflow_service.set_worker_deployment_current_version(
        wsv1.SetWorkerDeploymentCurrentVersionRequest(
            namespace="default", deployment_name=deployment, build_id=build
        )
    )


async def first_task_done(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until a run's first workflow task has completed (a run is pinned by it)."""
    import asyncio

    from temporalio.api.enums.v1 import EventType

    for _ in range(600):
        history = await handle.fetch_history()
        if any(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the run's first workflow task never completed")


async def test_worker_versioning_pins_a_run_to_the_build_it_started_on(
    dev_env: WorkflowEnvironment,
) -> None:
    """Measured on the dev server shipped here: it supports worker deployments. A run pinned
    to build 1 finishes on build 1's worker while new runs start on build 2's, with no patch."""
    client, queue = dev_env.client, f"pinned-{uuid.uuid4().hex[:8]}"
    deployment = f"oms-{uuid.uuid4().hex[:6]}"

    def worker(stage: type, build: str) -> Worker:
        return Worker(
            client,
            task_queue=queue,
            workflows=[stage],
            workflow_runner=UnsandboxedWorkflowRunner(),
            deployment_config=WorkerDeploymentConfig(
                version=WorkerDeploymentVersion(deployment, build), use_worker_versioning=True
            ),
        )

    async with worker(PinnedBefore, "1"):
        await make_current(client, deployment, "1")
        old = await client.start_workflow(
            "PinnedAcceptWindow", id=f"pinned-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        await first_task_done(old)  # pinned by build 1's worker before build 2 is current
        async with worker(PinnedAfter, "2"):
            await make_current(client, deployment, "2")
            new = await client.start_workflow(
                "PinnedAcceptWindow", id=f"pinned-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            assert await new.result() == "build 2"
            assert await old.result() == "build 1"
