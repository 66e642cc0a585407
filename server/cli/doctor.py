"""`stead doctor`: explain this install and say what is missing, with the fix."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("doctor", help="show where everything runs and what is missing")
    p.add_argument("--no-load", action="store_true", help="do not try loading the model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from server.doctor import collect, render
    from server.paths import dirs
    from server.settings import resolve

    d = dirs()
    loaded = resolve(file=d.config_file)
    for problem in loaded.problems:
        print(f"settings: {problem}")
    report = collect(loaded.settings, d, load_models=not args.no_load)
    print(render(report))
    return 0 if report.ok else 1
