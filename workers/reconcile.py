"""`oms reconcile` / `make reconcile`: read the database (and Temporal) and print every
discrepancy between money, stock and orders. Exit status 1 when there is any."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.db import make_engine, session_scope
from adapters.inventory import InventoryRepository
from adapters.settings import Settings
from domain.orders import order_workflow_id

FINAL = ("completed", "cancelled", "returned")


def check_database(engine: Engine) -> list[str]:
    problems: list[str] = []
    with session_scope(engine) as s:
        rows = s.execute(
            text(
                "SELECT o.order_id, "
                "COALESCE(MAX(CASE WHEN p.status = 'succeeded' THEN p.amount END), 0),"
                " (SELECT COALESCE(SUM(r.amount), 0) FROM refund r WHERE r.order_id = o.order_id) "
                'FROM "order" o LEFT JOIN payment p ON p.order_id = o.order_id GROUP BY o.order_id'
            )
        )
        for order_id, paid, refunded in rows:
            if int(refunded) > int(paid):
                problems.append(f"order {order_id}: refunded {refunded} fen of {paid} paid")
        rows = s.execute(
            text(
                "SELECT m.order_id, SUM(m.reserved_delta) FROM stockmovement m "
                'JOIN "order" o ON o.order_id = m.order_id '
                f"WHERE o.status IN {FINAL} "
                "GROUP BY m.order_id HAVING SUM(m.reserved_delta) <> 0"
            )
        )
        for order_id, held in rows:
            problems.append(f"order {order_id}: {held} units still reserved after it ended")
    with session_scope(engine) as s:
        rows = s.execute(
            text(
                "SELECT o.order_id, o.status, "
                "COALESCE(MAX(CASE WHEN p.status = 'succeeded' THEN p.amount END), 0), "
                "(SELECT COALESCE(SUM(r.amount), 0) FROM refund r WHERE r.order_id = o.order_id), "
                "(SELECT COALESCE(SUM(e.amount), 0) FROM settlemententry e "
                " WHERE e.order_id = o.order_id) "
                'FROM "order" o LEFT JOIN payment p ON p.order_id = o.order_id '
                f"WHERE o.status IN {FINAL} GROUP BY o.order_id, o.status"
            )
        )
        for order_id, status, paid, refunded, settled in rows:
            if int(paid) != int(refunded) + int(settled):
                problems.append(
                    f"order {order_id} ({status}): paid {paid} fen but refunded "
                    f"{refunded} + settled {settled}"
                )
        rows = s.execute(
            text(
                "SELECT t.order_id, t.net_amount, COALESCE(SUM(e.amount), 0) "
                "FROM ordersettlement t LEFT JOIN settlemententry e ON e.order_id = t.order_id "
                "GROUP BY t.order_id, t.net_amount "
                "HAVING COALESCE(SUM(e.amount), 0) <> t.net_amount"
            )
        )
        for order_id, net, entries in rows:
            problems.append(
                f"order {order_id}: settled net {net} fen but entries add up to {entries}"
            )
    for d in InventoryRepository(engine).drift():
        problems.append(
            f"stock {d['location_id']}/{d['sku']}: counters on_hand={d['on_hand']} "
            f"reserved={d['reserved']}, ledger on_hand={d['ledger_on_hand']} "
            f"reserved={d['ledger_reserved']}"
        )
    return problems


async def check_temporal(engine: Engine, client: Client) -> list[str]:
    """Every order the database says is still open has a running workflow: no lost order."""
    with session_scope(engine) as s:
        open_ids = [
            r[0]
            for r in s.execute(text(f'SELECT order_id FROM "order" WHERE status NOT IN {FINAL}'))
        ]
    problems = []
    for order_id in open_ids:
        try:
            desc = await client.get_workflow_handle(order_workflow_id(order_id)).describe()
            if desc.status is None or desc.status.name != "RUNNING":
                problems.append(f"order {order_id}: open in the database, workflow {desc.status}")
        except RPCError:
            problems.append(f"order {order_id}: open in the database, no workflow")
    return problems


async def reconcile(settings: Settings) -> list[str]:
    from workers.temporal import connect

    engine = make_engine(settings.db_url)
    problems = check_database(engine)
    problems += await check_temporal(engine, await connect(settings))
    return problems


def main() -> None:
    problems = asyncio.run(reconcile(Settings()))
    for p in problems:
        print(p)
    print(f"reconciliation: {len(problems)} discrepancies")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
