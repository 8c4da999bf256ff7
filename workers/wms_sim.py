"""The simulated warehouse execution system (WMS): its own HTTP service for development and
tests, as a warehouse's real one would be.

It takes each part's notice (`POST /notices`, once per part), and after `OMS_SIM_WMS_DELAY_S`
reports the part `picked` (with any shortage), and after as long again `shipped` with the
carrier and the waybill, through callbacks signed with `OMS_WMS_CALLBACK_SECRET` and numbered
(`seq`) so that the platform applies them in order, once. `POST /notices/{id}/stop` stops a part
that has not shipped ("stopped"), or answers "too_late". `GET /notices` shows what it received
and reported. Tests steer it: `PUT /faults {"hold", "short", "duplicate", "reverse"}` and
`POST /notices/{id}/advance` (one step now), `POST /notices/{id}/resend` (every report again).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from adapters.settings import Settings
from adapters.signed import CallbackSender


class Faults(BaseModel):
    hold: bool = False  # keep every notice until it is advanced by hand
    short: dict[str, int] = Field(default_factory=dict)  # SKU -> units the shelves lack
    duplicate: bool = False  # send every callback twice
    reverse: bool = False  # send `shipped` before `picked`
    mute: bool = False  # send nothing (a network cut): `POST /notices/{id}/resend` sends it


class NoticeIn(BaseModel):
    order_id: str
    fulfilment_id: str
    location_id: str
    mode: str
    lines: list[dict[str, Any]]
    carrier: str | None = None
    waybill: str | None = None
    address: dict[str, Any] | None = None
    callback_url: str


def create_wms_sim(secret: str, *, delay_s: float = 5.0) -> FastAPI:
    sender = CallbackSender(secret)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await sender.aclose()

    app = FastAPI(title="Simulated warehouse execution system", lifespan=lifespan)
    state: dict[str, Any] = {"faults": Faults(), "notices": {}}
    tasks: dict[str, asyncio.Task[None]] = {}

    @app.put("/faults")
    async def set_faults(f: Faults) -> Faults:
        state["faults"] = f
        return f

    @app.get("/notices")
    async def notices() -> dict[str, Any]:
        return {"notices": list(state["notices"].values())}

    @app.post("/notices", status_code=202)
    async def receive(n: NoticeIn) -> dict[str, Any]:
        known = state["notices"].get(n.fulfilment_id)
        if known is None:
            known = state["notices"][n.fulfilment_id] = {
                **n.model_dump(),
                "status": "received",
                "sent": [],
                "received_at": time.time(),
            }
            if not state["faults"].hold:
                tasks[n.fulfilment_id] = asyncio.create_task(run(n.fulfilment_id))
        return {"fulfilment_id": n.fulfilment_id, "status": known["status"]}

    @app.post("/notices/{fid}/stop")
    async def stop(fid: str) -> dict[str, Any]:
        notice = state["notices"].get(fid)
        if notice is None:
            raise HTTPException(404, f"no notice for {fid}")
        if notice["status"] in ("shipped", "handed_over"):
            return {"fulfilment_id": fid, "result": "too_late"}
        task = tasks.pop(fid, None)
        if task is not None:
            task.cancel()
        notice["status"] = "stopped"
        return {"fulfilment_id": fid, "result": "stopped"}

    @app.post("/notices/{fid}/advance")
    async def advance(fid: str) -> dict[str, Any]:
        notice = state["notices"].get(fid)
        if notice is None:
            raise HTTPException(404, f"no notice for {fid}")
        await step(notice)
        return {"fulfilment_id": fid, "status": notice["status"]}

    @app.post("/notices/{fid}/resend")
    async def resend(fid: str) -> dict[str, Any]:
        notice = state["notices"].get(fid)
        if notice is None:
            raise HTTPException(404, f"no notice for {fid}")
        for body in notice["sent"]:
            await sender.send(notice["callback_url"], body)
        return {"fulfilment_id": fid, "resent": len(notice["sent"])}

    async def run(fid: str) -> None:
        notice = state["notices"][fid]
        while notice["status"] not in ("shipped", "handed_over", "stopped"):
            await asyncio.sleep(delay_s)
            await step(notice)

    async def step(notice: dict[str, Any]) -> None:
        """The part's next step, reported: picked (with shortages), then shipped."""
        f: Faults = state["faults"]
        if notice["status"] == "received":
            if f.reverse and notice["mode"] == "delivery":
                notice["status"] = "shipped"
                await report(notice, shipped(notice))
                await report(notice, picked(notice, f))
                return
            notice["status"] = "picked" if notice["mode"] == "delivery" else "handed_over"
            await report(notice, picked(notice, f))
        elif notice["status"] == "picked":
            notice["status"] = "shipped"
            await report(notice, shipped(notice))

    def picked(notice: dict[str, Any], f: Faults) -> dict[str, Any]:
        lines = [
            {"sku": ln["sku"], "qty": max(0, ln["qty"] - f.short.get(ln["sku"], 0))}
            for ln in notice["lines"]
        ]
        return {"seq": 1, "type": "picked", "lines": lines}

    def shipped(notice: dict[str, Any]) -> dict[str, Any]:
        waybill = notice["waybill"] or f"WMS{uuid.uuid4().hex[:10].upper()}"
        return {"seq": 2, "type": "shipped", "carrier": notice["carrier"], "waybill": waybill}

    async def report(notice: dict[str, Any], event: dict[str, Any]) -> None:
        body = {
            "event_id": f"wms_{uuid.uuid4().hex}",
            "fulfilment_id": notice["fulfilment_id"],
            "timestamp": int(time.time()),
            **event,
        }
        notice["sent"].append(body)
        if state["faults"].mute:
            return
        times = 2 if state["faults"].duplicate else 1
        for _ in range(times):
            await sender.send(notice["callback_url"], body)

    return app


def main() -> None:
    settings = Settings()
    app = create_wms_sim(settings.secret("wms_callback_secret"), delay_s=settings.sim_wms_delay_s)
    uvicorn.run(app, host=settings.gateway_host, port=settings.wms_port, log_level="warning")


if __name__ == "__main__":
    main()
