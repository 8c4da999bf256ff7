"""`oms reconcile` / `make reconcile`: read the database, the payment gateway's bill and Temporal,
and print every discrepancy between money, stock and orders. Exit status 1 when there is any.

What it checks:
- money: every ended order's succeeded payments equal its refunds plus its settlement; no order
  refunds more than was paid; a settled order's entries add up to its net;
- loose ends: a refund the tender refused for good (`failed`) until operations close it; a
  charge at the gateway for no order, or for an order that is not going ahead, not refunded;
- stock: counters agree with the movement ledger; no ended order still holds a reservation;
- Temporal: every order open in the database has a running workflow (else `oms repair`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from activities.contracts import order_workflow_id
from adapters.db import make_engine, read_scope
from adapters.inventory import InventoryRepository
from adapters.payment_gateway import GatewayUnavailable, HttpPaymentGateway, PaymentGateway
from adapters.read_model import late_refund_id
from adapters.settings import Settings

FINAL = ("completed", "cancelled", "returned")
PAID = (
    "(SELECT COALESCE(SUM(p.amount), 0) FROM payment p "
    "WHERE p.order_id = o.order_id AND p.status = 'succeeded')"
)
REFUNDED = (
    "(SELECT COALESCE(SUM(r.amount), 0) FROM refund r "
    "WHERE r.order_id = o.order_id AND r.status <> 'failed')"
)
SETTLED = "(SELECT COALESCE(SUM(e.amount), 0) FROM settlemententry e WHERE e.order_id = o.order_id)"


def check_database(engine: Engine) -> list[str]:
    problems: list[str] = []
    with read_scope(engine) as s:
        for order_id, paid, refunded in s.execute(
            text(f'SELECT o.order_id, {PAID}, {REFUNDED} FROM "order" o')
        ):
            if int(refunded) > int(paid):
                problems.append(f"order {order_id}: refunded {refunded} fen of {paid} paid")
        for order_id, held in s.execute(
            text(
                "SELECT m.order_id, SUM(m.reserved_delta) FROM stockmovement m "
                'JOIN "order" o ON o.order_id = m.order_id '
                f"WHERE o.status IN {FINAL} "
                "GROUP BY m.order_id HAVING SUM(m.reserved_delta) <> 0"
            )
        ):
            problems.append(f"order {order_id}: {held} units still reserved after it ended")
        for order_id, status, paid, refunded, settled in s.execute(
            text(
                f'SELECT o.order_id, o.status, {PAID}, {REFUNDED}, {SETTLED} FROM "order" o '
                f"WHERE o.status IN {FINAL}"
            )
        ):
            if int(paid) != int(refunded) + int(settled):
                problems.append(
                    f"order {order_id} ({status}): paid {paid} fen but refunded "
                    f"{refunded} + settled {settled}"
                )
        for order_id, net, entries in s.execute(
            text(
                "SELECT t.order_id, t.net_amount, COALESCE(SUM(e.amount), 0) "
                "FROM ordersettlement t LEFT JOIN settlemententry e ON e.order_id = t.order_id "
                "GROUP BY t.order_id, t.net_amount "
                "HAVING COALESCE(SUM(e.amount), 0) <> t.net_amount"
            )
        ):
            problems.append(
                f"order {order_id}: settled net {net} fen but entries add up to {entries}"
            )
        for refund_id, order_id, amount, detail in s.execute(
            text("SELECT refund_id, order_id, amount, detail FROM refund WHERE status = 'failed'")
        ):
            problems.append(
                f"refund {refund_id} of order {order_id} ({amount} fen) failed: {detail}; once "
                "settled by hand, close it: POST /v1/admin/refunds/{refund_id}/close"
            )
    for d in InventoryRepository(engine).drift():
        problems.append(
            f"stock {d['location_id']}/{d['sku']}: counters on_hand={d['on_hand']} "
            f"reserved={d['reserved']}, ledger on_hand={d['ledger_on_hand']} "
            f"reserved={d['ledger_reserved']}"
        )
    return problems


def check_gateway(engines: Sequence[Engine], gateway: PaymentGateway) -> list[str]:
    """Every charge the gateway kept (succeeded, not refunded) belongs to an order that is going
    ahead, as the payment that order counts; anything else must have been refunded."""
    try:
        bill = gateway.payments()
    except GatewayUnavailable as exc:
        return [f"the payment gateway's bill could not be read ({exc}): charges not checked"]
    known: dict[str, tuple[str, str, bool]] = {}  # payment -> (order, status, counted)
    for engine in engines:
        with read_scope(engine) as s:
            rows = s.execute(
                text(
                    "SELECT p.payment_id, p.order_id, o.status, p.status FROM payment p "
                    'JOIN "order" o ON o.order_id = p.order_id ORDER BY p.created_at, p.payment_id'
                )
            )
            late = {r[0] for r in s.execute(text("SELECT refund_id FROM refund"))}
            orders: set[str] = set()
            for payment_id, order_id, status, paid_status in rows:
                kept = (
                    paid_status == "succeeded" and late_refund_id(order_id, payment_id) not in late
                )
                first = kept and order_id not in orders
                if first:
                    orders.add(order_id)
                known[payment_id] = (order_id, status, first)
    problems = []
    for p in bill:
        kept = int(p["amount"]) - int(p.get("refunded", 0))
        if p["status"] != "succeeded" or kept <= 0:
            continue
        found = known.get(p["payment_id"])
        if found is None:
            problems.append(f"gateway charge {p['payment_id']} ({kept} fen kept) has no order")
            continue
        order_id, status, counted = found
        if status == "cancelled" or not counted:
            why = "was cancelled" if status == "cancelled" else "counts another payment"
            problems.append(
                f"gateway charge {p['payment_id']} keeps {kept} fen for order {order_id}, "
                f"which {why}: it should have been refunded"
            )
    return problems


async def check_temporal(engine: Engine, client: Client) -> list[str]:
    """Every order the database says is still open has a running workflow: no lost order."""
    with read_scope(engine) as s:
        open_ids = [
            r[0]
            for r in s.execute(text(f'SELECT order_id FROM "order" WHERE status NOT IN {FINAL}'))
        ]
    problems = []
    for order_id in open_ids:
        try:
            desc = await client.get_workflow_handle(order_workflow_id(order_id)).describe()
            if desc.status is None or desc.status.name != "RUNNING":
                problems.append(
                    f"order {order_id}: open in the database, workflow {desc.status}; "
                    "run `oms repair`"
                )
        except RPCError:
            problems.append(f"order {order_id}: open in the database, no workflow")
    return problems


class CannotReconcile(Exception):
    """Nothing can be checked: the database has no orders' tables."""


async def reconcile(settings: Settings) -> list[str]:
    from workers.temporal import TemporalUnreachable, connect

    engine = make_engine(settings.db_url)
    if not inspect(engine).has_table("order"):
        shown = make_url(settings.db_url).render_as_string(hide_password=True)
        raise CannotReconcile(
            f"the database {shown} has no orders' tables: start the stack (`make dev`) or "
            "bring it to the schema (`oms migrate`), and set OMS_DATABASE_URL to the one to check"
        )
    problems = check_database(engine)
    problems += check_gateway([engine], HttpPaymentGateway(settings.gateway_base_url))
    try:
        client = await connect(settings)
    except TemporalUnreachable as exc:
        return [*problems, f"{exc}: workflows not checked"]
    return problems + await check_temporal(engine, client)


def main() -> None:
    try:
        problems = asyncio.run(reconcile(Settings()))
    except CannotReconcile as exc:
        print(f"reconciliation: {exc}", file=sys.stderr)
        sys.exit(2)
    for p in problems:
        print(p)
    print(f"reconciliation: {len(problems)} discrepancies")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
