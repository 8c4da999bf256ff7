"""Members: registration from any channel, the member card, stored value and order history."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, require_role, services
from api.schemas import ClientId, MemberIn, TopUpIn
from domain.errors import Forbidden, NotFound

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.post(
    "",
    status_code=201,
    response_model=answers.Member | answers.MemberBrief,
    responses={
        200: {
            "model": answers.Member | answers.MemberBrief,
            "description": "the member with this phone already existed",
        }
    },
)
def register(
    body: MemberIn,
    response: Response,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The member with this phone: created (`201`), or found and linked to the calling channel's
    `external_id` (`200`). A different name for the same phone is kept as a conflict for
    operations, never overwritten. A marketplace learns only `{member_id, tier}`."""
    require_role(p, "channel")
    channel = p.channel or "admin"
    member_id, created = svc.members.register(
        body.phone, name=body.name, channel=channel, external_id=body.external_id
    )
    response.status_code = 201 if created else 200
    if not first_party(svc, p):  # a marketplace learns the id and tier, nothing more
        view = svc.members.view(member_id)
        return {"member_id": view["member_id"], "tier": view["tier"]}
    return svc.members.view(member_id)


def first_party(svc: Services, p: Principal) -> bool:
    """Admins and the chain's own channels (`OMS_FIRST_PARTY_CHANNELS`) see whole members."""
    return p.role == "admin" or (
        p.role == "channel" and p.channel in svc.settings.first_party_channels
    )


def member_as_seen(svc: Services, p: Principal, member_id: str) -> dict[str, Any]:
    """The whole member for the chain's own channels and admins; for a marketplace, only the id
    and the tier of a member linked to it (nothing that identifies or pays)."""
    view = svc.members.view(member_id)
    if first_party(svc, p):
        return view
    if not any(link["channel"] == p.channel for link in view["channels"]):
        raise NotFound(f"member {member_id} does not exist")
    return {"member_id": view["member_id"], "tier": view["tier"]}


@router.get("/{member_id}", response_model=answers.Member | answers.MemberBrief)
def get_member(
    member_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The member. A marketplace sees only members linked to it (registered through it with
    their id there), and only `{"member_id", "tier"}`."""
    require_role(p, "channel")
    return member_as_seen(svc, p, member_id)


@router.post("/{member_id}/stored-value", response_model=answers.Member)
def top_up(
    member_id: ClientId,
    body: TopUpIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Add to the member's prepaid balance (fen), at the till (`pos`) or by an admin; `topup_id`
    makes a retried top-up count once."""
    if p.role != "admin" and not (p.role == "channel" and p.channel == "pos"):
        raise Forbidden(
            "stored value is topped up at the till (pos) or by an admin: use a pos channel "
            "token or an admin token"
        )
    key = f"topup:{p.channel or 'admin'}:{body.topup_id}" if body.topup_id else None
    svc.members.top_up(member_id, body.amount, key=key or f"topup:{uuid.uuid4().hex}")
    return svc.members.view(member_id)


@router.get("/{member_id}/orders", response_model=answers.OrderPage)
def member_orders(
    member_id: ClientId,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=500),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The member's orders, newest first. The chain's own channels (`OMS_FIRST_PARTY_CHANNELS`:
    app, mini-program, till) see them from every channel; a marketplace sees only the orders
    placed through it."""
    require_role(p, "channel")
    svc.members.view(member_id)  # 404 for an unknown member
    own = None
    if p.role == "channel" and p.channel not in svc.settings.first_party_channels:
        own = p.channel
    orders, nxt = svc.read_model.list_orders(
        member_id=member_id, channel=own, limit=limit, cursor=cursor
    )
    return {"orders": orders, "next_cursor": nxt}
