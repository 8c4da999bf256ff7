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
from temporalio.exceptions import ActivityError, ApplicationError

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
    "too_late_to_change": 409,
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
    cause: BaseException | None = err.cause
    if isinstance(cause, ActivityError):  # an activity the update ran refused
        cause = cause.cause
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


def field_of(error: Any) -> str:
    """A validation error's field as a client writes it: `lines[0].qty`, `limit`, `body`."""
    loc = [p for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def explain(error: Any) -> str:
    """One validation error in words: the field, what is wrong, and what to send instead."""
    field, kind, ctx = field_of(error), error.get("type", ""), error.get("ctx") or {}
    got = error.get("input")
    shown = json.dumps(got, ensure_ascii=False, default=str)[:40] if got is not None else "null"
    if kind == "missing" and field == "body":
        return "this request needs a JSON body: send its fields (they are in /docs)"
    if kind == "missing":
        return f"{field} is required: add it"
    if kind == "extra_forbidden":
        return f"{field} is not a field of this request: remove it (the fields are in /docs)"
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        least = "at least" if kind == "greater_than_equal" else "more than"
        return f"{field} must be {least} {limit} (got {shown}): send a bigger number"
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        most = "at most" if kind == "less_than_equal" else "less than"
        return f"{field} must be {most} {limit} (got {shown}): send a smaller number"
    if kind == "string_too_long":
        return f"{field} is too long: send at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"{field} is too short: send at least {ctx.get('min_length')} characters"
    if kind == "too_long":
        return f"{field} has too many items: send at most {ctx.get('max_length')}"
    if kind == "too_short":
        return f"{field} has too few items: send at least {ctx.get('min_length')}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "A-Za-z0-9._:-" in pattern:
            return (
                f"{field} is {shown}: use 1 to 64 letters, digits and . _ : - (no spaces or "
                "other signs)"
            )
        return f"{field} is {shown}, which does not match {pattern}: send a value that does"
    if kind in ("literal_error", "enum"):
        return f"{field} is {shown}: send one of {ctx.get('expected')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        unit = " of fen" if field.endswith("amount") else ""
        return f"{field} must be a whole number{unit} (got {shown})"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"{field} must be a number (got {shown})"
    if kind in ("bool_type", "bool_parsing"):
        return f"{field} must be true or false (got {shown})"
    if kind in ("string_type", "string_unicode"):
        return f"{field} must be a string (got {shown})"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"{field} must be a list (got {shown})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{field} must be an object (got {shown})"
    if kind in ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"):
        return f"{field} must be an ISO 8601 time with an offset, e.g. 2027-01-01T00:00:00+08:00"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return f"{field} must be a date, e.g. 2027-01-01 (got {shown})"
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return message if field == "body" else f"{field}: {message}"
    return f"{field}: {error.get('msg', 'not valid')}"


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
                "malformed_request",
                "the body is not valid JSON: fix it where details.errors points",
                {"errors": _safe(errors)},
            )
        problems = [explain(e) for e in exc.errors()]
        message = "; ".join(problems[:3]) + ("; and more in details.errors" if problems[3:] else "")
        return error_response(
            "invalid_request",
            message,
            {"field": field_of(exc.errors()[0]) if errors else None, "errors": _safe(errors)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        words = {
            404: "no endpoint at this path: check it against /docs",
            405: "this endpoint does not take this method: see /docs for the ones it takes",
        }
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
            413: "payload_too_large",
        }.get(exc.status_code, "invalid_request")
        status = exc.status_code if 400 <= exc.status_code < 500 else 422
        message = words.get(exc.status_code, str(exc.detail))
        return error_response(code, message, status=status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(
            "unavailable",
            "the service could not complete the request: try again shortly",
            status=503,
        )
