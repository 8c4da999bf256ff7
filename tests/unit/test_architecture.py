"""Imports flow one way: domain <- adapters <- activities <- workflows; api and workers are
composition roots that nothing imports; domain uses the standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["domain", "adapters", "activities", "workflows", "api", "workers"]
ALLOWED = {
    "domain": {"domain"},
    "adapters": {"domain", "adapters"},
    "activities": {"domain", "adapters", "activities"},
    "workflows": {"domain", "activities", "workflows"},
    "api": {"domain", "adapters", "activities", "workflows", "api"},
    "workers": set(LAYERS),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_only_what_lies_below_them() -> None:
    bad = []
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            for name in imports_of(path):
                top = name.split(".")[0]
                if top in LAYERS and top not in ALLOWED[layer]:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, bad


def test_the_domain_uses_only_the_standard_library() -> None:
    bad = []
    for path in (ROOT / "domain").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top != "domain" and top not in sys.stdlib_module_names and top != "__future__":
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, bad


def test_workflow_modules_do_not_import_database_or_web_libraries() -> None:
    heavy = {"sqlmodel", "sqlalchemy", "fastapi", "uvicorn", "httpx", "adapters"}
    bad = [
        f"{p.name} imports {n}"
        for p in (ROOT / "workflows").rglob("*.py")
        for n in imports_of(p)
        if n.split(".")[0] in heavy
    ]
    assert not bad, bad


NONDETERMINISTIC = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "sleep"),
    ("asyncio", "sleep"),
    ("uuid", "uuid4"),
    ("random", "random"),
    ("random", "randint"),
    ("random", "choice"),
    ("os", "environ"),
    ("os", "getenv"),
}


def test_workflow_code_uses_the_workflow_clock_and_randomness_only() -> None:
    """Workflows run without the SDK's sandbox (for speed), so this test stands guard: no wall
    clock, no randomness, no environment, no files in workflow modules; `workflow.now()`,
    `workflow.random()`, `workflow.uuid4()` and `workflow.sleep()` instead."""
    bad = []
    for path in (ROOT / "workflows").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if (node.value.id, node.attr) in NONDETERMINISTIC:
                    bad.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in {"open", "input", "print"}:
                    bad.append(f"{path.name}:{node.lineno} {node.func.id}()")
        for name in imports_of(path):
            if name.split(".")[0] in {"random", "os", "socket", "subprocess", "threading"}:
                bad.append(f"{path.name} imports {name}")
    assert not bad, bad
