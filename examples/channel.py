"""A channel's first integration, against a running `make dev`: list the catalogue, place a
pickup order, pay it in the simulated gateway, follow the order's events and print the member's
pickup code.

    .venv/bin/python examples/channel.py            # (make dev in another terminal)

The store's part is played by this script too (`--store-acts`, on by default, with the demo
store's staff token), so that it runs to the end on its own; with `--no-store-acts`, accept and
pick the order in the store console (http://127.0.0.1:8000/console) while it waits."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import cast

from omni_oms_client import OmsClient, OmsError
from omni_oms_client.types import Order


def main() -> int:
    args = parser().parse_args()
    home = Path(args.home)
    tokens = json.loads((home / "tokens.json").read_text())
    app = OmsClient(args.api, tokens["channels"][args.channel])

    # 1. What is sold, and where members may collect.
    print("catalogue:")
    skus = list(app.all_skus())
    for item in skus[:5]:
        print(f"  {item['sku']:<12} {item['name']:<24} {item['price_amount'] / 100:>7.2f} yuan")
    stores = app.locations(pickup=True)["items"]
    store = next((s for s in stores if s["location_id"] == args.store), stores[0])
    print(f"pickup at {store['location_id']} ({store['name']}, {store['city']})")

    # 2. Where the channel's event feed stands now: the events after it are this order's.
    after = None
    while True:
        page = app.events(after=after, limit=1000)
        if not page["events"]:
            break
        after = page["next_after"]

    # 3. The order, paid by WeChat: it waits for the gateway.
    sku = next((s for s in skus if s["sku"] == args.sku), skus[0])
    try:
        order = app.place_order(
            f"EXAMPLE-{uuid.uuid4().hex[:10]}",
            [{"sku": sku["sku"], "qty": 2}],
            {"mode": "pickup", "location_id": store["location_id"]},
            payment_method="wechat",
            member_phone=args.phone,
        )
    except OmsError as err:  # the message says what to change
        print(f"refused: {err.code}: {err.message}", file=sys.stderr)
        return 1
    oid, payment = order["order_id"], order["payment"]
    assert payment is not None
    print(
        f"order {oid}: {order['status']}, {payment['amount'] / 100:.2f} yuan by {payment['method']}"
    )

    # 4. The member pays (here, the simulated gateway is told so; an admin call).
    admin_token = args.admin_token or (home / "admin_token").read_text().strip()
    admin = OmsClient(args.api, admin_token)
    admin.simulate_payment(payment["payment_id"], "succeeded")

    # 5. Follow the order's events until its part waits for the member.
    staff = OmsClient(args.api, tokens["staff"][store["location_id"]])
    for event in app.follow_events(after=after, poll_s=0.5, timeout_s=args.timeout):
        if event["order_id"] != oid:
            continue
        print(f"  event {event['type']}")
        parts = cast(Order, event["data"])["fulfilments"]  # an order's event carries the order
        if event["type"] == "fulfilment.dispatched" and args.store_acts:
            fid = parts[0]["fulfilment_id"]
            staff.accept(fid)  # the store's staff, in the console or on their handheld
            staff.picked(fid, [{"sku": sku["sku"], "qty": 2}])
        if event["type"] == "fulfilment.ready_for_pickup":
            print(f"pickup code for the member: {parts[0]['pickup_code']}")
            return 0
    print(f"no pickup code within {args.timeout} s: is the store picking it?", file=sys.stderr)
    return 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", default="http://127.0.0.1:8000")
    p.add_argument("--home", default=".oms", help="where make dev keeps its tokens")
    p.add_argument(
        "--admin-token",
        default=os.environ.get("OMS_ADMIN_TOKEN"),
        help="for the simulated gateway (default: OMS_ADMIN_TOKEN, else HOME/admin_token)",
    )
    p.add_argument("--channel", default="app")
    p.add_argument("--store", default="S-HZ-01")
    p.add_argument("--sku", default="MILK-1L")
    p.add_argument("--phone", default="13800000003", help="the member's phone")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--store-acts", action=argparse.BooleanOptionalAction, default=True)
    return p


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.1f} s)")
    sys.exit(code)
