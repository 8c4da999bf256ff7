"""The channel client (`client/`) stays in step with the API: its types are what the OpenAPI
document says today, every operation a channel calls has its method returning the documented
answer, its event check accepts what the platform signs, and it needs nothing but httpx."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from omni_oms_client import InvalidEvent, verify_event
from omni_oms_client.client import OPERATIONS, OmsClient

from adapters.events import signature

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
NOT_FOR_CHANNELS = (
    "/v1/admin",
    "/v1/codec",
    "/v1/payments/webhook",
    "/v1/callbacks",
    "/healthz",
    "/readyz",
)


def generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "client_generate", ROOT / "client" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return generator().openapi()  # type: ignore[no-any-return]


def test_the_types_are_the_api_schemas_of_today(openapi: dict[str, Any]) -> None:
    gen = generator()
    fresh = gen.formatted(gen.render(openapi))
    assert fresh == gen.OUT.read_text(), "the API changed: run `make client`"


def channel_operations(openapi: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, ops in openapi["paths"].items()
        for method, op in ops.items()
        if not path.startswith(NOT_FOR_CHANNELS)
        and path not in ("/metrics", "/v1/orders/{order_id}/settlement")
    }


def test_every_operation_a_channel_calls_has_a_method(openapi: dict[str, Any]) -> None:
    assert set(OPERATIONS) == set(channel_operations(openapi))


def test_each_method_returns_the_documented_answer(openapi: dict[str, Any]) -> None:
    for key, op in channel_operations(openapi).items():
        ok = next(r for status, r in op["responses"].items() if status.startswith("2"))
        annotation = getattr(OmsClient, OPERATIONS[key]).__annotations__["return"]
        if "application/json" not in ok["content"]:  # a document (the label's PDF)
            assert annotation == "bytes", key
            continue
        schema = ok["content"]["application/json"]["schema"]
        refs = [s["$ref"] for s in schema.get("anyOf", [schema])]
        documented = {ref.rsplit("/", 1)[1] for ref in refs}
        returned = {part.strip().removeprefix("t.") for part in annotation.split("|")}
        assert returned == documented, key


def test_an_event_the_platform_signs_is_accepted_and_a_tampered_one_is_not() -> None:
    body = json.dumps({"event_id": "evt_1", "type": "order.paid", "data": {}}).encode()
    now = int(time.time())
    headers = {"X-OMS-Timestamp": str(now), "X-OMS-Signature": signature("s3cret", now, body)}
    assert verify_event("s3cret", headers, body)["event_id"] == "evt_1"
    for secret, raw, at in (
        ("other", body, now),
        ("s3cret", body.replace(b"paid", b"cancelled"), now),
        ("s3cret", body, now + 301),
    ):
        with pytest.raises(InvalidEvent):
            verify_event(secret, headers, raw, now=at)
    with pytest.raises(InvalidEvent, match="missing"):
        verify_event("s3cret", {}, body)


def test_the_client_needs_nothing_but_httpx() -> None:
    allowed = set(sys.stdlib_module_names) | {"httpx", "omni_oms_client", "__future__"}
    for path in (ROOT / "client" / "omni_oms_client").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, (path.name, names)
    pyproject = (ROOT / "client" / "pyproject.toml").read_text()
    assert 'dependencies = ["httpx>=0.27"]' in pyproject
