"""`make bench-primitives`: what each Temporal primitive costs the dev server, per workflow.

The order workflow's design follows from these figures: the Temporal server's CPU per order is
the sum of what its workflow does (updates, local activities, timers, search-attribute upserts,
child workflows), so the figures say what a change in the workflow's shape saves. Each shape
runs `--n` workflows (default 200) from 20 concurrent clients on a fresh dev server (SQLite,
the stack's settings) with one in-process worker of the stack's settings; the server's CPU is
read from /proc.

Shapes:
- `skeleton`: the benchmark floor (`benchmarks/skeleton.py`), 7 regular activities and 4
  signals;
- `updates`: started by an update (update-with-start) that waits for 3 local activities, then 4
  updates (a submission and four staff actions, in the order workflow's shape);
- `updates+upserts`: the same, each update upserting a search attribute;
- `updates+timers`: the same, each state waiting with a timer (accept window, expiry);
- `child`: the 4 updates going to a child workflow instead (a part as its own workflow).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributeKey, WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.worker import Worker

from benchmarks.full_stack import cpu_seconds
from benchmarks.skeleton import SIGNALS, SkeletonOrder, skeleton_step

STATUS = SearchAttributeKey.for_keyword("OrderStatus")
SHAPES = ["skeleton", "updates", "updates+upserts", "updates+timers", "child"]


@workflow.defn(name="PrimitivePart")
class PrimitivePart:
    def __init__(self) -> None:
        self.n = 0

    @workflow.run
    async def run(self, actions: int) -> int:
        await workflow.wait_condition(lambda: self.n >= actions)
        return self.n

    @workflow.update
    async def act(self) -> int:
        self.n += 1
        return self.n


@workflow.defn(name="PrimitiveOrder")
class PrimitiveOrder:
    def __init__(self) -> None:
        self.n = 0
        self.ready = False

    @workflow.run
    async def run(self, shape: str) -> int:
        if shape != "child":
            for i in range(3):
                await workflow.execute_local_activity(
                    skeleton_step, i, start_to_close_timeout=timedelta(seconds=30)
                )
        self.ready = True
        if shape == "child":
            await workflow.execute_child_workflow(
                PrimitivePart.run, 4, id=workflow.info().workflow_id + "-part"
            )
        elif shape == "updates+timers":
            while self.n < 4:
                before = self.n
                try:
                    await workflow.wait_condition(
                        lambda b=before: self.n != b,  # type: ignore[misc]
                        timeout=timedelta(hours=1),
                    )
                except TimeoutError:
                    pass
        else:
            await workflow.wait_condition(lambda: self.n >= 4)
        return self.n

    @workflow.update
    async def submit(self) -> bool:
        await workflow.wait_condition(lambda: self.ready)
        return True

    @workflow.update
    async def act(self, upsert: bool) -> int:
        self.n += 1
        if upsert:
            workflow.upsert_search_attributes([STATUS.value_set(f"step-{self.n}")])
        return self.n


async def one(client: Client, shape: str) -> None:
    wid = f"{shape}-{uuid.uuid4().hex[:10]}"
    if shape == "skeleton":
        skeleton = await client.start_workflow(SkeletonOrder.run, id=wid, task_queue="primitives")
        for _ in range(SIGNALS):
            await skeleton.signal(SkeletonOrder.staff)
        await skeleton.result()
        return
    start = WithStartWorkflowOperation(
        PrimitiveOrder.run,
        shape,
        id=wid,
        task_queue="primitives",
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await client.execute_update_with_start_workflow(
        PrimitiveOrder.submit, start_workflow_operation=start
    )
    handle = client.get_workflow_handle(wid)
    for _ in range(4):
        if shape == "child":
            part = client.get_workflow_handle(wid + "-part")
            while True:  # the part starts once the order's task has run
                try:
                    await part.execute_update(PrimitivePart.act)
                    break
                except (RPCError, WorkflowUpdateFailedError):
                    await asyncio.sleep(0.05)
        else:
            await handle.execute_update(PrimitiveOrder.act, shape == "updates+upserts")
    await handle.result()


async def measure(client: Client, server_pid: int, shape: str, n: int) -> dict[str, float]:
    todo = list(range(n))

    async def worker_loop() -> None:
        while todo:
            todo.pop()
            await one(client, shape)

    cpu0, own0, t0 = cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker_loop() for _ in range(20)))
    elapsed = time.perf_counter() - t0
    return {
        "per_s": n / elapsed,
        "server_ms": (cpu_seconds(server_pid) - cpu0) * 1000 / n,
        "worker_and_clients_ms": (time.process_time() - own0) * 1000 / n,
    }


async def main(n: int, shapes: list[str]) -> None:
    from workers.dev import free_port, wait_for_port
    from workers.temporal import bundled_binary
    from workers.worker import worker_options

    with tempfile.TemporaryDirectory() as home:
        port, ui = free_port(), free_port()
        args = [
            bundled_binary("temporal"), "server", "start-dev",
            "--db-filename", f"{home}/temporal.db", "--ip", "127.0.0.1",
            "--port", str(port), "--ui-port", str(ui), "--log-level", "error",
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--search-attribute", "OrderStatus=Keyword",
        ]  # fmt: skip
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, timeout=60, proc=server)
            client = await Client.connect(f"127.0.0.1:{port}")
            worker = Worker(
                client,
                task_queue="primitives",
                workflows=[PrimitiveOrder, PrimitivePart, SkeletonOrder],
                activities=[skeleton_step],
                **worker_options(),
            )
            async with worker:
                await measure(client, server.pid, "updates", 20)  # warm up
                print(f"{'shape':18} {'per s':>7} {'server ms':>10} {'worker+clients ms':>18}")
                for shape in shapes:
                    r = await measure(client, server.pid, shape, n)
                    print(
                        f"{shape:18} {r['per_s']:7.1f} {r['server_ms']:10.1f} "
                        f"{r['worker_and_clients_ms']:18.1f}",
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("shapes", nargs="*", default=SHAPES)
    ns = parser.parse_args()
    asyncio.run(main(ns.n, ns.shapes))
