"""The FastAPI application: routes, error handling, limits and metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Engine
from temporalio.client import Client

from adapters.catalog import CatalogRepository
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.payment_gateway import HttpPaymentGateway, PaymentGateway
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settings import Settings
from adapters.settlement import SettlementLedger
from adapters.tokens import TokenRepository
from api import errors
from api.deps import Services
from api.routes import admin, health, members, orders, payments, quotes, staff, stock

MAX_BODY_BYTES = 1 << 20

REQUESTS = Counter("oms_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("oms_http_request_seconds", "HTTP request latency", ["method", "route"])


def create_app(
    settings: Settings,
    engine: Engine,
    connect: Callable[[], Awaitable[Client]],
    *,
    gateway: PaymentGateway | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Omni OMS",
        version="1.0",
        description="Order fulfilment for omni-channel supermarket and convenience chains. "
        'Errors are `{"error": {"code", "message", "details"}}`; unknown request fields '
        "are refused with 422 `invalid_request`.",
    )
    app.state.services = Services(
        settings=settings,
        engine=engine,
        tokens=TokenRepository(engine, admin_token=settings.secret("admin_token")),
        catalog=CatalogRepository(engine),
        inventory=InventoryRepository(engine),
        members=MemberRepository(engine),
        read_model=ReadModel(engine),
        settlement=SettlementLedger(engine),
        pricing=PricingService(engine),
        gateway=gateway or HttpPaymentGateway(settings.gateway_base_url),
        webhook_secret=settings.secret("payment_webhook_secret"),
        connect=connect,
    )
    errors.install(app)
    for module in (health, admin, orders, quotes, payments, staff, members, stock):
        app.include_router(module.router)

    @app.middleware("http")
    async def limits_and_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return errors.error_response(
                "payload_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes"
            )
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        REQUESTS.labels(request.method, name, str(response.status_code)).inc()
        LATENCY.labels(request.method, name).observe(time.perf_counter() - start)
        return response

    return app
