"""Fresh food: what staff picked, read from scale labels as well as counted; and substitutions,
proposed by staff and answered by the member's channel."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends

from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, order_scope, read, require_role, services, staff_part
from api.routes.orders import update_order
from api.schemas import ClientId, DecisionIn, LinePickedIn, SubstitutionIn
from domain import barcodes
from domain.errors import InvalidRequest
from domain.orders import LineRequest, require_distinct_skus
from workflows.messages import SubstitutionAnswer, SubstitutionRequest
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/v1", tags=["fresh food"])


def picked_lines(svc: Services, lines: list[LinePickedIn]) -> list[LineRequest]:
    """Picked lines as the workflow takes them: a scale label's barcode is read as its SKU (by
    its plu) and grams (printed, or worked back from the printed price); labels of one SKU add
    up, to each other and to a counted line of it."""
    require_distinct_skus(ln.sku for ln in lines if ln.sku is not None and ln.barcode is None)
    qty: dict[str, int] = {}
    for ln in lines:
        if ln.barcode is None:
            assert ln.sku is not None and ln.qty is not None
            sku, n = ln.sku, ln.qty
        else:
            label = barcodes.scale_label(ln.barcode)
            item = svc.catalog.sku_by_plu(label.plu) if label else None
            if label is None or item is None:
                raise InvalidRequest(
                    f"no item sold by weight has the scale code in {ln.barcode}: scan the "
                    "label again, or give sku and qty",
                    details={"field": "barcode", "barcode": ln.barcode},
                )
            sku, n = item.sku, label.weight(item.price_amount)
        qty[sku] = qty.get(sku, 0) + n
    return [LineRequest(sku, n) for sku, n in qty.items()]


@router.post(
    "/fulfilments/{fulfilment_id}/substitutions",
    status_code=201,
    response_model=answers.Substitution,
)
async def propose(
    fulfilment_id: ClientId,
    body: SubstitutionIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Staff short of a line propose a replacement while picking (the part accepted, its pick
    not yet recorded): `qty` of `sku` missing, the same quantity of `with_sku` instead. The
    member's channel gets `substitution.proposed` and answers; the pick waits for the answer
    (at most `OMS_SUBSTITUTION_WAIT_S`, then the line's preference decides)."""
    row = await read(svc, staff_part, svc, p, fulfilment_id)
    req = SubstitutionRequest(
        fulfilment_id,
        body.sku,
        body.with_sku,
        body.qty,
        p.location_id if p.role == "staff" else None,
    )
    proposal = await update_order(
        svc,
        row.order_id,
        OrderWorkflow.propose_substitution,
        req,
        closed="the order is finished: it takes no substitutions",
    )
    return asdict(proposal)


@router.post(
    "/orders/{order_id}/substitutions/{substitution_id}", response_model=answers.Substitution
)
async def answer(
    order_id: ClientId,
    substitution_id: ClientId,
    body: DecisionIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The member's answer to a proposed replacement. `approve`: the replacement is reserved
    and picked, costing no more than the missing units' paid share (a cheaper one refunds the
    difference at once); `decline`: the missing units are refunded at once. Answered once."""
    require_role(p, "channel")
    await read(svc, order_scope, p, svc, order_id)
    proposal = await update_order(
        svc,
        order_id,
        OrderWorkflow.answer_substitution,
        SubstitutionAnswer(substitution_id, body.decision),
        closed="the order is finished: it takes no answers",
    )
    return asdict(proposal)
