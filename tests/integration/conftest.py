"""The real API (ASGI, in process) over a real database and a real Temporal dev server, with a
worker running the real workflows and activities."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.payment_gateway import HttpPaymentGateway
from adapters.settings import Settings
from api.app import create_app
from tests import factories as f
from tests.conftest import (
    COURIER_SECRET,
    PICKUP_SECRET,
    TEST_KEYS,
    WEBHOOK_SECRET,
    WMS_SECRET,
    uid,
)
from tests.servers import free_port, serve
from workers.worker import Outside, build_worker, ensure_event_pump

ADMIN = "test-admin-token-0123456789"
HZ_ADDRESS = {
    "province": "Zhejiang",
    "city": "Hangzhou",
    "lat": 30.27,
    "lng": 120.15,
    "line1": "1 Lakeside Rd",
    "recipient": "Li",
    "phone": "13800000001",
}


@dataclass
class Stack:
    http: httpx.AsyncClient
    engine: Engine
    temporal: Client
    settings: Settings

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(ADMIN)

    async def token(self, **body: Any) -> dict[str, str]:
        r = await self.http.post("/v1/admin/tokens", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        return self.auth(r.json()["token"])

    async def place(
        self,
        headers: dict[str, str],
        sku: str,
        qty: int,
        *,
        pickup_at: str | None = None,
        method: str = "cash",
        **over: Any,
    ) -> dict[str, Any]:
        """Place an order of one line: pickup at `pickup_at`, else delivery in Hangzhou."""
        fulfilment = (
            {"mode": "pickup", "location_id": pickup_at}
            if pickup_at
            else {"mode": "delivery", "address": HZ_ADDRESS}
        )
        r = await self.http.post(
            "/v1/orders",
            headers=headers,
            json={
                "channel_order_id": uid(),
                "payment_method": method,
                "lines": [{"sku": sku, "qty": qty}],
                "fulfilment": fulfilment,
            }
            | over,
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def member_order(
        self, lines: list[dict[str, Any]], fulfilment: dict[str, Any]
    ) -> dict[str, Any]:
        """An app member's order (a new member with stored value), paid from stored value."""
        from tests.integration.test_cancel_and_refunds import member_with_balance

        app = await self.token(role="channel", channel="app")
        member = await member_with_balance(self, app, 1_000_000)
        r = await self.http.post(
            "/v1/orders",
            headers=app,
            json={
                "channel_order_id": uid(),
                "payment_method": "stored_value",
                "member_phone": member["phone"],
                "lines": lines,
                "fulfilment": fulfilment,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def store_with_stock(
        self, *, on_hand: int = 20, price: int = 1290, **over: Any
    ) -> tuple[str, str]:
        loc = f.location(self.engine, **over)
        sku = f.sku(self.engine, price=price)
        f.stock(self.engine, loc, sku, on_hand)
        return loc, sku


@asynccontextmanager
async def running_stack(
    engine: Engine,
    client: Client,
    gateway_url: str,
    home: Path,
    *,
    wms_url: str = "http://127.0.0.1:9",
    courier_url: str = "http://127.0.0.1:9",
    **settings_over: Any,
) -> AsyncIterator[Stack]:
    """The API (served over real HTTP for the gateway's webhooks, called in process by tests)
    and a worker on its own task queue, over `engine` and the dev server behind `client`; with
    a warehouse execution system and a courier where a test serves them (nothing listens at
    the default addresses)."""
    api_port = free_port()
    settings_over = {"events_poll_s": 0.1} | settings_over
    settings = Settings(
        home=home,
        task_queue=uid("tq-"),
        admin_token=ADMIN,
        env="dev",
        payment_webhook_secret=WEBHOOK_SECRET,
        pickup_code_secret=PICKUP_SECRET,
        payload_keys=TEST_KEYS,
        gateway_url=gateway_url,
        api_url=f"http://127.0.0.1:{api_port}",
        wms_url=wms_url,
        courier_url=courier_url,
        wms_callback_secret=WMS_SECRET,
        courier_callback_secret=COURIER_SECRET,
        **settings_over,
    )

    async def connect() -> Client:
        return client

    gateway = HttpPaymentGateway(gateway_url)
    async with build_worker(
        client,
        engine,
        task_queue=settings.task_queue,
        gateway=gateway,
        notify_url=f"{settings.api_base_url}/v1/payments/webhook",
        pickup_secret=PICKUP_SECRET,
        outside=Outside.of(settings),
        merge_window_s=settings.merge_window_s,
    ):
        await ensure_event_pump(client, settings)
        app = create_app(settings, engine, connect, gateway=gateway)
        with serve(app, api_port):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://oms") as http:
                yield Stack(http, engine, client, settings)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def stack(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    gateway_url: str,
    tmp_path_factory: Any,
) -> AsyncIterator[Stack]:
    engine: Engine = request.getfixturevalue(
        "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    )
    async with running_stack(
        engine, dev_env.client, gateway_url, tmp_path_factory.mktemp("home")
    ) as s:
        yield s
