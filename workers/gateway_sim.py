"""The simulated payment gateway: its own HTTP service for development and tests.

It keeps payments and refunds in memory, answers idempotently per Idempotency-Key, sends signed
webhooks (retried until the receiver answers 2xx) when a payment is driven to an outcome, and can
be told to fail: `PUT /faults {"error_rate", "timeout_rate", "decline_rate", "delay_s",
"refuse_refunds"}`. `POST /payments/{id}/close` closes a pending payment (it can no longer
succeed); `GET /payments` is its bill, for reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from adapters.payment_gateway import sign
from adapters.settings import Settings


class Faults(BaseModel):
    error_rate: float = Field(0.0, ge=0, le=1)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    decline_rate: float = Field(0.0, ge=0, le=1)
    delay_s: float = Field(0.0, ge=0, le=30)
    refuse_refunds: bool = False  # refuse every refund for good (409), as for a closed account
    timeout_s: float = Field(10.0, ge=0, le=120)


class PaymentIn(BaseModel):
    payment_id: str
    amount: int = Field(ge=0)
    method: str
    notify_url: str


class RefundIn(BaseModel):
    refund_id: str
    payment_id: str
    amount: int = Field(ge=0)


class OutcomeIn(BaseModel):
    outcome: str = Field(pattern="^(succeeded|failed)$")
    # A real gateway's late notice: the charge went through although the payment was closed.
    force: bool = False


def create_sim_app(secret: str, *, seed: int | None = None) -> FastAPI:
    webhooks: list[httpx.AsyncClient] = []  # one client, made on the serving loop, reused

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for client in webhooks:
            await client.aclose()

    app = FastAPI(title="Simulated payment gateway", lifespan=lifespan)
    rnd = random.Random(seed)
    state: dict[str, Any] = {
        "faults": Faults(),
        "payments": {},
        "refunds": {},
        "answers": {},
        "webhooks_sent": 0,
    }
    tasks: set[asyncio.Task[None]] = set()

    async def faulty() -> JSONResponse | None:
        """An error answered at once, or None: go on (and maybe answer late, see `late`)."""
        f: Faults = state["faults"]
        if f.delay_s:
            await asyncio.sleep(f.delay_s)
        roll = rnd.random()
        if roll < f.timeout_rate:
            state["late"] = True
            return None
        if roll < f.timeout_rate + f.error_rate:
            return JSONResponse({"error": "gateway error"}, status_code=503)
        return None

    async def late(resp: JSONResponse) -> JSONResponse:
        """A timeout fault: the work is done, but the answer comes after the caller gave up."""
        if state.pop("late", False):
            await asyncio.sleep(state["faults"].timeout_s)
            return JSONResponse({"error": "timeout"}, status_code=504)
        return resp

    def remember(key: str | None, status: int, body: dict[str, Any]) -> JSONResponse:
        if key:
            state["answers"][key] = (status, body)
        return JSONResponse(body, status_code=status)

    @app.put("/faults")
    async def set_faults(f: Faults) -> Faults:
        state["faults"] = f
        return f

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return {
            "payments": len(state["payments"]),
            "refunds": len(state["refunds"]),
            "webhooks_sent": state["webhooks_sent"],
            "duplicate_charges": state.get("duplicates", 0),
            "charged": sum(
                p["amount"] for p in state["payments"].values() if p["status"] == "succeeded"
            ),
            "refunded": sum(r["amount"] for r in state["refunds"].values()),
        }

    @app.post("/payments", status_code=201)
    async def create(p: PaymentIn, idempotency_key: str | None = Header(None)) -> JSONResponse:
        if idempotency_key in state["answers"]:
            status, body = state["answers"][idempotency_key]
            return JSONResponse(body, status_code=status)
        fault = await faulty()
        if fault is not None:
            return fault
        if rnd.random() < state["faults"].decline_rate:
            return await late(
                remember(
                    idempotency_key, 402, {"payment_id": p.payment_id, "reason": "card declined"}
                )
            )
        if p.payment_id in state["payments"]:  # a second charge for the same payment
            state["duplicates"] = state.get("duplicates", 0) + 1
        state["payments"][p.payment_id] = {**p.model_dump(), "status": "pending"}
        return await late(
            remember(
                idempotency_key,
                201,
                {
                    "payment_id": p.payment_id,
                    "status": "pending",
                    "pay_url": f"/pay/{p.payment_id}",
                },
            )
        )

    @app.get("/payments")
    async def bill() -> dict[str, Any]:
        """Every payment, with what was refunded of it (the gateway's bill)."""
        refunded: dict[str, int] = {}
        for r in state["refunds"].values():
            refunded[r["payment_id"]] = refunded.get(r["payment_id"], 0) + r["amount"]
        return {
            "payments": [
                {
                    "payment_id": pid,
                    "amount": p["amount"],
                    "status": p["status"],
                    "refunded": refunded.get(pid, 0),
                }
                for pid, p in state["payments"].items()
            ]
        }

    @app.post("/payments/{payment_id}/close")
    async def close(payment_id: str) -> JSONResponse:
        """Close a pending payment: it can no longer succeed. A payment that has already
        succeeded cannot be closed (409, with its status)."""
        payment = state["payments"].get(payment_id)
        if payment is None:
            return JSONResponse({"error": "no such payment"}, status_code=404)
        if payment["status"] == "pending":
            payment["status"] = "closed"
        if payment["status"] == "succeeded":
            return JSONResponse(
                {"error": "payment already succeeded", "status": "succeeded"}, status_code=409
            )
        return JSONResponse({"payment_id": payment_id, "status": payment["status"]})

    @app.get("/payments/{payment_id}")
    async def get(payment_id: str) -> dict[str, Any]:
        if payment_id not in state["payments"]:
            raise HTTPException(404, "no such payment")
        return state["payments"][payment_id]  # type: ignore[no-any-return]

    @app.post("/payments/{payment_id}/complete")
    async def complete(payment_id: str, o: OutcomeIn) -> Any:
        payment = state["payments"].get(payment_id)
        if payment is None:
            raise HTTPException(404, "no such payment")
        if payment["status"] == "closed" and not o.force:
            return JSONResponse(
                {"error": "payment_closed: the payment was closed and cannot succeed"},
                status_code=409,
            )
        if payment["status"] == "pending" or (payment["status"] == "closed" and o.force):
            payment["status"] = o.outcome
            event = {
                "event_id": f"evt_{uuid.uuid4().hex}",
                "payment_id": payment_id,
                "status": o.outcome,
                "amount": payment["amount"],
                "timestamp": int(time.time()),
            }
            task = asyncio.create_task(deliver(payment["notify_url"], event))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return payment  # type: ignore[no-any-return]

    @app.post("/refunds", status_code=201)
    async def refund(r: RefundIn, idempotency_key: str | None = Header(None)) -> JSONResponse:
        if idempotency_key in state["answers"]:
            status, body = state["answers"][idempotency_key]
            return JSONResponse(body, status_code=status)
        fault = await faulty()
        if fault is not None:
            return fault
        if state["faults"].refuse_refunds:
            return remember(idempotency_key, 409, {"error": "refunds refused: account closed"})
        payment = state["payments"].get(r.payment_id)
        if payment is None or payment["status"] != "succeeded":
            return await late(remember(idempotency_key, 409, {"error": "payment not refundable"}))
        done = sum(
            x["amount"] for x in state["refunds"].values() if x["payment_id"] == r.payment_id
        )
        if done + r.amount > payment["amount"]:
            return await late(remember(idempotency_key, 409, {"error": "refund exceeds payment"}))
        state["refunds"][r.refund_id] = {**r.model_dump(), "status": "succeeded"}
        return await late(remember(idempotency_key, 201, state["refunds"][r.refund_id]))

    async def deliver(url: str, event: dict[str, Any]) -> None:
        body = json.dumps(event).encode()
        headers = {"content-type": "application/json", "X-Signature": sign(secret, body)}
        if not webhooks:
            webhooks.append(httpx.AsyncClient(timeout=10))
        client = webhooks[0]
        for attempt in range(30):
            try:
                r = await client.post(url, content=body, headers=headers)
                if r.status_code < 300:
                    state["webhooks_sent"] += 1
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))

    return app


def main() -> None:
    settings = Settings()
    app = create_sim_app(settings.secret("payment_webhook_secret"))
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port, log_level="warning")


if __name__ == "__main__":
    main()
