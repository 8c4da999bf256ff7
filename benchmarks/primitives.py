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
- `child`: the 4 updates going to a child workflow instead (a part as its own workflow);
- `updates+http`: `updates`, each call made over HTTP to a bare FastAPI app in its own uvicorn
  process (`benchmarks/relay.py`), as channels and staff reach an order through the API; its CPU
  is the `api ms` column.

Below the shapes, what one database transaction costs a thread on SQLite: a write (read a member
by key, add a point, commit) and a read (a member by key), each through the ORM session helpers
the adapters use (`adapters/db.py`), through SQLAlchemy Core statements on the same engine, and
through `sqlite3` alone; and what each further read in a transaction adds (a transaction of 11
reads against one of 1). Medians of 5 rounds of 1,000 calls (200 for 11 reads).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributeKey, WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.worker import Worker

from adapters.http import Client as HttpClient
from benchmarks.full_stack import cpu_seconds
from benchmarks.skeleton import SIGNALS, SkeletonOrder, skeleton_step

STATUS = SearchAttributeKey.for_keyword("OrderStatus")
SHAPES = ["skeleton", "updates", "updates+upserts", "updates+timers", "child", "updates+http"]


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


async def one(client: Client, shape: str, relay: HttpClient | None = None) -> None:
    wid = f"{shape}-{uuid.uuid4().hex[:10]}"
    if shape == "updates+http":
        assert relay is not None
        (await relay.post(f"/orders/{wid}", json={"shape": shape})).raise_for_status()
        for _ in range(4):
            (await relay.post(f"/orders/{wid}/actions", json={"upsert": False})).raise_for_status()
        await client.get_workflow_handle(wid).result()
        return
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


async def measure(
    client: Client, server_pid: int, shape: str, n: int, relay: tuple[HttpClient, int]
) -> dict[str, float]:
    todo = list(range(n))
    http, relay_pid = relay

    async def worker_loop() -> None:
        while todo:
            todo.pop()
            await one(client, shape, http)

    cpu0, own0, t0 = cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    api0 = cpu_seconds(relay_pid)
    await asyncio.gather(*(worker_loop() for _ in range(20)))
    elapsed = time.perf_counter() - t0
    return {
        "per_s": n / elapsed,
        "server_ms": (cpu_seconds(server_pid) - cpu0) * 1000 / n,
        "worker_and_clients_ms": (time.process_time() - own0) * 1000 / n,
        "api_ms": (cpu_seconds(relay_pid) - api0) * 1000 / n,
    }


def _thread_ms(step: Callable[[], object], rounds: int = 5, n: int = 1000) -> float:
    """Median over `rounds` of the thread's CPU per call of `step`, in ms."""
    per_call = []
    for _ in range(rounds):
        t0 = time.thread_time()
        for _ in range(n):
            step()
        per_call.append((time.thread_time() - t0) * 1000 / n)
    return statistics.median(per_call)


def transactions(home: str) -> list[tuple[str, float]]:
    """CPU of the smallest write and read transactions an order's steps make, on SQLite."""
    from sqlalchemy import select, update
    from sqlmodel import SQLModel
    from sqlmodel import select as orm_select

    from adapters.db import READ_ONLY, make_engine, read_scope, session_scope
    from adapters.tables import Member

    path = Path(home) / "steps.db"
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    read_only = engine.execution_options(**{READ_ONLY: True})
    with session_scope(engine) as s:
        s.add(Member(member_id="M1", phone="13800000000"))

    table = Member.__table__  # type: ignore[attr-defined]
    by_key = table.c.member_id == "M1"
    get = select(table).where(by_key)
    get_member = orm_select(Member).where(Member.member_id == "M1")
    add_point = update(table).where(by_key).values(points=table.c.points + 1)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA synchronous=NORMAL")
    sql_get = "SELECT * FROM member WHERE member_id = ?"

    def orm_write() -> None:
        with session_scope(engine) as s:
            member = s.get(Member, "M1")
            assert member is not None
            member.points += 1

    def core_write() -> None:
        with engine.begin() as conn:
            conn.execute(get).one()
            conn.execute(add_point)

    def raw_write() -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute(sql_get, ("M1",)).fetchone()
        db.execute("UPDATE member SET points = points + 1 WHERE member_id = ?", ("M1",))
        db.execute("COMMIT")

    def orm_reads(n: int) -> Callable[[], None]:
        def step() -> None:
            with read_scope(engine) as s:
                for _ in range(n):
                    s.exec(get_member).one()

        return step

    def core_reads(n: int) -> Callable[[], None]:
        def step() -> None:
            with read_only.connect() as conn:
                for _ in range(n):
                    conn.execute(get).one()
                conn.rollback()

        return step

    def raw_reads(n: int) -> Callable[[], None]:
        def step() -> None:
            db.execute("BEGIN")
            for _ in range(n):
                db.execute(sql_get, ("M1",)).fetchone()
            db.execute("COMMIT")

        return step

    figures = []
    for layer, write, reads in (
        ("session helpers", orm_write, orm_reads),
        ("SQLAlchemy Core", core_write, core_reads),
        ("sqlite3", raw_write, raw_reads),
    ):
        one_read = _thread_ms(reads(1))
        figures += [
            (f"write, {layer}", _thread_ms(write)),
            (f"read, {layer}", one_read),
            (f"one more read, {layer}", (_thread_ms(reads(11), n=200) - one_read) / 10),
        ]
    db.close()
    engine.dispose()
    return figures


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
        relay_port = free_port()
        relay = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.relay", str(relay_port), f"127.0.0.1:{port}"],
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            wait_for_port(port, timeout=60, proc=server)
            wait_for_port(relay_port, timeout=60, proc=relay)
            http = (HttpClient(f"http://127.0.0.1:{relay_port}"), relay.pid)
            client = await Client.connect(f"127.0.0.1:{port}")
            worker = Worker(
                client,
                task_queue="primitives",
                workflows=[PrimitiveOrder, PrimitivePart, SkeletonOrder],
                activities=[skeleton_step],
                **worker_options(),
            )
            async with worker:
                for warm in ("updates", "updates+http"):
                    await measure(client, server.pid, warm, 20, http)
                print(
                    f"{'shape':18} {'per s':>7} {'server ms':>10} {'worker+clients ms':>18} "
                    f"{'api ms':>7}"
                )
                for shape in shapes:
                    r = await measure(client, server.pid, shape, n, http)
                    print(
                        f"{shape:18} {r['per_s']:7.1f} {r['server_ms']:10.1f} "
                        f"{r['worker_and_clients_ms']:18.1f} {r['api_ms']:7.1f}",
                        flush=True,
                    )
            await http[0].aclose()
        finally:
            for proc in (relay, server):
                proc.terminate()
                proc.wait()
        print(f"\n{'transaction':32} {'thread cpu ms':>13}")
        for name, ms in transactions(home):
            print(f"{name:32} {ms:13.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("shapes", nargs="*", default=SHAPES)
    ns = parser.parse_args()
    asyncio.run(main(ns.n, ns.shapes))
