"""The exact request body for each provider dialect: a pure function of the manifest.

The manifest shows this body verbatim and `send` puts these very bytes on the wire, so
what the user approved and what leaves are the same thing, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

SYSTEM = (
    "You are a coding assistant. The user shares a question and excerpts from their "
    "workspace. Some values were replaced by placeholders such as <SECRET_1>; keep "
    "placeholders unchanged when you repeat them."
)


def user_text(question: str, items: Sequence[tuple[str, int, int, str]]) -> str:
    """The question followed by each excerpt as `path (lines a-b)` and a fenced block."""
    parts = [question.strip()]
    for path, start, end, text in items:
        fence = "```"
        while fence in text:
            fence += "`"
        body = text if text.endswith("\n") or not text else text + "\n"
        parts.append(f"{path} (lines {start}-{end}):\n{fence}\n{body}{fence}")
    return "\n\n".join(parts)


def body(kind: str, model: str, content: str, max_tokens: int, *, stream: bool = True) -> bytes:
    obj: dict[str, Any]
    if kind == "anthropic":
        obj = {
            "model": model,
            "max_tokens": max_tokens,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": content}],
            "stream": stream,
        }
    else:
        obj = {
            "model": model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": content},
            ],
            "max_tokens": max_tokens,
            "stream": stream,
        }
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
