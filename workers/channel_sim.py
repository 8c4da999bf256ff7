"""The simulated channels' webhook receiver: its own HTTP service for development and tests, as a
marketplace or the chain's app would run one.

- `POST /hooks/{channel}` receives that channel's events: it checks the signature with the
  channel's secret (`X-OMS-Signature`, over `X-OMS-Timestamp` and the raw body) and records the
  event (a duplicate event id is recorded once); a bad signature is `401`.
- `PUT /channels/{channel}` `{"secret"}` tells it a channel's secret.
- `GET /events?channel=&type=&order_id=` lists what it received, oldest first, and `GET /`
  shows them as a page that refreshes itself.
- `PUT /faults` `{"fail": bool, "status": int, "delay_s": float}` makes it answer with an error,
  or slowly, until told otherwise.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import time
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from adapters.events import verify


class Faults(BaseModel):
    fail: bool = False
    status: int = Field(503, ge=400, le=599)
    delay_s: float = Field(0.0, ge=0, le=120)


class ChannelIn(BaseModel):
    secret: str = Field(min_length=1)


def create_channel_sim(secrets: dict[str, str] | None = None) -> Any:
    app = FastAPI(title="Simulated channels (webhook receiver)")
    state: dict[str, Any] = {
        "secrets": dict(secrets or {}),
        "faults": Faults(),
        "events": [],
        "seen": set(),
        "refused": 0,
        "attempts": 0,
    }

    @app.put("/channels/{channel}")
    async def set_channel(channel: str, body: ChannelIn) -> dict[str, str]:
        state["secrets"][channel] = body.secret
        return {"channel": channel}

    @app.put("/faults")
    async def set_faults(f: Faults) -> Faults:
        state["faults"] = f
        return f

    async def receive(channel: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        state["attempts"] += 1
        faults: Faults = state["faults"]
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        if faults.fail:
            return faults.status, b'{"error":"told to fail"}'
        secret = state["secrets"].get(channel)
        if secret is None or not verify(secret, body, headers):
            state["refused"] += 1
            return 401, b'{"error":"bad signature"}'
        event = json.loads(body)
        if event["event_id"] not in state["seen"]:
            state["seen"].add(event["event_id"])
            state["events"].append(event | {"received_at": time.time(), "hook": channel})
        return 200, b'{"received":true}'

    @app.get("/events")
    async def events(
        channel: str | None = None, type: str | None = None, order_id: str | None = None
    ) -> dict[str, Any]:
        found = [
            e
            for e in state["events"]
            if (channel is None or e["hook"] == channel)
            and (type is None or e["type"] == type)
            and (order_id is None or e["order_id"] == order_id)
        ]
        return {"events": found, "refused": state["refused"], "attempts": state["attempts"]}

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        rows = "".join(
            f"<tr><td>{time.strftime('%H:%M:%S', time.localtime(e['received_at']))}</td>"
            f"<td>{html.escape(e['hook'])}</td><td>{html.escape(e['type'])}</td>"
            f"<td>{html.escape(e.get('order_id') or '')}</td>"
            f"<td>{html.escape(_summary(e))}</td></tr>"
            for e in reversed(state["events"][-200:])
        )
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='refresh' content='2'><title>Channel events received</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}</style>"
            f"</head><body><h1>Channel events received ({len(state['events'])})</h1>"
            "<table><tr><th>at</th><th>channel</th><th>type</th><th>order</th><th>what</th></tr>"
            f"{rows}</table></body></html>"
        )

    return _Hooks(app, receive)


class _Hooks:
    """`POST /hooks/{channel}` answered straight from the ASGI messages (the receiver is the
    busiest route: it stands in for systems that run elsewhere, so it should cost the machine
    it shares with the product little); everything else goes to the FastAPI app."""

    def __init__(self, app: FastAPI, receive: Any) -> None:
        self.app, self.receive = app, receive

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith("/hooks/"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, body = await self.receive(path.removeprefix("/hooks/"), b"".join(chunks), headers)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _summary(e: dict[str, Any]) -> str:
    data = e.get("data") or {}
    if e["type"].startswith("stock."):
        return f"{data.get('sku')} at {data.get('location_id')}: {data.get('available')} left"
    return f"order {data.get('status', '')}"


def main() -> None:
    port = int(os.environ.get("OMS_CHANNEL_SIM_PORT", "8020"))
    secrets = json.loads(os.environ.get("OMS_CHANNEL_SIM_SECRETS", "{}"))
    uvicorn.run(create_channel_sim(secrets), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
