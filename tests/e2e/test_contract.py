"""The contract against the real stack (processes, as `make dev` runs them). First a walk
through every operation with real data: each answer must match its documented schema (and
becomes the operation's example). Then hostile input: schemathesis generates requests for every
operation in `/openapi.json`, valid and invalid, sent with real tokens of the right role; no
answer may be a 5xx, and every answer must match the documented status codes, content types and
schemas (errors included)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance

from tests.e2e.conftest import processes
from tests.e2e.journey import ROOT, Journey, walk
from workers.dev import Stack
from workers.temporal import connect
from workflows.messages import order_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.hostile]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The simulated warehouse works quickly; the courier leaves its parcels to the walk.
    quick = {"OMS_SIM_WMS_DELAY_S": "1", "OMS_SIM_COURIER_DELAY_S": "600"}
    with processes(tmp_path_factory.mktemp("hostile") / "oms", env=quick) as s:
        yield s


@pytest.fixture(scope="module")
def tokens(live: Stack) -> dict[str, dict[str, str]]:
    demo = json.loads((live.home / "tokens.json").read_text())

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "admin": bearer(live.settings.secret("admin_token")),
        "channel": bearer(demo["channels"]["app"]),
        "pos": bearer(demo["channels"]["pos"]),
        "staff": bearer(demo["staff"]["S-HZ-01"]),
    }


@pytest.fixture(scope="module")
def api_schema(live: Stack) -> Any:
    return schemathesis.openapi.from_url(f"{live.settings.api_base_url}/openapi.json")


def test_every_operation_answers_as_its_schema_says(
    api_schema: Any, live: Stack, tokens: dict[str, dict[str, str]]
) -> None:
    """A chain's first day through the API: every operation called with real data, as its
    users would, each answer validated against its schema by schemathesis. With
    OMS_EXAMPLES=1 (`make examples`) the answers become the contract's examples."""
    journey = Journey(api_schema, live.settings.api_base_url, dict(tokens))

    def terminate(order_id: str) -> None:
        async def run() -> None:
            client = await connect(live.settings)
            await client.get_workflow_handle(order_workflow_id(order_id)).terminate("journey")

        asyncio.run(run())

    walk(
        journey,
        webhook_secret=live.settings.secret("payment_webhook_secret"),
        callback_secrets={
            "wms": live.settings.secret("wms_callback_secret"),
            "courier": live.settings.secret("courier_callback_secret"),
        },
        gateway=live.settings.gateway_base_url,
        terminate=terminate,
    )
    operations = {f"{r.ok().method.upper()} {r.ok().path}" for r in api_schema.get_all_operations()}
    assert operations - set(journey.examples) == set(), "operations the walk did not call"
    if os.environ.get("OMS_EXAMPLES") == "1":
        journey.write()


def test_the_example_channel_runs_to_a_pickup_code(live: Stack) -> None:
    """`examples/channel.py`, as a channel's developer runs it against `make dev`: the
    catalogue, a pickup order paid in the simulator, its events, the member's pickup code."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "channel.py"),
            "--api",
            live.settings.api_base_url,
            "--home",
            str(live.home),
            "--admin-token",
            live.settings.secret("admin_token"),
            "--timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "catalogue:" in done.stdout and "event fulfilment.ready_for_pickup" in done.stdout
    assert re.search(r"pickup code for the member: \d{6}", done.stdout), done.stdout


def role_for(path: str) -> str:
    if path.startswith(("/v1/admin", "/v1/sim")) or path.endswith("/settlement"):
        return "admin"
    if path.startswith(("/v1/fulfilments", "/v1/locations")):
        return "staff"
    return "channel"


def test_every_operation_answers_within_its_contract(
    api_schema: Any, live: Stack, tokens: dict[str, dict[str, str]]
) -> None:
    """Each operation gets generated cases (both schema-valid and invalid ones); every answer is
    checked by schemathesis's default checks: not a server error, a documented status code,
    content type and headers, and a body matching the documented schema."""
    failures: dict[str, str] = {}
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Case) -> None:
            case.call_and_validate(
                base_url=live.settings.api_base_url,
                headers=tokens[role_for(case.path)],
                timeout=60,
                # Business rules beyond the schema (a staff token needs a location, ...) answer
                # 422 invalid_request as documented, so schema-valid data may be refused.
                excluded_checks=[positive_data_acceptance],
            )

        try:
            run()
        except BaseException as exc:  # every operation is tried, all failures shown
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[f"{operation.method.upper()} {operation.path}"] = str(exc)[:2000]
    assert operations >= 40
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_a_body_over_the_limit_is_refused_even_when_streamed(live: Stack, tokens: Any) -> None:
    url = f"{live.settings.api_base_url}/v1/quotes"
    big = b'{"lines": [' + b'{"sku": "MILK-1L", "qty": 1},' * 60_000 + b"]}"
    r = httpx.post(url, content=big, headers=tokens["channel"], timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = httpx.post(url, content=chunks(), headers=tokens["channel"], timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
