"""The FastAPI application: routes, error handling, limits and metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from adapters.catalog import CatalogRepository
from adapters.inventory import InventoryRepository
from adapters.logistics import HttpCourier
from adapters.members import MemberRepository
from adapters.payment_gateway import HttpPaymentGateway, PaymentGateway
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settings import Settings
from adapters.settlement import SettlementLedger
from adapters.staff import StaffAccounts
from adapters.tokens import TokenRepository
from api import contract, errors
from api.console import routes as console
from api.deps import Services
from api.routes import (
    admin,
    catalog,
    codec,
    events,
    fresh,
    health,
    logistics,
    members,
    orders,
    payments,
    quotes,
    staff,
    stock,
)
from api.schemas import ErrorOut

MAX_BODY_BYTES = 1 << 20
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "malformed_request: the body is not JSON",
        401: "unauthorized: no or unknown token",
        403: "forbidden: the token's role or scope does not allow this",
        404: "not_found (also what another channel's or location's resources look like)",
        409: "a conflict with the current state: insufficient_stock, invalid_transition, ...",
        413: "payload_too_large: bodies are limited to 1 MiB",
        422: "invalid_request: the request does not match the schema, or breaks a rule",
        429: "rate_limited: too many requests for this token",
        503: "unavailable: a dependency (Temporal, the payment gateway) is not reachable",
    }.items()
}

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
        docs_url=None,  # served below, with assets of its own (no CDN)
        redoc_url=None,
        title="Omni OMS",
        version="1.0",
        description="Order fulfilment for omni-channel supermarket and convenience chains. "
        "Every call takes `Authorization: Bearer <token>` (Authorize, above); money is integer "
        'fen. Errors are `{"error": {"code", "message", "details"}}`: the message names the '
        "field and the fix, and unknown request fields are refused with 422 `invalid_request`. "
        "A channel's first integration: `docs/channels.md` and the Python client in `client/` "
        "in the repository.",
        responses=ERROR_RESPONSES,
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
        pickup_codes=PickupCodes(settings.secret("pickup_code_secret")),
        key_ring=settings.key_ring(),
        staff_accounts=StaffAccounts(engine),
        connect=connect,
        courier=HttpCourier(settings.courier_base_url),
        callback_secrets={
            "wms": settings.secret("wms_callback_secret"),
            "courier": settings.secret("courier_callback_secret"),
        },
    )
    errors.install(app)
    # Routes are matched in order: what channels and staff call on every order comes first
    # (a request's routing then tries a few patterns, not all fifty).
    for module in (
        orders,
        staff,
        fresh,
        payments,
        logistics,
        quotes,
        members,
        catalog,
        stock,
        events,
        admin,
        codec,
        health,
    ):
        app.include_router(module.router)

    console.install(app)
    offline_docs(app)
    contract.install(app)
    app.add_middleware(LimitsAndMetrics)
    return app


def offline_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and `/redoc` with their scripts and styles served by the API itself
    (vendored from the npm registry under `api/static/vendor/`): they work on a store's network
    that reaches no CDN."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    vendor = Path(__file__).parent / "static" / "vendor"
    app.mount("/static/vendor", StaticFiles(directory=str(vendor)), name="vendor")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Omni OMS API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/vendor/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="Omni OMS API",
            redoc_js_url="/static/vendor/redoc.standalone.js",
            redoc_favicon_url="/static/vendor/favicon-32x32.png",
            with_google_fonts=False,
        )


class BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"bodies are limited to {MAX_BODY_BYTES} bytes")


class LimitsAndMetrics:
    """Pure ASGI middleware: refuses bodies over MAX_BODY_BYTES whether announced by
    Content-Length or streamed in chunks, and records request counts and latencies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            response = errors.error_response(
                "payload_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes"
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise BodyTooLarge()
            return message

        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, limited, sending)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], name, str(status)).inc()
            LATENCY.labels(scope["method"], name).observe(time.perf_counter() - start)
