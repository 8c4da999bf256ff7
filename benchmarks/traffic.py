"""Simulated channels and staff over HTTP: full order lifecycles against a running stack, for
the benchmark and the process-level durability tests.

Every call retries while the stack is unreachable or answers 502/503/504 (a process restarting),
relying on the API's idempotency: the same `channel_order_id` is the same order, and the same
staff action twice is applied once.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.http import Client, Reply, TransportError

HANGZHOU = {
    "province": "Zhejiang",
    "city": "Hangzhou",
    "lat": 30.2741,
    "lng": 120.1551,
    "line1": "1 Lakeside Rd",
    "recipient": "Bench",
    "phone": "13800000001",
}
SKUS = ["MILK-1L", "BREAD-WHITE", "APPLE-1KG", "EGGS-10"]
STORES = ["S-HZ-01", "S-HZ-02"]
PICKUP_STORE = "S-HZ-01"  # S-HZ-02 is a franchise with a daily quota of 200 parts
CHANNELS = ["app", "miniprogram", "pos", "jd"]
FIRST_PARTY = ("app", "miniprogram", "pos")  # a marketplace (jd) may not spend stored value


class Watcher:
    """Sees orders reach a status by reading the order read model, once for all of them every
    50 ms: the benchmark's way of timing completions without every simulated channel polling
    `GET /v1/orders/{id}` (which would load the API with the measurement itself)."""

    def __init__(self, db_url: str) -> None:
        from adapters.db import make_engine

        self.engine = make_engine(db_url)
        self.waiting: dict[str, tuple[set[str], asyncio.Future[str]]] = {}
        self.task: asyncio.Task[None] | None = None

    async def wait(self, order_id: str, statuses: set[str], patience_s: float) -> str:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[order_id] = (statuses, fut)
        if self.task is None:
            self.task = asyncio.create_task(self._poll())
        try:
            return await asyncio.wait_for(fut, patience_s)
        except TimeoutError:
            raise RuntimeError(f"order {order_id} never reached {sorted(statuses)}") from None
        finally:
            self.waiting.pop(order_id, None)

    def _statuses(self, ids: list[str]) -> dict[str, str]:
        from sqlmodel import Session, col, select

        from adapters.tables import Order

        with Session(self.engine) as s:
            rows = s.exec(select(Order.order_id, Order.status).where(col(Order.order_id).in_(ids)))
            return dict(rows.all())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            ids = list(self.waiting)
            if not ids:
                continue
            for oid, status in (await asyncio.to_thread(self._statuses, ids)).items():
                statuses, fut = self.waiting.get(oid, (set(), None))
                if fut is not None and status in statuses and not fut.done():
                    fut.set_result(status)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.engine.dispose()


@dataclass
class Figures:
    submit_ms: list[float] = field(default_factory=list)
    action_ms: list[float] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Driver:
    """Simulated channels and staff over HTTP."""

    def __init__(
        self, urls: list[str], admin_token: str, home: Path, *, watcher: Watcher | None = None
    ) -> None:
        self.urls = urls
        self.watcher = watcher
        self.http = [Client(u, timeout=60) for u in urls]
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        tokens = json.loads((home / "tokens.json").read_text())
        self.staff = {loc: {"Authorization": f"Bearer {t}"} for loc, t in tokens["staff"].items()}
        self.channels: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.figures = Figures()
        self.orders: list[str] = []  # every order submitted, in the order they were accepted
        self.patience_s = 180.0

    async def request(
        self, i: int, method: str, url: str, *, into: list[float] | None = None, **kw: Any
    ) -> Reply:
        """One call, retried while the stack is unreachable or restarting; its latency (of the
        attempt that got an answer) goes `into` a figure."""
        http = self.client(i)
        deadline = time.monotonic() + self.patience_s
        while True:
            started = time.perf_counter()
            try:
                r = await http.request(method, url, **kw)
            except TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)
                continue
            if r.status_code in (502, 503, 504) and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                continue
            if into is not None:
                into.append((time.perf_counter() - started) * 1000)
            return r

    def client(self, i: int) -> Client:
        return self.http[i % len(self.http)]

    async def close(self) -> None:
        for c in self.http:
            await c.aclose()
        if self.watcher is not None:
            await self.watcher.close()

    async def setup(self, n_channels: int, stock: int) -> None:
        """Stock for every order, one channel token and one member per simulated channel."""
        http = self.http[0]
        for loc in [*STORES, "W-JX-CENTRAL"]:
            for sku in SKUS:
                r = await http.put(
                    f"/v1/admin/stock/{loc}/{sku}", json={"on_hand": stock}, headers=self.admin
                )
                r.raise_for_status()
        for i in range(n_channels):
            channel = CHANNELS[i % len(CHANNELS)]
            r = await http.post(
                "/v1/admin/tokens",
                json={"role": "channel", "channel": channel, "label": f"bench {i}"},
                headers=self.admin,
            )
            r.raise_for_status()
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            phone = "139" + str(random.randrange(10**8)).rjust(8, "0")
            r = await http.post(
                "/v1/members", json={"phone": phone, "name": f"Bench {i}"}, headers=headers
            )
            member = r.json() | {"phone": phone}  # a marketplace is not shown the phone
            r = await http.post(
                f"/v1/members/{member['member_id']}/stored-value",
                json={"amount": 10**9},
                headers=self.admin,
            )
            r.raise_for_status()
            self.channels.append((channel, headers, member))

    async def submit(self, k: int, i: int, *, pickup: bool, gateway: bool) -> dict[str, Any]:
        channel, headers, member = self.channels[k]
        gateway = gateway or channel not in FIRST_PARTY
        rnd = random.Random(i)
        body: dict[str, Any] = {
            "channel_order_id": f"bench-{uuid.uuid4().hex}",
            "payment_method": "wechat" if gateway else "stored_value",
            "member_phone": member["phone"],
            "lines": [
                {"sku": sku, "qty": rnd.randint(1, 3)}
                for sku in rnd.sample(SKUS, rnd.randint(1, 3))
            ],
            "fulfilment": {"mode": "pickup", "location_id": PICKUP_STORE}
            if pickup
            else {"mode": "delivery", "address": HANGZHOU},
        }
        r = await self.request(
            i, "POST", "/v1/orders", json=body, headers=headers, into=self.figures.submit_ms
        )
        if r.status_code not in (200, 201):  # 200: a retry found the order already placed
            raise RuntimeError(f"submit: {r.status_code} {r.text[:300]}")
        order: dict[str, Any] = r.json()
        self.orders.append(order["order_id"])
        if gateway:
            pay = await self.request(
                i,
                "POST",
                f"/v1/sim/payments/{order['payment']['payment_id']}",
                json={"outcome": "succeeded"},
                headers=self.admin,
            )
            if pay.status_code not in (200, 409):  # 409: told already
                raise RuntimeError(f"pay: {pay.status_code} {pay.text[:300]}")
        return order

    async def wait_for(
        self, i: int, order_id: str, headers: dict[str, str], statuses: set[str]
    ) -> dict[str, Any]:
        if self.watcher is not None:
            await self.watcher.wait(order_id, statuses, self.patience_s)
            return {}
        return await self.poll_for(i, order_id, headers, statuses)

    async def poll_for(
        self, i: int, order_id: str, headers: dict[str, str], statuses: set[str]
    ) -> dict[str, Any]:
        """The order as its channel sees it, once it has reached one of `statuses` with every
        part dispatched."""
        deadline = time.monotonic() + self.patience_s
        while time.monotonic() < deadline:
            r = await self.request(i, "GET", f"/v1/orders/{order_id}", headers=headers)
            view: dict[str, Any] = r.json()
            parts_open = all(p["status"] != "pending" for p in view["fulfilments"])
            if view["status"] in statuses and parts_open:
                return view
            await asyncio.sleep(0.1)
        raise RuntimeError(f"order {order_id} stuck at {view['status']}")

    async def act(self, i: int, fid: str, loc: str, action: str, body: dict[str, Any]) -> None:
        r = await self.request(
            i,
            "POST",
            f"/v1/fulfilments/{fid}/{action}",
            json=body,
            headers=self.staff[loc],
            into=self.figures.action_ms,
        )
        if r.status_code != 200:
            raise RuntimeError(f"{action}: {r.status_code} {r.text[:300]}")

    async def lifecycle(self, k: int, i: int, *, pickup: bool, gateway: bool, until: str) -> None:
        channel, headers, _ = self.channels[k]
        gateway = gateway or channel not in FIRST_PARTY
        order = await self.submit(k, i, pickup=pickup, gateway=gateway)
        oid = order["order_id"]
        if gateway:  # its parts reach the stores once the gateway's webhook has been received
            await self.wait_for(i, oid, headers, {"fulfilling", "completed"})
        # (a paid order's parts are dispatched at once; an action arriving in that moment waits)
        for part in order["fulfilments"]:
            fid, loc = part["fulfilment_id"], part["location_id"]
            await self.act(i, fid, loc, "accept", {})
            await self.act(i, fid, loc, "picked", {})
            if pickup:
                if until == "ready_for_pickup":
                    continue
                view = (await self.request(i, "GET", f"/v1/orders/{oid}", headers=headers)).json()
                [code] = [
                    p["pickup_code"] for p in view["fulfilments"] if p["fulfilment_id"] == fid
                ]
                await self.act(i, fid, loc, "pickup", {"code": code})
            else:
                await self.act(i, fid, loc, "ship", {"carrier": "SF", "tracking_no": f"SF{i}"})
                await self.act(i, fid, loc, "deliver", {})
        if until == "completed":
            await self.wait_for(i, oid, headers, {"completed"})
        self.figures.done_at.append(time.perf_counter())

    async def run(
        self,
        n: int,
        *,
        pickup_share: float,
        gateway_share: float,
        until: str,
        rate: float | None = None,
    ) -> float:
        """`n` lifecycles by the channels at once; returns lifecycles per second.

        Without `rate`, each channel starts its next order as soon as its last one is done (a
        closed loop: as fast as the stack allows). With `rate`, order `i` starts at `i / rate`
        seconds by channel `i mod channels`, whether or not earlier ones are done (an open loop
        at that offered load)."""
        queue = asyncio.Queue[int]()
        for i in range(n):
            queue.put_nowait(i)
        rnd = random.Random(7)
        kinds = [(rnd.random() < pickup_share, rnd.random() < gateway_share) for _ in range(n)]

        async def one(k: int, i: int) -> None:
            pickup, gateway = kinds[i]
            if until == "ready_for_pickup":
                pickup, gateway = True, False
            try:
                await self.lifecycle(k, i, pickup=pickup, gateway=gateway, until=until)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                self.figures.failures.append(str(exc))

        async def channel(k: int) -> None:
            while not queue.empty():
                await one(k, queue.get_nowait())

        async def paced(i: int, rate: float) -> None:
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            await one(i % len(self.channels), i)

        started = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(channel(k) for k in range(len(self.channels))))
        else:
            await asyncio.gather(*(paced(i, rate) for i in range(n)))
        return n / (time.perf_counter() - started)


# --- the run ------------------------------------------------------------------------------------
