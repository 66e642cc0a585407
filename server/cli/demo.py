"""`stead demo`: the main job end to end on the configured model, for a first run.

It writes a three-file sample project, then does what a user's editor would: check the
install, index the project, search it, complete code at a cursor whose answer needs a
function defined in another file, and answer a question whose answer is in another file,
all with the local model.  Each step is the real command (the same code the editors
reach), so the demo cannot drift from the product.  The sample is fixed so that a user can
judge the answers: the expected ones are printed beside what the model said.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The sample project: the cursor (`▮`) needs `to_meters` from units.py and the shape of
#: the pairs from store.py; the question's answer is only in units.py.
SAMPLE: dict[str, str] = {
    "units.py": '''"""Unit conversion for the lengths the app reads."""

FACTORS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "km": 1000.0, "ft": 0.3048, "in": 0.0254}


def to_meters(value, unit):
    """Convert a length in `unit` to meters; raises KeyError for an unknown unit."""
    return value * FACTORS[unit]
''',
    "store.py": '''"""Where lengths are kept: a JSON file of [value, unit] pairs."""

import json


def load_parts(path):
    with open(path) as f:
        return json.load(f)
''',
    "report.py": '''"""The report the command line prints."""

from store import load_parts
from units import to_meters


def total_meters(parts):
    """Sum a list of (value, unit) pairs, in meters."""
    return ▮


def main(path):
    parts = load_parts(path)
    print(f"total: {total_meters(parts):.2f} m")
''',
}
CURSOR = "▮"
EXPECTED = "sum(to_meters(value, unit) for value, unit in parts)"
QUESTION = "Which units can to_meters convert, and what happens with a unit it does not know?"
EXPECTED_ANSWER = "m, cm, mm, km, ft and in; an unknown unit raises KeyError"
#: A demo may wait for a slow machine; an editor's keystroke budget is model.timeout_s.
TIMEOUT_S = 120


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="complete and answer on a sample project, all locally")
    p.add_argument("--dir", type=Path,
                   help="write the sample project here and keep it (default: a temp dir)")
    p.add_argument("--question", default=QUESTION, help="the question to answer")
    p.set_defaults(run=run)


def write_sample(root: Path) -> str:
    """Write the sample project; returns the cursor as FILE:LINE:COL (1-based)."""
    root.mkdir(parents=True, exist_ok=True)
    where = ""
    for name, text in SAMPLE.items():
        for n, line in enumerate(text.splitlines(), 1):
            if CURSOR in line:
                where = f"{root / name}:{n}:{line.index(CURSOR) + 1}"
        (root / name).write_text(text.replace(CURSOR, ""), "utf-8")
    return where


def _step(title: str, argv: Sequence[str], capture: bool = False) -> tuple[int, str]:
    from server.cli import main

    print(f"\n== {title}\n$ stead {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    out = io.StringIO()
    if capture:
        with contextlib.redirect_stdout(out):
            code = main(list(argv))
        print(out.getvalue(), end="")
    else:
        code = main(list(argv))
    print(f"({time.perf_counter() - started:.1f} s, exit {code})", flush=True)
    return code, out.getvalue()


def run(args: argparse.Namespace) -> int:
    root = args.dir.resolve() if args.dir else Path(tempfile.mkdtemp(prefix="stead-demo-"))
    try:
        return _run(root, args.question)
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, question: str) -> int:
    if _step("install check (nothing leaves this machine)", ["doctor", "--no-load"])[0] != 0:
        print("the install is not complete: see the fixes above")
        return 1
    cursor = write_sample(root)
    print(f"\n== a sample project in {root}")
    for name, text in SAMPLE.items():
        print(f"--- {name}")
        print(text.rstrip("\n").replace(CURSOR, f"{CURSOR}   <- the cursor"))
    failures = 0
    # full text only: vectors need the embedding model built once (minutes), which the
    # first real `stead index` does; the demo is about the code model
    failures += _step("index it (full text; `stead index` adds vectors)",
                      ["index", "--no-vectors", str(root)])[0] != 0
    failures += _step("search it", ["search", "-C", str(root), "-k", "2", "--mode", "fts",
                                    "convert a length to meters"])[0] != 0
    code, out = _step(
        "complete at the cursor (needs to_meters from units.py)",
        ["complete", cursor, "--timeout", str(TIMEOUT_S)], capture=True,
    )
    failures += code != 0
    line = next((ln for ln in SAMPLE["report.py"].splitlines() if CURSOR in ln), "")
    print(f"report.py now reads:  {line.replace(CURSOR, out.strip() or '(no suggestion)')}")
    print(f"expected (or equal):  {line.replace(CURSOR, EXPECTED)}")
    code, _ = _step("answer a question from the code",
                    ["ask", "--root", str(root), question])
    failures += code != 0
    if question == QUESTION:
        print(f"expected: {EXPECTED_ANSWER}")
    print("\nAll steps ran locally." if not failures else f"\n{failures} step(s) failed.")
    return 1 if failures else 0
