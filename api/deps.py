"""What the routes share: the services container, the caller's identity and its scope checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from adapters.catalog import CatalogRepository
from adapters.codec import KeyRing
from adapters.db import reads_here, reads_here_cheaply, reads_together
from adapters.inventory import InventoryRepository
from adapters.logistics import Courier
from adapters.members import MemberRepository
from adapters.payment_gateway import PaymentGateway
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settings import Settings
from adapters.settlement import SettlementLedger
from adapters.staff import StaffAccounts
from adapters.tokens import Principal, TokenRepository
from domain.errors import DomainError, Forbidden, NotAllowedForChannel, NotFound, Unauthorized

T = TypeVar("T")


class RateLimited(DomainError):
    code = "rate_limited"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    tokens: TokenRepository
    catalog: CatalogRepository
    inventory: InventoryRepository
    members: MemberRepository
    read_model: ReadModel
    pricing: PricingService
    settlement: SettlementLedger
    gateway: PaymentGateway
    webhook_secret: str
    pickup_codes: PickupCodes
    key_ring: KeyRing
    staff_accounts: StaffAccounts  # the console's accounts and sessions
    connect: object  # async () -> Client
    courier: Courier | None = None  # the courier (its simulator is driven through the API)
    callback_secrets: dict[str, str] = field(default_factory=dict)  # wms, courier
    _client: Client | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    @cached_property
    def reads_on_loop(self) -> bool:
        return reads_here_cheaply(self.engine)

    async def temporal(self) -> Client:
        """The Temporal client, connected on first use (the API starts before Temporal may)."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await self.connect()  # type: ignore[operator]
                    except Exception as exc:
                        raise Unavailable(
                            "the workflow service (Temporal) is not reachable: try again shortly"
                        ) from exc
        return self._client

    def take_token(self, key: str) -> None:
        """Token bucket per API token: `rate_limit_per_minute`, bursts up to a tenth of it."""
        rate = self.settings.rate_limit_per_minute / 60.0
        burst = max(10.0, self.settings.rate_limit_per_minute / 10.0)
        now = time.monotonic()
        level, last = self._buckets.get(key, (burst, now))
        level = min(burst, level + (now - last) * rate)
        if level < 1.0:
            self._buckets[key] = (level, now)
            raise RateLimited(
                "too many requests for this token: wait details.retry_after_s seconds, then "
                "send fewer",
                details={"retry_after_s": round((1 - level) / rate, 2)},
            )
        self._buckets[key] = (level - 1.0, now)


class Unavailable(DomainError):
    code = "unavailable"


async def services(request: Request) -> Services:
    """The services container. (Dependencies are async where they do not block, so FastAPI
    calls them on the event loop rather than handing each to a thread.)"""
    return request.app.state.services  # type: ignore[no-any-return]


async def caller(request: Request, svc: Services = Depends(services)) -> Principal:
    """The caller, from its bearer token: a token seen in the last `CACHE_SECONDS` is known on
    the event loop; any other is looked up in the database on a worker thread."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "the Authorization header is missing or not a bearer token: send "
            "Authorization: Bearer <token>"
        )
    if svc.tokens.poll_due():  # revoked elsewhere: forgotten here within a second
        await run_in_threadpool(svc.tokens.forget_revoked)
    principal = svc.tokens.known(token)
    if principal is None:
        principal = await run_in_threadpool(svc.tokens.resolve, token)
    if principal is None:
        raise Unauthorized("the bearer token is unknown, revoked or expired: ask an admin for one")
    svc.take_token(token)
    return principal


async def read(svc: Services, fn: Callable[..., T], *args: Any) -> T:
    """A short read for a request (`fn` only reads). On an SQLite file it runs right here on the
    event loop, on the loop's own connection: cheaper than the hand-off to a worker thread and
    back, and it never waits for a writer (should SQLite be busy for longer than a moment, the
    read goes to a worker thread). On PostgreSQL it runs on a worker thread. Either way its
    reads share one transaction: they see the same moment."""
    if svc.reads_on_loop:
        try:
            with reads_here(svc.engine):
                return fn(*args)
        except OperationalError:  # SQLite busy (recovering the file, say): wait on a thread
            pass
    return await run_in_threadpool(_in_one_transaction, svc.engine, fn, *args)


def _in_one_transaction(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    with reads_together(engine):  # the function's reads in one transaction
        return fn(*args)


def require_admin(p: Principal) -> None:
    if p.role != "admin":
        raise Forbidden("this endpoint is for admins: call it with an admin token")


def require_role(p: Principal, *roles: str) -> None:
    if p.role != "admin" and p.role not in roles:
        raise Forbidden(
            f"this endpoint is for {' or '.join(roles)} tokens: call it with one, or with an "
            "admin token"
        )


def order_scope(p: Principal, svc: Services, order_id: str, *, reading: bool = False) -> None:
    """Who may see and change an order. Admins: every order. A channel: the orders it placed;
    and what a channel can list, it can open: the chain's own channels list a member's orders
    from every channel (`GET /v1/members/{id}/orders`), so they may read any order with a
    member, though only the channel that placed it changes it. Anything else sees no order
    (404, no leak)."""
    found = svc.read_model.order_owner(order_id)
    if found is not None and p.role == "admin":
        return
    channel, member = found if found is not None else (None, None)
    if found is None or p.role != "channel":
        raise NotFound(f"order {order_id} does not exist: check the order_id")
    if p.channel == channel:
        return
    if member is not None and p.channel in svc.settings.first_party_channels:
        if reading:
            return
        raise NotAllowedForChannel(
            f"order {order_id} was placed through {channel}: only {channel} may change it",
            details={"order_id": order_id, "channel": channel},
        )
    raise NotFound(f"order {order_id} does not exist: check the order_id")


def location_scope(p: Principal, location_id: str) -> None:
    if p.role == "admin":
        return
    if p.role != "staff" or p.location_id != location_id:
        raise Forbidden("staff act on their own location only")


def staff_part(svc: Services, p: Principal, fulfilment_id: str) -> Any:
    """The part, for the staff of its location or an admin (anyone else: it does not exist)."""
    row = svc.read_model.fulfilment(fulfilment_id)
    if row is None or (
        p.role != "admin" and (p.role != "staff" or p.location_id != row.location_id)
    ):
        raise NotFound(f"fulfilment {fulfilment_id} does not exist: check fulfilment_id")
    return row
