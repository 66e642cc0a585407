"""`stead index [PATH]` and `stead search QUERY`: the workspace index from a terminal.

Both use the same per-workspace index as the editors (the user data dir), so a tree
indexed here is ready when an editor opens it, and the other way round.  Heavy imports
(LanceDB, tree-sitter, numpy) happen inside the run functions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("index", help="index a workspace (full-text now, vectors behind it)")
    p.add_argument("path", nargs="?", help="workspace root (default: the enclosing repository)")
    p.add_argument("--embedder", choices=["default", "static-code", "static", "minilm", "none"],
                   help="override index.embedder for this run")
    p.add_argument("--no-vectors", action="store_true", help="chunks and full-text only")
    p.add_argument("--status", action="store_true", help="print the index's state and exit")
    p.add_argument("--json", action="store_true", help="JSON output")
    shared = p.add_argument_group("shared base index (object storage; see docs/cluster.md)")
    shared.add_argument("--publish", metavar="URI",
                        help="publish PATH's index to URI (s3://bucket/prefix or a directory)")
    shared.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="where --publish chunks and embeds (ray needs stead[cluster])")
    shared.add_argument("--address", help="Ray cluster address for --engine ray "
                        "(default: a private Ray on this machine)")
    shared.add_argument("--commit", help="commit recorded in the manifest (default: HEAD)")
    shared.add_argument("--attach", metavar="URI",
                        help="read the base index at URI, keep only what differs locally")
    shared.add_argument("--detach", action="store_true", help="stop reading the base index")
    p.set_defaults(run=run_index)

    s = sub.add_parser("search", help="search the workspace index")
    s.add_argument("query", help="words, identifiers or a question")
    s.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    s.add_argument("--mode", choices=["hybrid", "fts", "vector"], default="hybrid")
    s.add_argument("--glob", dest="path_glob", help="only paths matching this glob")
    s.add_argument("--lang", dest="language", help="only this language (e.g. python)")
    s.add_argument("--role", dest="roles", action="append", metavar="ROLE[=WEIGHT]",
                   help="only files of this role (code, test, docs, config, generated), or "
                        "with =WEIGHT rank them up (>1) or down (<1); repeatable. Without "
                        "it, a question in words ranks tests, docs, config and generated "
                        "files at half weight unless it names them")
    s.add_argument("-C", dest="path", help="workspace root (default: the enclosing repository)")
    s.add_argument("--json", action="store_true", help="JSON output")
    s.set_defaults(run=run_search)


def workspace_root(path: str | None) -> Path:
    """The given directory, else the enclosing git work tree, else the current directory."""
    from server.paths import workspace_root as enclosing

    return Path(path).resolve() if path else enclosing()


def _open(root: Path, embedder: str | None) -> Any:
    from index.api import open_index
    from server.paths import dirs
    from server.settings import resolve

    d = dirs()
    loaded = resolve({"index": {"embedder": embedder}} if embedder else None,
                     file=d.config_file)
    for problem in loaded.problems:
        print(f"stead: {problem}", file=sys.stderr)
    return open_index(root, d.data, loaded.settings.index)


class _Bar:
    """A one-line progress bar on a terminal; a line every few seconds otherwise."""

    def __init__(self, ix: Any = None) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.phase = ""
        self.ix = ix
        self.said_ready = False

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        phase = message.split()[0] if message else ""
        if self.ix is not None and not self.said_ready and \
                phase in ("embedding", "embedded", "building"):
            self.said_ready = True  # the vectors take longer: say what works already
            if self.ix.status().get("chunks"):
                sys.stderr.write(("\n" if self.tty and self.phase else "") +
                                 "full-text search works now (stead search QUERY); "
                                 "computing vectors for hybrid search\n")
        final = total and done >= total
        if now - self.last < (0.1 if self.tty else 5.0) and not final and phase == self.phase:
            return
        self.last, self.phase = now, phase
        if self.tty:
            width = max(10, min(40, shutil.get_terminal_size().columns - 50))
            filled = int(width * done / total) if total else 0
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {message[:48]:<48}")
            if final:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(f"{message}\n")
        sys.stderr.flush()


def run_index(args: argparse.Namespace) -> int:
    root = workspace_root(args.path)
    if not root.is_dir():
        print(f"stead: {root} is not a directory", file=sys.stderr)
        return 2
    if args.publish or args.attach or args.detach:
        from server.cli.shared_index import run_shared

        return run_shared(args, root, _Bar())
    try:
        ix = _open(root, args.embedder)
    except Exception as exc:  # CPU without AVX2, unwritable data dir...
        print(f"stead: cannot open the index: {exc}", file=sys.stderr)
        return 1
    if ix.store.notice:
        print(f"stead: {ix.store.notice}", file=sys.stderr)
    if args.status:
        print(json.dumps(ix.status(), indent=2) if args.json else _status_text(ix.status()))
        return 0
    try:
        stats = ix.refresh(progress=_Bar(ix), embed_vectors=not args.no_vectors)
    except KeyboardInterrupt:
        ix.cancel()
        print("\nstead: interrupted; what was indexed is kept, run again to resume",
              file=sys.stderr)
        return 130
    st = ix.status()
    if args.json:
        print(json.dumps({"stats": _stats_dict(stats), "status": st}, indent=2))
    else:
        mb = stats.bytes_read / 1e6
        print(f"{root}: {st['files']} files, {st['chunks']} chunks, {st['vectors']} vectors "
              f"({stats.added} added, {stats.updated} updated, {stats.deleted} removed, "
              f"{stats.unchanged} unchanged; {mb:.1f} MB read in {stats.seconds:.1f}s)")
        if ix.embed_error:
            print(f"stead: {ix.embed_error}", file=sys.stderr)
        for err in stats.errors[:10]:
            print(f"stead: skipped {err}", file=sys.stderr)
    return 0


def _stats_dict(stats: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(stats)


def _status_text(st: dict[str, Any]) -> str:
    text = (f"{st['root']}: {st['files']} files, {st['chunks']} chunks, {st['vectors']} "
            f"vectors, embedder {st['embedder']}, search {st['search']}\nindex dir {st['dir']}")
    base = st.get("base")
    if base:  # attached to a shared base index
        text += (f"\nbase {base['uri']} @ {base['commit'] or '?'} ({base['files']} files); "
                 f"local overlay {st['overlay']['files']} files\negress: {base['egress']}")
        if base["error"]:
            text += f"\nbase unavailable: {base['error']}"
    return text


def default_roles(query: str) -> dict[str, float] | None:
    from index.roles import default_roles as for_query

    return for_query(query)


def parse_roles(specs: list[str]) -> dict[str, float] | None:
    """`--role` values: bare names keep only those roles, NAME=WEIGHT re-weighs one."""
    from index.roles import ROLES

    if not specs:
        return None
    weights: dict[str, float] = {}
    only: set[str] = set()
    for spec in specs:
        name, _, weight = spec.partition("=")
        name = name.strip().lower()
        if name not in ROLES:
            raise ValueError(f"unknown role {name!r} (use {', '.join(ROLES)})")
        if not weight:
            only.add(name)
            continue
        try:
            weights[name] = float(weight)
        except ValueError:
            raise ValueError(f"--role {spec}: the weight must be a number") from None
    if only:
        weights = {r: weights.get(r, 1.0) if r in only else 0.0 for r in ROLES}
    return weights


def run_search(args: argparse.Namespace) -> int:
    root = workspace_root(args.path)
    from server.paths import dirs

    if not dirs().index_dir(root).exists():
        print(f"stead: {root} has no index yet; run 'stead index {root}' first",
              file=sys.stderr)
        return 1
    try:
        roles = parse_roles(args.roles or []) or default_roles(args.query)
    except ValueError as exc:
        print(f"stead: {exc}", file=sys.stderr)
        return 2
    try:
        ix = _open(root, None)
        hits = ix.search(args.query, args.k, mode=args.mode, path_glob=args.path_glob,
                         language=args.language, roles=roles)
    except Exception as exc:
        print(f"stead: search failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        import attrs

        print(json.dumps([attrs.asdict(h) for h in hits], indent=2))
        return 0
    if not hits:
        print("no results", file=sys.stderr)
        return 0
    for h in hits:
        where = f"{h.path}:{h.start_line}-{h.end_line}"
        print(f"{where}  {h.symbol or h.kind}  [{h.source} {h.score:.3f}]")
        first = next((ln for ln in h.text.splitlines() if ln.strip()), "")
        print(f"    {first.strip()[:100]}")
    return 0
