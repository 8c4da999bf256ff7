"""The product's copy of the public contract (`docs/api.md`) and the API's `/openapi.json` name
the same operations; and `/openapi.json` is a contract a channel's developer can build on alone:
every operation described, its answers typed, its errors and the bearer scheme declared, with a
real example."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from adapters.db import make_engine
from adapters.settings import Settings
from api.app import create_app

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
OPERATION = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/v1/[^\s`?]+)")
# Named by the contract, built by the work that is still open on it (each leaves this list when
# it lands).
NOT_YET_BUILT: set[tuple[str, str]] = set()


def shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip(".,`):"))


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("contract")
    settings = Settings(
        home=home, admin_token="a", payment_webhook_secret="w", pickup_code_secret="p"
    )
    app = create_app(settings, make_engine(f"sqlite:///{home / 'oms.db'}"), lambda: None)  # type: ignore[arg-type, return-value]
    return app.openapi()


@pytest.fixture(scope="module")
def served(spec: dict[str, Any]) -> set[tuple[str, str]]:
    paths = spec["paths"]
    return {(m.upper(), shape(p)) for p, ops in paths.items() if p.startswith("/v1") for m in ops}


def operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{m.upper()} {p}", op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_every_operation_is_described_with_an_example(spec: dict[str, Any]) -> None:
    undescribed = [k for k, op in operations(spec) if len(op.get("description", "")) < 20]
    assert undescribed == []
    examples = json.loads((ROOT / "api" / "examples.json").read_text())
    assert sorted(k for k, _ in operations(spec) if k not in examples) == []
    for key, op in operations(spec):
        status = str(examples[key]["status"])
        content = op["responses"][status].get("content")
        assert content is None or "example" in next(iter(content.values())), key


def test_every_answer_is_typed_and_every_error_declared(spec: dict[str, Any]) -> None:
    for key, op in operations(spec):
        ok = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        for status, answer in ok.items():
            content = answer.get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:  # 204, a CSV statement, Prometheus' text, a PDF label
                documents = {"text/csv", "text/plain", "application/pdf"}
                assert status == "204" or set(content) <= documents, key
                continue
            assert "$ref" in json.dumps(schema), f"{key} answers an untyped {schema}"
        for status in ("401", "403", "404", "409", "422", "429"):
            error = op["responses"][status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorOut"}, key


def test_the_bearer_scheme_is_declared_where_a_token_is_taken(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    unsigned = {"GET /healthz", "GET /readyz", "GET /metrics", "POST /v1/payments/webhook"}
    unsigned |= {"POST /v1/callbacks/wms", "POST /v1/callbacks/courier"}  # signed by their body
    for key, op in operations(spec):
        assert op["security"] == ([] if key in unsigned else [{"bearer": []}]), key


def test_the_answer_models_list_every_field_they_send(spec: dict[str, Any]) -> None:
    answers = {name: s for name, s in spec["components"]["schemas"].items()}
    for name in ("Order", "Part", "Member", "CatalogItem", "Event", "Delivery"):
        assert answers[name]["additionalProperties"] is False, name


def documented() -> set[tuple[str, str]]:
    text = (ROOT / "docs" / "api.md").read_text()
    return {(m, shape(p)) for m, p in OPERATION.findall(text)}


def test_every_operation_the_contract_names_is_served(served: set[tuple[str, str]]) -> None:
    assert documented() - served - NOT_YET_BUILT == set()


def test_every_operation_served_is_in_the_contract(served: set[tuple[str, str]]) -> None:
    assert served - documented() == set()


def test_nothing_listed_as_not_yet_built_is_served_already(served: set[tuple[str, str]]) -> None:
    assert NOT_YET_BUILT & served == set()


def test_every_reference_in_the_document_resolves(spec: dict[str, Any]) -> None:
    """A `$ref` that points nowhere blanks `/redoc` (and breaks generated clients)."""
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            assert "$defs" not in node, "nested definitions left inside a schema"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    schemas = spec["components"]["schemas"]
    assert {r for r in refs if r.removeprefix("#/components/schemas/") not in schemas} == set()
