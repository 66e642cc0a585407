"""Render the settings reference from the `#:` comments in settings.py.

The reference in docs/settings.md is generated, so it cannot drift from the code; a test
compares the two.  Run `python -m server.settings_doc > docs/settings.md` after a change.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

import attrs

from server import settings as settings_module
from server.settings import ProviderSettings, Settings


def _comments() -> dict[tuple[str, str], str]:
    """(class name, field name) -> the `#:` comment lines just above the field."""
    source = inspect.getsource(settings_module)
    lines = source.splitlines()
    out: dict[tuple[str, str], str] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                doc: list[str] = []
                i = stmt.lineno - 2
                while i >= 0 and lines[i].strip().startswith("#:"):
                    doc.insert(0, lines[i].strip()[2:].strip())
                    i -= 1
                out[(node.name, stmt.target.id)] = " ".join(doc)
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _default(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[]" if not value else "[" + ", ".join(_default(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}"
    return str(value)


def rows(cls: type[Any], prefix: str, comments: dict[tuple[str, str], str]) -> list[str]:
    out: list[str] = []
    instance = cls()
    for f in attrs.fields(cls):
        value = getattr(instance, f.name)
        if attrs.has(type(value)):
            out += rows(type(value), f"{prefix}{f.name}.", comments)
            continue
        doc = comments.get((cls.__name__, f.name), "")
        camel = ".".join(_camel(p) for p in f"{prefix}{f.name}".split("."))
        out.append(f"| `{prefix}{f.name}` | `{camel}` | `{_default(value)}` | {doc} |")
    return out


def render() -> str:
    comments = _comments()
    head = [
        "# stead settings",
        "",
        "Generated from `server/settings.py` by `python -m server.settings_doc`.",
        "Set them in `~/.config/stead/config.toml` (TOML tables per section), or from the editor",
        "(VS Code `stead.*` settings, Neovim `require('stead').setup{...}`), which send them as",
        "`initializationOptions` and `workspace/didChangeConfiguration`. Keys may be snake_case",
        "or camelCase. An invalid value is reported with its field name and the default is used.",
        "",
        "| setting | camelCase | default | meaning |",
        "|---|---|---|---|",
    ]
    body = rows(Settings, "", comments)
    provider = [
        "",
        "Each entry of `remote.providers` (a table you name, e.g. `[remote.providers.openai]`):",
        "",
        "| field | camelCase | default | meaning |",
        "|---|---|---|---|",
        *rows(ProviderSettings, "", comments),
    ]
    return "\n".join(head + body + provider) + "\n"


if __name__ == "__main__":
    print(render(), end="")
