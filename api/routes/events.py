"""Channel events: each channel's webhook subscription, the deliveries (admin), and the feed of
events that channels poll or catch up with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from adapters.events import TYPES, EventStore, check_url
from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, require_admin, require_role, services
from api.schemas import ClientId, DeliveryStatusFilter, WebhookIn
from domain.errors import InvalidRequest

router = APIRouter(prefix="/v1", tags=["events"])
EventId = Path(max_length=40, pattern=r"^evt_[0-9a-f]+$")


def store(svc: Services) -> EventStore:
    return EventStore(svc.engine)


@router.put("/admin/channels/{channel}/webhook", response_model=answers.Webhook)
def put_webhook(
    channel: ClientId,
    body: WebhookIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Every event of the channel is POSTed to `url` from now on, signed with `secret`. With
    `OMS_ENV=production` the URL must be https and reach no private address."""
    require_admin(p)
    unknown = sorted(set(body.events) - {"*", *TYPES})
    if unknown:
        raise InvalidRequest(
            f'unknown event types {", ".join(unknown)}: use "*" or some of {", ".join(TYPES)}',
            details={"field": "events", "unknown": unknown},
        )
    check_url(body.url, production=svc.settings.env == "production")
    return store(svc).subscribe(channel, url=body.url, secret=body.secret, events=body.events)


@router.get("/admin/channels/{channel}/webhook", response_model=answers.Webhook)
def get_webhook(
    channel: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The channel's webhook subscription (its secret is never shown)."""
    require_admin(p)
    return store(svc).subscription(channel)


@router.delete("/admin/channels/{channel}/webhook", response_model=answers.WebhookRemoved)
def delete_webhook(
    channel: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """No more events are POSTed to the channel (they stay in the feed)."""
    require_admin(p)
    store(svc).unsubscribe(channel)
    return {"channel": channel, "webhook": None}


@router.get("/admin/webhook-deliveries", response_model=answers.Deliveries)
def list_deliveries(
    status: DeliveryStatusFilter | None = Query(None),
    channel: ClientId | None = None,
    limit: int = Query(100, ge=1, le=1000),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Deliveries of events to the channels' webhooks: `pending` (being retried), `failed`
    (given up after `OMS_WEBHOOK_GIVE_UP_S`), `delivered`, `skipped` (not subscribed to)."""
    require_admin(p)
    return {"deliveries": store(svc).deliveries(status=status, channel=channel, limit=limit)}


@router.post("/admin/webhook-deliveries/{delivery_id}/redeliver", response_model=answers.Delivery)
def redeliver(
    delivery_id: str = EventId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """Send an event again, at once (a failed one, or one the channel lost)."""
    require_admin(p)
    return store(svc).redeliver(delivery_id)


@router.get("/events", response_model=answers.EventFeed)
async def feed(
    after: str | None = Query(None, max_length=40, pattern=r"^evt_[0-9a-f]+$"),
    limit: int = Query(100, ge=1, le=1000),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The events oldest first (a channel its own, an admin every channel's), after the event
    `after`: the same events as the webhook's, for channels that poll or catch up."""
    require_role(p, "channel")
    channel = p.channel if p.role == "channel" else None
    events = await run_in_threadpool(store(svc).feed, channel=channel, after=after, limit=limit)
    for event in events:
        for part in (event["data"] or {}).get("fulfilments", []):
            if part.get("status") == "ready_for_pickup":
                part["pickup_code"] = svc.pickup_codes.code(part["fulfilment_id"])
    return {"events": events, "next_after": events[-1]["event_id"] if events else after}
