"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api import answers
from api.deps import Services, services

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=answers.Health)
def healthz() -> dict[str, str]:
    """The process is up (nothing else is checked: see `/readyz`)."""
    return {"status": "ok"}


def _db_ok(svc: Services) -> bool:
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get(
    "/readyz",
    response_model=answers.Ready,
    responses={503: {"model": answers.Ready, "description": "a dependency is down"}},
)
async def readyz(svc: Services = Depends(services)) -> JSONResponse:
    """The database and Temporal are reachable (`503` when one is not)."""
    checks = {"database": await run_in_threadpool(_db_ok, svc), "temporal": False}
    try:
        client = await svc.temporal()
        checks["temporal"] = await client.service_client.check_health()
    except Exception:
        checks["temporal"] = False
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics() -> PlainTextResponse:
    """Prometheus metrics: requests, latencies, orders."""
    return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)
