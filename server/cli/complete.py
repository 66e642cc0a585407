"""`stead complete FILE:LINE:COL`: the suggestion the editor would show, on stdout.

Same engine as the language server (budgets, prompt, model, post-processing); LINE and COL
are 1-based, COL counts characters.  Prints nothing when there is no suggestion.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("complete", help="print the completion at FILE:LINE:COL")
    p.add_argument("where", metavar="FILE:LINE:COL", help="1-based line and column")
    p.add_argument("--model", help="a GGUF file to use instead of the configured model")
    p.add_argument("--max-tokens", type=int, help="most tokens to generate")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="seconds the model may take (default: model.timeout_s)")
    p.add_argument("--multiline", choices=("auto", "always", "never"))
    p.add_argument("--json", action="store_true", help="print the result with its figures")
    p.add_argument("--explain", action="store_true",
                   help="first print the context chosen and why, and the exact prompt")
    p.add_argument("-C", dest="root", type=Path,
                   help="workspace root (default: as `stead index`: the enclosing repository)")
    p.set_defaults(run=run)


def parse_where(where: str) -> tuple[Path, int, int]:
    parts = where.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValueError(f"expected FILE:LINE:COL with 1-based numbers, got {where!r}")
    line, col = int(parts[1]), int(parts[2])
    if line < 1 or col < 1:
        raise ValueError(f"LINE and COL start at 1, got {line}:{col}")
    return Path(parts[0]), line, col


def split_at(text: str, line: int, col: int) -> tuple[str, str]:
    """(prefix, suffix) at a 1-based line and character column; ValueError when outside."""
    lines = text.splitlines(keepends=True)
    if line > len(lines) + 1 or (line == len(lines) + 1 and col != 1):
        raise ValueError(f"line {line} is past the end of the file ({len(lines)} lines)")
    start = sum(len(x) for x in lines[: line - 1])
    body = lines[line - 1].rstrip("\r\n") if line <= len(lines) else ""
    if col > len(body) + 1:
        raise ValueError(f"column {col} is past the end of line {line} ({len(body)} characters)")
    cut = start + col - 1
    return text[:cut], text[cut:]


def run(args: argparse.Namespace) -> int:
    import attrs

    from server.backends import make_backend
    from server.backends.base import ModelError
    from server.completion.engine import Engine
    from server.completion.types import CompletionRequest
    from server.paths import dirs
    from server.settings import resolve

    try:
        path, line, col = parse_where(args.where)
        text = path.read_text("utf-8", errors="replace")
        prefix, suffix = split_at(text, line, col)
    except (ValueError, OSError) as exc:
        print(f"stead complete: {exc}", file=sys.stderr)
        return 2
    d = dirs()
    loaded = resolve(file=d.config_file)
    for problem in loaded.problems:
        print(f"stead: {problem}", file=sys.stderr)
    settings = loaded.settings
    if args.model:
        settings = attrs.evolve(settings, model=attrs.evolve(settings.model, path=args.model))
    if args.timeout:
        settings = attrs.evolve(settings, model=attrs.evolve(settings.model,
                                                             timeout_s=args.timeout))
    changes = {}
    if args.max_tokens:
        changes["max_tokens"] = args.max_tokens
    if args.multiline:
        changes["multiline"] = args.multiline
    if changes:
        settings = attrs.evolve(settings, completion=attrs.evolve(settings.completion, **changes))
    try:
        backend = make_backend(settings, d)
    except ModelError as exc:
        print(f"stead: {exc}", file=sys.stderr)
        return 1
    from server.completion.engine import context_budget
    from server.context.completion import cli_context

    count = backend.count_tokens
    snippets, why, root = cli_context(
        path, text, line, settings, d, root=args.root, count=count,
        budget=context_budget(settings, backend.context_length),
    )
    if args.explain:
        print("\n".join(why))
    engine = Engine(lambda: backend, cache_size=0)
    req = CompletionRequest(prefix=prefix, suffix=suffix, path=str(path.resolve()),
                            snippets=snippets, root=str(root))
    result = engine.complete(req, settings, threading.Event())
    backend.close()
    if args.explain and result.prompt:
        print(f"prompt: {result.prompt_tokens + result.reused_tokens} tokens read by the model "
              f"({backend.name}), exactly:")
        print(result.prompt)
        print("suggestion:")
    if result.error:
        print(f"stead: {result.error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(attrs.asdict(result), indent=2))
    elif result.text:
        sys.stdout.write(result.text + ("" if result.text.endswith("\n") else "\n"))
    return 0
