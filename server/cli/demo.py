"""`stead demo`: the main job end to end on the embedded default, for a first run.

It does what a user's editor would: check the install, index the workspace, search it,
complete code at a cursor and answer a question about it, all with the local model.  Each
step is the real command (the same code the editors reach), so the demo cannot drift from
the product.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="index this repository, complete and answer, all locally")
    p.add_argument("path", nargs="?", help="workspace root (default: the enclosing repository)")
    p.add_argument("--question", default="How does stead decide which settings value wins?",
                   help="the question to answer")
    p.set_defaults(run=run)


def _cursor(root: Path) -> str:
    """A real cursor inside this workspace: the line after a function's signature."""
    candidates = [root / "server" / "paths.py", *sorted(root.rglob("*.py"))[:200]]
    for path in candidates:
        try:
            lines = path.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for i, line in enumerate(lines):
            if line.lstrip().startswith("def ") and line.rstrip().endswith(":"):
                indent = len(line) - len(line.lstrip()) + 4
                return f"{path}:{i + 2}:{indent + 1}"
    return ""


def _step(title: str, argv: Sequence[str]) -> int:
    from server.cli import main

    print(f"\n== {title}\n$ stead {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    code = main(list(argv))
    print(f"({time.perf_counter() - started:.1f} s, exit {code})", flush=True)
    return code


def run(args: argparse.Namespace) -> int:
    from server.cli.index import workspace_root

    root = workspace_root(args.path)
    failures = 0
    if _step("install check (nothing leaves this machine)", ["doctor"]) != 0:
        print("the install is not complete: see the fixes above")
        return 1
    failures += _step("index the workspace", ["index", str(root)]) != 0
    failures += _step("search it", ["search", "-C", str(root), "-k", "3", "settings file"]) != 0
    cursor = _cursor(root)
    if cursor:
        failures += _step("complete at a cursor with the local model", ["complete", cursor]) != 0
    failures += _step("answer a question from the code", ["ask", "--root", str(root),
                                                          args.question]) != 0
    print("\nAll steps ran locally." if not failures else f"\n{failures} step(s) failed.")
    return 1 if failures else 0
