"""`stead models list | add PATH | use NAME | verify`: the local model files.

Nothing here touches the network: models come from installed packages (the embedded
SmolLM2) or from files the user already has, and every copy is checked by sha256.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="list, add, choose and verify local models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    msub.required = True
    ls_ = msub.add_parser("list", help="known and installed models")
    ls_.add_argument("--json", action="store_true", help="print JSON")
    ls_.set_defaults(run=run_list)
    add = msub.add_parser("add", help="check a GGUF file and add it to the models dir")
    add.add_argument("path", type=Path, help="a .gguf file")
    add.add_argument("--name", help="name to use it by (default: from the registry or file)")
    add.add_argument("--link", action="store_true", help="use the file in place, do not copy")
    add.set_defaults(run=run_add)
    use = msub.add_parser("use", help="make a model the default (writes the config file)")
    use.add_argument("name")
    use.set_defaults(run=run_use)
    ver = msub.add_parser("verify", help="check installed models against their sha256")
    ver.set_defaults(run=run_verify)


def _dirs() -> Any:
    from server.paths import dirs

    return dirs()


def _current(d: Any) -> str:
    from server.settings import resolve

    s = resolve(file=d.config_file).settings
    return s.model.path or s.model.name


def run_list(args: argparse.Namespace) -> int:
    from server.models.store import describe

    d = _dirs()
    rows = describe(d)
    current = _current(d)
    if args.json:
        print(json.dumps({"current": current, "models": rows}, indent=2))
        return 0
    print(f"models dir: {d.models}")
    for r in rows:
        mark = "*" if r["name"] == current else " "
        state = "installed" if r["installed"] else ("available" if r["available"] else "-")
        size = f"{r['size'] / 1e6:.0f} MB" if r["size"] else "?"
        print(f"{mark} {r['name']:<24} {state:<10} {size:>7}  fim={r['fim'] or '?':<10} "
              f"ctx={r['context_length']}  {r['source']}")
    if current not in {r["name"] for r in rows}:
        print(f"* current: {current}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from server.backends.base import ModelError
    from server.models.store import add

    try:
        entry = add(_dirs(), args.path, args.name, link=args.link)
    except ModelError as exc:
        print(f"stead: {exc}", file=sys.stderr)
        return 1
    print(f"added {entry.name}: {entry.path} (fim={entry.fim}, chat={entry.chat}, "
          f"sha256 {entry.sha256[:16]}…)")
    print(f"use it with: stead models use {entry.name}")
    return 0


def run_use(args: argparse.Namespace) -> int:
    from server.models import registry
    from server.models.store import installed, set_default_in_config

    d = _dirs()
    names = set(installed(d)) | {registry.DEFAULT}
    if args.name not in names:
        print(f"stead: no installed model named {args.name!r} (installed: "
              f"{', '.join(sorted(names))}); add it with `stead models add PATH`",
              file=sys.stderr)
        return 1
    set_default_in_config(d.config_file, args.name)
    print(f"default model: {args.name} (written to {d.config_file})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from server.models.store import verify

    results = verify(_dirs())
    if not results:
        print("no models installed yet (the default is installed on first use)")
        return 0
    bad = 0
    for name, ok, message in results:
        print(f"{'ok ' if ok else 'BAD'} {name}: {message}")
        bad += not ok
    return 1 if bad else 0
