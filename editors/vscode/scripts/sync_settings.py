"""Regenerate the server settings in editors/vscode/package.json from server/settings.py.

The extension's settings mirror the server's one `Settings` tree; this keeps them from
drifting.  Every leaf field becomes `stead.<section>.<camelName>` with its type, default,
bounds (from the attrs validators) and its `#:` doc comment as the description.  Keys the
client owns (`stead.server.*`, `stead.trace.server`, ...) are kept as they are.

    python editors/vscode/scripts/sync_settings.py           # rewrite package.json
    python editors/vscode/scripts/sync_settings.py --check   # exit 1 when out of date
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[3]
PACKAGE_JSON = Path(__file__).resolve().parents[1] / "package.json"
sys.path.insert(0, str(ROOT))

from server import settings as S  # noqa: E402

#: Keys the extension itself owns (mirrored in src/settings.ts); never sent to the server.
CLIENT_PREFIXES = ("stead.server.", "stead.trace.", "stead.ui.")

#: Settings that can send data off the machine or run programs: a workspace's own
#: .vscode/settings.json must not be able to set them, only the user.  "application"
#: scope: read from User settings only, in local and remote windows alike ("machine"
#: settings in User settings are ignored in a remote window such as code-server).
MACHINE_SCOPED = ("stead.remote.", "stead.model.path", "stead.model.url")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def doc_comments(cls: type) -> dict[str, str]:
    """`#:` comments above each field, joined, keyed by field name."""
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        m = re.match(r"(\w+)\s*:", stripped)
        if m and pending:
            out[m.group(1)] = " ".join(pending)
        pending = []
    return out


def bounds(validator: Any, schema: dict[str, Any]) -> None:
    """Translate attrs ge/gt/le/in_ validators into JSON-schema keywords."""
    if validator is None:
        return
    inner = getattr(validator, "_validators", None) or getattr(validator, "validators", None)
    if inner:
        for v in inner:
            bounds(v, schema)
        return
    name = type(validator).__name__
    if name == "_NumberValidator":
        op, bound = validator.compare_op, validator.bound
        if op == ">=":
            schema["minimum"] = bound
        elif op == ">":
            schema["exclusiveMinimum"] = bound
        elif op == "<=":
            schema["maximum"] = bound
        elif op == "<":
            schema["exclusiveMaximum"] = bound
    elif name == "_InValidator":
        schema["enum"] = list(validator.options)


def leaf_schema(tp: Any, default: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if origin is typing.Literal:
        return {"type": "string", "enum": list(typing.get_args(tp))}
    if origin is tuple:
        return {"type": "array", "items": {"type": "string"}}
    if origin is dict:
        _, value = typing.get_args(tp)
        return {"type": "object", "additionalProperties": object_schema(value)}
    raise TypeError(f"no JSON schema for {tp!r}")


def object_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, vars(S))
    docs = doc_comments(cls)
    props: dict[str, Any] = {}
    for f in attrs.fields(cls):
        default = f.default.factory() if isinstance(f.default, attrs.Factory) else f.default  # type: ignore[attr-defined]
        schema = leaf_schema(hints[f.name], default)
        bounds(f.validator, schema)
        schema["default"] = list(default) if isinstance(default, tuple) else default
        if f.name in docs:
            schema["description"] = docs[f.name]
        props[camel(f.name)] = schema
    return {"type": "object", "properties": props, "additionalProperties": False}


def server_properties() -> dict[str, Any]:
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(S.Settings, vars(S))
    top_docs = doc_comments(S.Settings)
    for f in attrs.fields(S.Settings):
        tp = hints[f.name]
        if attrs.has(tp):
            section = object_schema(tp)
            for name, schema in section["properties"].items():
                key = f"stead.{camel(f.name)}.{name}"
                out[key] = schema
        else:
            schema = leaf_schema(tp, f.default)
            bounds(f.validator, schema)
            schema["default"] = f.default
            if f.name in top_docs:
                schema["description"] = top_docs[f.name]
            out[f"stead.{camel(f.name)}"] = schema
    for key, schema in out.items():
        if key.startswith(MACHINE_SCOPED):
            schema["scope"] = "application"
    return out


def updated(package: dict[str, Any]) -> dict[str, Any]:
    config = package["contributes"]["configuration"]
    props: dict[str, Any] = config["properties"]
    client_only = {k: v for k, v in props.items() if k.startswith(CLIENT_PREFIXES)}
    config["properties"] = {**client_only, **server_properties()}
    return package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args()
    text = PACKAGE_JSON.read_text(encoding="utf-8")
    new = json.dumps(updated(json.loads(text)), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        if new != text:
            print(f"{PACKAGE_JSON} is out of date: run python {Path(__file__).relative_to(ROOT)}")
            return 1
        return 0
    PACKAGE_JSON.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
