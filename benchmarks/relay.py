"""A bare HTTP front for `make bench-primitives`: what an HTTP call into a workflow costs.

The order API's channels and staff reach their order through FastAPI, served by uvicorn, which
calls Temporal with the project's client: a submission is an update-with-start, a staff action
an update. This app does only that, with no database, no authentication and no validation
beyond FastAPI's own, so its CPU per call is the least any such call can cost on this stack.

Run as its own process, like the API: `python -m benchmarks.relay PORT TEMPORAL_ADDRESS`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from workers.temporal import DATA_CONVERTER

TASK_QUEUE = "primitives"


def create_relay(address: str) -> FastAPI:
    app = FastAPI()
    clients: list[Client] = []

    async def client() -> Client:
        if not clients:
            clients.append(await Client.connect(address, data_converter=DATA_CONVERTER))
        return clients[0]

    @app.post("/orders/{wid}")
    async def submit(wid: str, body: dict[str, Any]) -> dict[str, Any]:
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            "PrimitiveOrder",
            body["shape"],
            id=wid,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        c = await client()
        ok = await c.execute_update_with_start_workflow(
            "submit", start_workflow_operation=start, result_type=bool
        )
        return {"order": wid, "accepted": ok}

    @app.post("/orders/{wid}/actions")
    async def act(wid: str, body: dict[str, Any]) -> dict[str, Any]:
        c = await client()
        n = await c.get_workflow_handle(wid).execute_update(
            "act", bool(body.get("upsert")), result_type=int
        )
        return {"order": wid, "step": n}

    return app


def main() -> None:
    port, address = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(create_relay(address), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
