"""Writes `omni_oms_client/types.py`: a TypedDict for each schema of the API's OpenAPI document
(`make client`). The client's methods are written by hand; its types are kept in step with the
API by this script and `tests/unit/test_client.py`."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OUT = HERE / "omni_oms_client" / "types.py"


def openapi() -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent))
    from sqlalchemy import create_engine

    from adapters.settings import Settings
    from api.app import create_app

    async def no_temporal() -> Any:
        raise RuntimeError("not needed to describe the API")

    app = create_app(
        Settings(home=Path("/tmp/oms-client-gen")), create_engine("sqlite://"), no_temporal
    )
    return app.openapi()


def py_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema or "oneOf" in schema:
        parts = [py_type(s) for s in schema.get("anyOf", schema.get("oneOf", []))]
        return " | ".join(dict.fromkeys(parts))
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    if "enum" in schema:
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    kind = schema.get("type")
    if kind == "array":
        return f"list[{py_type(schema.get('items', {}))}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        value = py_type(extra) if isinstance(extra, dict) and extra else "Any"
        return f"dict[str, {value}]"
    return {
        "string": "str",
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "null": "None",
    }.get(kind or "", "Any")


def render(spec: dict[str, Any]) -> str:
    schemas = spec["components"]["schemas"]
    out = [
        '"""The API\'s schemas as TypedDicts: what it answers (and what it is asked). Generated',
        'from /openapi.json by `make client` (client/generate.py): do not edit by hand."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, Literal, NotRequired, TypedDict",
        "",
        "__all__ = [" + ", ".join(repr(n) for n in sorted(schemas)) + "]",
    ]
    for name in sorted(schemas):
        schema = schemas[name]
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        out += ["", "", f"class {name}(TypedDict):"]
        doc = (schema.get("description") or "").strip().splitlines()
        if doc:
            out.append(
                f'    """{doc[0].rstrip(".")}."""' if len(doc) == 1 else f'    """{doc[0]}"""'
            )
            out.append("")
        if not props:
            out.append("    pass")
        for field, sub in props.items():
            attr = field if field.isidentifier() and not keyword.iskeyword(field) else None
            if attr is None:
                continue  # not a Python name: read it with ["..."] as Any
            t = py_type(sub)
            out.append(f"    {field}: {t if field in required else f'NotRequired[{t}]'}")
    return "\n".join(out) + "\n"


def formatted(source: str) -> str:
    """The source as the repository's formatter writes it."""
    import subprocess

    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(OUT), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    OUT.write_text(formatted(render(openapi())))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
