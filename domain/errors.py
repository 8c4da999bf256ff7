"""Domain errors: a stable code, a human message and structured details."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused a request. `code` is stable and documented."""

    code = "invalid_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    code = "not_found"


class InvalidRequest(DomainError):
    code = "invalid_request"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class InsufficientStock(DomainError):
    code = "insufficient_stock"


class InvalidCoupon(DomainError):
    code = "invalid_coupon"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class AlreadyShipped(DomainError):
    code = "already_shipped"


class TooLateToChange(DomainError):
    code = "too_late_to_change"


class WrongPickupCode(DomainError):
    code = "wrong_pickup_code"


class Conflict(DomainError):
    code = "conflict"


class DuplicateSku(DomainError):
    code = "duplicate_sku"


class UnknownSku(DomainError):
    code = "unknown_sku"


class TooManyUnits(DomainError):
    code = "too_many_units"


class LocationNotAvailable(DomainError):
    code = "location_not_available"


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"


class NotAllowedForChannel(DomainError):
    code = "not_allowed_for_channel"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"


class PaymentClosed(DomainError):
    code = "payment_closed"


ERROR_TYPES: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        InvalidRequest,
        Unauthorized,
        Forbidden,
        InsufficientStock,
        InvalidCoupon,
        InvalidTransition,
        AlreadyShipped,
        WrongPickupCode,
        Conflict,
        DuplicateSku,
        UnknownSku,
        TooManyUnits,
        LocationNotAvailable,
        IdempotencyConflict,
        NotAllowedForChannel,
        TooManyAttempts,
        PaymentClosed,
    )
}


def error_from_code(code: str, message: str, details: dict[str, Any] | None = None) -> DomainError:
    """Rebuild a domain error from its code, e.g. after it crossed a Temporal boundary."""
    cls = ERROR_TYPES.get(code, DomainError)
    err = cls(message, details=details)
    err.code = code
    return err
