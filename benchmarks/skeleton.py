"""The floor of the full-stack benchmark: a bare "skeleton" order that runs 7 no-op regular
activities and waits for 4 signals, on the same server with the same worker settings.

`python -m benchmarks.skeleton` runs its worker (on OMS_TASK_QUEUE + "-skeleton").
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow

if TYPE_CHECKING:
    from adapters.settings import Settings

STEPS = 7
SIGNALS = 4


@activity.defn(name="skeleton_step")
def skeleton_step(step: int) -> int:
    return step


@workflow.defn(name="SkeletonOrder")
class SkeletonOrder:
    def __init__(self) -> None:
        self.signals = 0

    @workflow.run
    async def run(self) -> int:
        for step in range(STEPS):
            await workflow.execute_activity(
                "skeleton_step", step, start_to_close_timeout=timedelta(seconds=30)
            )
        await workflow.wait_condition(lambda: self.signals >= SIGNALS)
        return self.signals

    @workflow.signal
    def staff(self) -> None:
        self.signals += 1


def task_queue(settings: Settings) -> str:
    return settings.task_queue + "-skeleton"


async def run_worker(settings: Settings) -> None:
    from temporalio.worker import Worker

    from workers.heap import settle_heap
    from workers.temporal import connect
    from workers.worker import worker_options

    client = await connect(settings)
    worker = Worker(
        client,
        task_queue=task_queue(settings),
        workflows=[SkeletonOrder],
        activities=[skeleton_step],
        **worker_options(),
    )
    settle_heap()  # as the order worker does
    await worker.run()


def main() -> None:
    import benchmarks.skeleton as module  # the workflow from its module, not from __main__
    from adapters.settings import Settings
    from workers.worker import run_loop

    try:
        run_loop(module.run_worker(Settings()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
