"""The worker process: runs the order workflows (and the repairs and late refunds that follow
them) and their activities, and keeps the repair sweep's schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.events import EventActivities, PumpConfig
from activities.logistics import LogisticsActivities
from activities.orders import OrderActivities
from activities.payments import PaymentActivities
from activities.refunds import RefundActivities
from activities.repair import RepairActivities
from activities.steps import StepRunner
from activities.substitutions import SubstitutionActivities
from adapters.catalog import CatalogRepository
from adapters.db import make_engine
from adapters.events import EventStore, set_outbox
from adapters.inventory import InventoryRepository
from adapters.logistics import Courier, HttpCourier, HttpWarehouse, Warehouse
from adapters.members import MemberRepository
from adapters.payment_gateway import HttpPaymentGateway, PaymentGateway
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settings import Settings
from domain.policy import FIRST_PARTY_CHANNELS, MERGE_WINDOW_S
from workers.heap import settle_heap
from workers.temporal import connect, ensure_repair_schedule
from workflows.aftercare import LatePaymentWorkflow, RepairSweepWorkflow, RepairWorkflow
from workflows.events import ChannelEventsWorkflow, events_workflow_id
from workflows.order import OrderWorkflow

WORKFLOWS = [
    OrderWorkflow,
    LatePaymentWorkflow,
    RepairWorkflow,
    RepairSweepWorkflow,
    ChannelEventsWorkflow,
]


@dataclass(frozen=True)
class Outside:
    """The systems that move goods, and where their callbacks reach the API."""

    warehouse: Warehouse
    courier: Courier
    api_url: str

    @classmethod
    def of(cls, settings: Settings) -> Outside:
        return cls(
            HttpWarehouse(settings.wms_base_url),
            HttpCourier(settings.courier_base_url),
            settings.api_base_url,
        )


def build_activities(
    engine: Engine,
    gateway: PaymentGateway,
    *,
    notify_url: str,
    pickup_secret: str,
    client: Client | None = None,
    first_party: list[str] | None = None,
    outside: Outside | None = None,
    merge_window_s: int = MERGE_WINDOW_S,
) -> list[Callable[..., Any]]:
    read_model = ReadModel(engine, merge_window_s=merge_window_s)
    outside = outside or Outside.of(Settings())
    logistics = LogisticsActivities(
        warehouse=outside.warehouse,
        courier=outside.courier,
        catalog=CatalogRepository(engine),
        read_model=read_model,
        wms_callback_url=f"{outside.api_url}/v1/callbacks/wms",
        courier_callback_url=f"{outside.api_url}/v1/callbacks/courier",
    )
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
    events = EventActivities(
        EventStore(engine),
        CatalogRepository(engine),
        PickupCodes(pickup_secret),
        first_party=list(first_party if first_party is not None else FIRST_PARTY_CHANNELS),
    )
    substitutions = SubstitutionActivities(
        catalog=CatalogRepository(engine),
        inventory=InventoryRepository(engine),
        read_model=read_model,
    )
    each: list[Callable[..., Any]] = [
        *acts.all(),
        *payments.all(),
        *refunds.all(),
        *logistics.all(),
        *substitutions.all(),
    ]
    return [*each, *repair.all(), *events.all(), StepRunner(each).run_steps]


def worker_options() -> dict[str, Any]:
    """Worker tuning shared by the order worker and the benchmark's skeleton floor.

    Workflows run without the SDK's sandbox. The sandbox re-creates each run's module context
    and routes every payload's serialization through it, which was about a third of the
    worker's CPU per order. What the sandbox guarded is guarded here instead: workflow modules
    import only pure code and call no clock, randomness or I/O (`tests/unit/test_architecture.py`),
    and stored histories of every order path replay on every run (`tests/workflows/test_replay.py`).

    No payload is kept in external storage, so its pass over each activation and completion runs
    one payload at a time: with the SDK's default (3 at once) it made an asyncio task for every
    payload of every workflow task, about 2.5 % of the worker's CPU.
    """
    return {
        "workflow_runner": UnsandboxedWorkflowRunner(),
        "max_workflow_task_external_storage_concurrency": 1,
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
    outside: Outside | None = None,
    merge_window_s: int = MERGE_WINDOW_S,
) -> Worker:
    activities = build_activities(
        engine,
        gateway,
        notify_url=notify_url,
        pickup_secret=pickup_secret,
        client=client,
        outside=outside,
        merge_window_s=merge_window_s,
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        **worker_options(),
    )


async def run_worker(settings: Settings) -> None:
    set_outbox(settings.channel_events)
    client = await connect(settings)
    engine = make_engine(settings.db_url)
    worker = build_worker(
        client,
        engine,
        task_queue=settings.task_queue,
        gateway=HttpPaymentGateway(settings.gateway_base_url),
        notify_url=f"{settings.api_base_url}/v1/payments/webhook",
        pickup_secret=settings.secret("pickup_code_secret"),
        outside=Outside.of(settings),
        merge_window_s=settings.merge_window_s,
    )
    await ensure_repair_schedule(client, settings)
    if settings.channel_events:
        await ensure_event_pump(client, settings)
    logging.getLogger("oms.worker").info("worker polling %s", settings.task_queue)
    settle_heap()
    await worker.run()


def pump_config(settings: Settings) -> PumpConfig:
    return PumpConfig(
        poll_s=settings.events_poll_s,
        timeout_s=settings.webhook_timeout_s,
        retry_max_s=settings.webhook_retry_max_s,
        give_up_s=settings.webhook_give_up_s,
    )


async def ensure_event_pump(client: Client, settings: Settings) -> None:
    """The channel-events workflow (one per namespace): started if it is not running."""
    from temporalio.common import WorkflowIDConflictPolicy

    await client.start_workflow(
        ChannelEventsWorkflow.run,
        pump_config(settings),
        id=events_workflow_id(settings.task_queue),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="delivers channel events and sold-out changes",
    )


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
