"""One place that turns errors into the documented body and HTTP status; never a stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.errors import DomainError, error_from_code

STATUS_BY_CODE = {
    "invalid_request": 422,
    "invalid_coupon": 422,
    "malformed_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "insufficient_stock": 409,
    "invalid_transition": 409,
    "already_shipped": 409,
    "wrong_pickup_code": 409,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
    "payment_declined": 422,
    "payment_unavailable": 503,
    "payment_closed": 409,
    "duplicate_sku": 422,
    "unknown_sku": 422,
    "too_many_units": 422,
    "location_not_available": 422,
    "idempotency_conflict": 409,
    "not_allowed_for_channel": 403,
    "too_many_attempts": 429,
    "invalid_webhook_url": 422,
}
log = logging.getLogger("oms.api")


def refusal(err: WorkflowUpdateFailedError) -> Exception:
    """The domain error behind a workflow update's refusal (its ApplicationError type is the
    documented code), or the update error itself when it is something else."""
    cause = err.cause
    if not isinstance(cause, ApplicationError):
        return err
    details = cause.details[0] if cause.details else {}
    return error_from_code(
        cause.type or "invalid_request", cause.message, details if isinstance(details, dict) else {}
    )


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    code: str, message: str, details: dict[str, Any] | None = None, *, status: int | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status or STATUS_BY_CODE.get(code, 422)
    )


def _safe(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return error_response(
                "malformed_request", "the body is not valid JSON", {"errors": _safe(errors)}
            )
        return error_response(
            "invalid_request", "the request does not match the schema", {"errors": _safe(errors)}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
            413: "payload_too_large",
        }.get(exc.status_code, "invalid_request")
        status = exc.status_code if 400 <= exc.status_code < 500 else 422
        return error_response(code, str(exc.detail), status=status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(
            "unavailable", "the service could not complete the request", status=503
        )
