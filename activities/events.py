"""The channel-events pump: a long-running activity (heartbeating, so that a dead worker's pump is
taken over by another) that publishes sold-out changes and POSTs each channel's events to its
webhook, signed, at least once and in order per order, with retries and backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from temporalio import activity

from adapters.catalog import CatalogRepository
from adapters.events import (
    EventStore,
    Subscription,
    encode,
    event_body,
    event_bytes,
    signature,
)
from adapters.http import Client, TransportError
from adapters.pickup_codes import PickupCodes

SUBSCRIPTIONS_EVERY_S = 2.0  # how often the pump reads the subscriptions again
BUSY_GAP_S = 0.1  # the pause between two rounds of work: sends come in batches
STOCK_EVERY_S = 0.5  # how often touched stock is looked at (sold out is told within seconds)


@dataclass
class PumpConfig:
    run_s: float = 300.0  # the activity returns after this, and the workflow starts it again
    poll_s: float = 0.2  # how long it sleeps when there is nothing to do
    timeout_s: float = 10.0  # a receiver's answer is awaited this long
    retry_max_s: int = 600  # the longest wait between two attempts of an event
    give_up_s: int = 86_400  # after this an event that still fails is `failed`
    concurrency: int = 64  # order streams sent to at once


@dataclass
class PumpResult:
    sent: int = 0
    failed_attempts: int = 0
    stock_events: int = 0


class EventActivities:
    def __init__(
        self,
        store: EventStore,
        catalog: CatalogRepository,
        codes: PickupCodes,
        *,
        first_party: list[str],
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.codes = codes
        self.first_party = first_party

    def all(self) -> list[Callable[..., Any]]:
        return [self.pump_events]

    @activity.defn
    async def pump_events(self, cfg: PumpConfig) -> PumpResult:
        pump = _Pump(self, cfg)
        try:
            return await pump.run()
        finally:
            await pump.close()


class _Pump:
    def __init__(self, acts: EventActivities, cfg: PumpConfig) -> None:
        self.acts, self.cfg = acts, cfg
        self.clients: dict[str, Client] = {}  # one per receiver (scheme, host and port)
        self.done: list[tuple[str, datetime]] = []  # delivered, to record
        self.unrecorded: set[str] = set()  # delivered, not recorded yet: not to send again
        self.result = PumpResult()
        self.inflight: dict[str, asyncio.Task[None]] = {}  # stream -> its send
        self.subs: dict[str, Subscription] = {}
        self._subs_at = 0.0
        self._selling: dict[str, list[str]] = {}  # location -> channels, read with the subs
        self._stock_at = 0.0

    async def run(self) -> PumpResult:
        deadline = time.monotonic() + self.cfg.run_s
        while time.monotonic() < deadline:
            activity.heartbeat(self.result.sent)
            busy = await self.stock_due() + await self.record_done() + await self.send_due()
            # idle: look again in a while; busy: in a moment, so that work comes in batches
            await asyncio.sleep(self.cfg.poll_s if not busy else BUSY_GAP_S)
        if self.inflight:
            await asyncio.gather(*self.inflight.values(), return_exceptions=True)
        await self.record_done()
        return self.result

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def record_done(self) -> int:
        done, self.done = self.done, []
        await asyncio.to_thread(self.acts.store.delivered, done)
        self.unrecorded -= {eid for eid, _ in done}
        return len(done)

    async def subscriptions(self) -> dict[str, Subscription]:
        if time.monotonic() - self._subs_at > SUBSCRIPTIONS_EVERY_S:
            subs = await asyncio.to_thread(self.acts.store.subscriptions)
            self.subs = {s.channel: s for s in subs}
            await asyncio.to_thread(self.acts.store.skip_unwanted, self.subs)
            self._selling = {}
            self._subs_at = time.monotonic()
        return self.subs

    async def stock_due(self) -> int:
        if time.monotonic() - self._stock_at < STOCK_EVERY_S:
            return 0
        self._stock_at = time.monotonic()
        return await self.stock()

    async def stock(self) -> int:
        """Publish the sold-out state of every (location, SKU) touched since last time."""
        touched = await asyncio.to_thread(self.acts.store.touched)
        for location_id in {loc for loc, _, _ in touched} - set(self._selling):
            self._selling[location_id] = await asyncio.to_thread(
                self.acts.catalog.selling_channels, location_id, self.acts.first_party
            )
        self.result.stock_events += await asyncio.to_thread(
            self.acts.store.publish_stock, touched, self._selling
        )
        return len(touched)

    async def send_due(self) -> int:
        subs = await self.subscriptions()
        room = self.cfg.concurrency - len(self.inflight)
        if room <= 0 or not subs:
            return 0
        due = await asyncio.to_thread(
            self.acts.store.due, subs, now=datetime.now(UTC), limit=room + len(self.inflight)
        )
        started = 0
        for row in due:
            if row.stream in self.inflight or row.event_id in self.unrecorded or started >= room:
                continue
            self.inflight[row.stream] = asyncio.create_task(self._send(row, subs[row.channel]))
            started += 1
        return started

    async def _send(self, row: Any, sub: Subscription) -> None:
        try:
            await self.send(row, sub)
        finally:
            self.inflight.pop(row.stream, None)

    async def send(self, row: Any, sub: Subscription) -> None:
        if row.order_id and '"ready_for_pickup"' in row.data:  # the member's app shows the code
            event = event_body(row)
            for part in event["data"].get("fulfilments", []):
                if part.get("status") == "ready_for_pickup":
                    part["pickup_code"] = self.acts.codes.code(part["fulfilment_id"])
            body = encode(event)
        else:
            body = event_bytes(row)
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-OMS-Event-Id": row.event_id,
            "X-OMS-Timestamp": str(ts),
            "X-OMS-Signature": signature(sub.secret, ts, body),
        }
        try:
            origin, path = _split(sub.url)
            client = self.clients.get(origin)
            if client is None:
                client = self.clients[origin] = Client(origin, timeout=self.cfg.timeout_s)
            r = await client.post(path, content=body, headers=headers)
            if 200 <= r.status_code < 300:
                self.done.append((row.event_id, datetime.now(UTC)))
                self.unrecorded.add(row.event_id)
                self.result.sent += 1
                return
            error = f"HTTP {r.status_code}"
        except (TransportError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        self.result.failed_attempts += 1
        await asyncio.to_thread(
            lambda: self.acts.store.not_delivered(
                row.event_id,
                at=datetime.now(UTC),
                error=error,
                retry_max_s=self.cfg.retry_max_s,
                give_up_s=self.cfg.give_up_s,
            )
        )


def _split(url: str) -> tuple[str, str]:
    """(scheme://host:port, /path?query) of a webhook URL."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc}", path
