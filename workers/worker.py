"""The worker process: runs the order workflows (and the repairs and late refunds that follow
them) and their activities, and keeps the repair sweep's schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.orders import OrderActivities
from activities.payments import PaymentActivities
from activities.refunds import RefundActivities
from activities.repair import RepairActivities
from activities.steps import StepRunner
from adapters.catalog import CatalogRepository
from adapters.db import make_engine
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.payment_gateway import HttpPaymentGateway, PaymentGateway
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settings import Settings
from workers.temporal import connect, ensure_repair_schedule
from workflows.aftercare import LatePaymentWorkflow, RepairSweepWorkflow, RepairWorkflow
from workflows.order import OrderWorkflow

WORKFLOWS = [OrderWorkflow, LatePaymentWorkflow, RepairWorkflow, RepairSweepWorkflow]


def build_activities(
    engine: Engine,
    gateway: PaymentGateway,
    *,
    notify_url: str,
    pickup_secret: str,
    client: Client | None = None,
) -> list[Callable[..., Any]]:
    read_model = ReadModel(engine)
    payments = PaymentActivities(gateway, read_model, notify_url=notify_url)
    acts = OrderActivities(
        catalog=CatalogRepository(engine),
        inventory=InventoryRepository(engine),
        members=MemberRepository(engine),
        read_model=read_model,
        pricing=PricingService(engine),
        codes=PickupCodes(pickup_secret),
    )
    refunds = RefundActivities(
        members=MemberRepository(engine), read_model=read_model, gateway=gateway
    )
    repair = RepairActivities(read_model, client)
    each: list[Callable[..., Any]] = [*acts.all(), *payments.all(), *refunds.all()]
    return [*each, *repair.all(), StepRunner(each).run_steps]


def worker_options() -> dict[str, Any]:
    """Worker tuning shared by the order worker and the benchmark's skeleton floor.

    Workflows run without the SDK's sandbox. The sandbox re-creates each run's module context
    and routes every payload's serialization through it, which was about a third of the
    worker's CPU per order. What the sandbox guarded is guarded here instead: workflow modules
    import only pure code and call no clock, randomness or I/O (`tests/unit/test_architecture.py`),
    and stored histories of every order path replay on every run (`tests/workflows/test_replay.py`).
    """
    return {
        "workflow_runner": UnsandboxedWorkflowRunner(),
        "activity_executor": ThreadPoolExecutor(max_workers=32),
        "max_concurrent_activities": 32,
        "max_concurrent_local_activities": 32,
    }


def build_worker(
    client: Client,
    engine: Engine,
    *,
    task_queue: str,
    gateway: PaymentGateway,
    notify_url: str,
    pickup_secret: str,
) -> Worker:
    activities = build_activities(
        engine, gateway, notify_url=notify_url, pickup_secret=pickup_secret, client=client
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        **worker_options(),
    )


async def run_worker(settings: Settings) -> None:
    client = await connect(settings)
    engine = make_engine(settings.db_url)
    worker = build_worker(
        client,
        engine,
        task_queue=settings.task_queue,
        gateway=HttpPaymentGateway(settings.gateway_base_url),
        notify_url=f"{settings.api_base_url}/v1/payments/webhook",
        pickup_secret=settings.secret("pickup_code_secret"),
    )
    await ensure_repair_schedule(client, settings)
    logging.getLogger("oms.worker").info("worker polling %s", settings.task_queue)
    await worker.run()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a worker process's main coroutine on uvloop where it is installed (the SDK's workers
    poll, complete tasks and hand activities to threads on this loop), else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    try:
        run_loop(run_worker(Settings()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
