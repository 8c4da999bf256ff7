"""The OpenAPI document as channels' developers read it: the bearer scheme on every operation
that takes a token, and each operation's example request and answer (real ones, recorded by
`make examples` from a walk through every operation: `api/examples.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

EXAMPLES = Path(__file__).with_name("examples.json")
REF_TEMPLATE = "#/components/schemas/{model}"  # for a body schema written out by hand
UNSIGNED = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/payments/webhook",
    "/v1/callbacks/wms",
    "/v1/callbacks/courier",
}
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "`Authorization: Bearer <token>`: an admin token (`OMS_ADMIN_TOKEN`), or a "
    "channel or staff token an admin made with `POST /v1/admin/tokens`.",
}


def examples() -> dict[str, dict[str, Any]]:
    return json.loads(EXAMPLES.read_text()) if EXAMPLES.exists() else {}  # type: ignore[no-any-return]


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    spec.setdefault("components", {})["securitySchemes"] = {"bearer": BEARER}
    known = examples()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            hoist(op, spec["components"].setdefault("schemas", {}))
            op["security"] = [] if path in UNSIGNED else [{"bearer": []}]
            example = known.get(f"{method.upper()} {path}")
            if example is not None:
                add_example(op, example)
    return spec


def hoist(op: dict[str, Any], components: dict[str, Any]) -> None:
    """The nested models of a body schema written out by hand (`$defs`) into the document's
    components, where its references point (`REF_TEMPLATE`)."""
    for content in op.get("requestBody", {}).get("content", {}).values():
        components.update(content.get("schema", {}).pop("$defs", {}))


def add_example(op: dict[str, Any], example: dict[str, Any]) -> None:
    """The recorded request into the request body's, the answer into its status's content."""
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and example.get("request") is not None:
        body["example"] = example["request"]
    answer = op.get("responses", {}).get(str(example["status"]))
    if answer is None or example.get("answer") is None:
        return
    content = answer.setdefault("content", {})
    kind = next(iter(content), "application/json")
    content.setdefault(kind, {})["example"] = example["answer"]
