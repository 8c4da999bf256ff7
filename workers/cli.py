"""`oms` commands: dev, worker, api, migrate, seed, reconcile, repair."""

from __future__ import annotations

import argparse
import asyncio
import sys

from temporalio.client import Client

from adapters.db import make_engine
from adapters.settings import Settings
from adapters.tokens import TokenRepository
from workers import api_server, dev, reconcile, worker
from workers.demo import issue_demo_tokens, seed_demo
from workers.migrate import migrate
from workers.temporal import TemporalUnreachable


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oms", description="Omni OMS commands")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, text in [
        ("dev", "run the whole stack in the foreground"),
        ("worker", "run a worker"),
        ("api", "run the API"),
        ("migrate", "bring the database to the latest schema"),
        ("seed", "load the demo data and tokens"),
        ("reconcile", "print every discrepancy between money, stock and orders"),
    ]:
        sub.add_parser(name, help=text)
    repair = sub.add_parser(
        "repair", help="repair orders whose workflow was terminated (all, or the ones named)"
    )
    repair.add_argument("order_ids", nargs="*", help="order ids (default: every one that needs it)")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.cmd == "dev":
        dev.main()
    elif args.cmd == "worker":
        worker.main()
    elif args.cmd == "api":
        api_server.main()
    elif args.cmd == "reconcile":
        reconcile.main()
    elif args.cmd == "repair":
        try:
            lines = asyncio.run(run_repair(settings, args.order_ids))
        except TemporalUnreachable as exc:
            sys.exit(f"repair: {exc}: is the stack running (`make dev`)?")
        for line in lines:
            print(line)
    elif args.cmd == "migrate":
        migrate(settings.db_url)
    elif args.cmd == "seed":
        migrate(settings.db_url)
        engine = make_engine(settings.db_url)
        seed_demo(engine, settings.home)
        print(
            issue_demo_tokens(
                TokenRepository(engine, admin_token=settings.secret("admin_token")), settings.home
            )
        )


async def run_repair(
    settings: Settings, order_ids: list[str], *, client: Client | None = None
) -> list[str]:
    """Run the repair (as Temporal workflows, on the worker): of the orders named, or the sweep
    that finds every order open in the database whose workflow has ended."""
    from temporalio.common import WorkflowIDConflictPolicy

    from workers.temporal import connect
    from workflows.aftercare import RepairSweepWorkflow, RepairWorkflow

    client = client or await connect(settings)
    if not order_ids:
        repaired = await client.execute_workflow(
            RepairSweepWorkflow.run,
            200,
            id="repair-sweep-cli",
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=settings.task_queue,
        )
        return [*repaired, f"repair: {len(repaired)} order(s) repaired"]
    out = []
    for order_id in order_ids:
        outcome = await client.execute_workflow(
            RepairWorkflow.run,
            order_id,
            id=f"repair-{order_id}",
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=settings.task_queue,
        )
        out.append(f"{order_id}: {outcome}")
    return out


if __name__ == "__main__":
    main()
