"""The simulated courier: its own HTTP service for development and tests, as a carrier's open
platform would be (one service plays every carrier, and a channel's own riders).

It issues waybills (`POST /waybills`, once per part), cancels those not yet collected, and once
a parcel is collected (`POST /waybills/{no}/collected`) reports its tracking events through
callbacks signed with `OMS_COURIER_CALLBACK_SECRET` and numbered (`seq`): on its own in the dev
stack (`in_transit` after `OMS_SIM_COURIER_DELAY_S`, `delivered` after as long again), or when
driven (`POST /waybills/{no}/events {"event": "in_transit"|"delivered"|"failed"}`, which the API
exposes to admins as `POST /v1/sim/couriers/{tracking_no}`). `GET /waybills` shows them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from adapters.settings import Settings
from adapters.signed import CallbackSender

EVENTS = ("in_transit", "delivered", "failed")
FINAL = ("delivered", "failed")


class WaybillIn(BaseModel):
    fulfilment_id: str
    carrier: str
    sender: dict[str, Any]
    recipient: dict[str, Any]
    weight_g: int = Field(ge=0)
    callback_url: str
    items: list[dict[str, Any]] = Field(default_factory=list)


class EventIn(BaseModel):
    event: str = Field(pattern="^(in_transit|delivered|failed)$")


def create_courier_sim(secret: str, *, auto_delay_s: float | None = None) -> FastAPI:
    """`auto_delay_s`: collected parcels move on their own (the dev stack); None: only when
    driven (tests)."""
    sender = CallbackSender(secret)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await sender.aclose()

    app = FastAPI(title="Simulated courier", lifespan=lifespan)
    waybills: dict[str, dict[str, Any]] = {}
    by_key: dict[str, str] = {}
    tasks: set[asyncio.Task[None]] = set()

    @app.get("/waybills")
    async def listing() -> dict[str, Any]:
        return {"waybills": list(waybills.values())}

    @app.post("/waybills", status_code=201)
    async def issue(w: WaybillIn, idempotency_key: str | None = Header(None)) -> dict[str, Any]:
        key = idempotency_key or f"waybill:{w.fulfilment_id}"
        if key in by_key:
            return waybills[by_key[key]]
        prefix = "".join(ch for ch in w.carrier.upper() if ch.isalnum())[:4] or "SIM"
        number = f"{prefix}{uuid.uuid4().int % 10**12:012d}"
        waybills[number] = {
            "tracking_no": number,
            **w.model_dump(),
            "status": "issued",
            "events": [],
        }
        by_key[key] = number
        return waybills[number]

    def waybill(number: str) -> dict[str, Any]:
        if number not in waybills:
            raise HTTPException(404, f"no waybill {number}")
        return waybills[number]

    @app.delete("/waybills/{number}")
    async def cancel(number: str) -> dict[str, Any]:
        w = waybill(number)
        if w["status"] == "issued":
            w["status"] = "cancelled"
        return w

    @app.post("/waybills/{number}/collected")
    async def collected(number: str) -> dict[str, Any]:
        w = waybill(number)
        if w["status"] == "issued":
            w["status"] = "collected"
            if auto_delay_s is not None:
                task = asyncio.create_task(move_on(number, auto_delay_s))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        return w

    @app.post("/waybills/{number}/events")
    async def drive(number: str, e: EventIn) -> dict[str, Any]:
        w = waybill(number)
        if w["status"] in ("issued", "cancelled"):
            raise HTTPException(409, f"waybill {number} is {w['status']}: the parcel is not out")
        await report(w, e.event)
        return w

    async def move_on(number: str, delay_s: float) -> None:
        for event in ("in_transit", "delivered"):
            await asyncio.sleep(delay_s)
            w = waybills[number]
            if w["status"] in FINAL:
                return
            await report(w, event)

    async def report(w: dict[str, Any], event: str) -> None:
        w["status"] = event if event in FINAL else "in_transit"
        to = w["recipient"].get("recipient") or "the recipient"
        body = {
            "event_id": f"trk_{uuid.uuid4().hex}",
            "tracking_no": w["tracking_no"],
            "seq": len(w["events"]) + 1,
            "event": event,
            "detail": {
                "in_transit": f"{w['carrier']}: on its way from {w['sender'].get('city', '')}",
                "delivered": f"{w['carrier']}: delivered to {to}",
                "failed": f"{w['carrier']}: could not be delivered; going back to the sender",
            }[event],
            "timestamp": int(time.time()),
        }
        w["events"].append(body)
        await sender.send(w["callback_url"], body)

    return app


def main() -> None:
    settings = Settings()
    app = create_courier_sim(
        settings.secret("courier_callback_secret"), auto_delay_s=settings.sim_courier_delay_s
    )
    uvicorn.run(app, host=settings.gateway_host, port=settings.courier_port, log_level="warning")


if __name__ == "__main__":
    main()
