"""`stead history`: list, show, search, private, delete, export, import, vacuum, --commit.

The same store the editors use (the user data dir); every command works offline and on the
redacted text only.  `--json` gives machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.history import HistoryStore, StoredEntry

_REL = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(value: str, now: float | None = None) -> float:
    """"7d", "12h", "30m" (ago), a Unix time, or an ISO date/time -> Unix time."""
    now = time.time() if now is None else now
    v = value.strip()
    m = _REL.match(v)
    if m:
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        return float(v)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(v).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 7d / 12h / 30m, a Unix time or an ISO date, got {value!r}"
        ) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser("history", help="the local prompt history (redacted)")
    p.add_argument("--commit", metavar="SHA", help="entries linked to this git commit")
    p.add_argument("-C", dest="repo", default=".", help="repository for --commit")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(run=run_default)
    hs = p.add_subparsers(dest="history_command", metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)

    def filters(q: argparse.ArgumentParser) -> None:
        q.add_argument("--kind", choices=["completion", "chat", "escalation"])
        q.add_argument("--workspace", help="only this workspace (and below)")
        q.add_argument("--here", action="store_true", help="only the current directory's workspace")

    ls_ = hs.add_parser("list", help="recent entries, newest first")
    ls_.add_argument("-n", "--limit", type=int, default=30)
    ls_.add_argument("--offset", type=int, default=0)
    ls_.add_argument("--since", type=parse_when, help="7d, 12h, an ISO date ...")
    ls_.add_argument("--private", action="store_true", help="only private entries")
    filters(ls_)
    common(ls_)
    ls_.set_defaults(run=run_list)

    show = hs.add_parser("show", help="one entry in full (its redacted text)")
    show.add_argument("id", type=int)
    common(show)
    show.set_defaults(run=run_show)

    se = hs.add_parser("search", help="full-text search over prompts and answers")
    se.add_argument("query", nargs="+")
    se.add_argument("-n", "--limit", type=int, default=30)
    filters(se)
    common(se)
    se.set_defaults(run=run_search)

    pr = hs.add_parser("private", help="mark entries private: never exported, never sent")
    pr.add_argument("ids", type=int, nargs="+")
    pr.add_argument("--off", action="store_true", help="make them ordinary again")
    pr.set_defaults(run=run_private)

    de = hs.add_parser("delete", help="delete entries for good (by id, filter, or --all)")
    de.add_argument("ids", type=int, nargs="*")
    de.add_argument("--all", action="store_true", help="every entry")
    de.add_argument("--before", type=parse_when, help="entries older than this")
    de.add_argument("--query", help="entries matching this search")
    de.add_argument("--vacuum", action="store_true", help="also compact the database file")
    de.add_argument("--yes", action="store_true", help="needed with --all or a filter")
    filters(de)
    de.set_defaults(run=run_delete)

    ex = hs.add_parser("export", help="write JSONL (private entries never included)")
    ex.add_argument("file", nargs="?", default="-", help="output file (default: stdout)")
    ex.add_argument("--since", type=parse_when)
    filters(ex)
    ex.set_defaults(run=run_export)

    im = hs.add_parser("import", help="read JSONL written by export (redacted again)")
    im.add_argument("file", help="input file, or - for stdin")
    im.set_defaults(run=run_import)

    va = hs.add_parser("vacuum", help="compact the database file")
    va.set_defaults(run=run_vacuum)


def _store() -> HistoryStore:
    from server.history import HistoryStore
    from server.paths import dirs

    store = HistoryStore(dirs().history_db)
    if store.recovered:
        print(f"stead: {store.recovered}", file=sys.stderr)
    return store


def _workspace(args: argparse.Namespace) -> str | None:
    if getattr(args, "here", False):
        return os.getcwd()
    ws = getattr(args, "workspace", None)
    return os.path.abspath(ws) if ws else None


def _line(e: StoredEntry) -> str:
    when = datetime.fromtimestamp(e.ts).strftime("%Y-%m-%d %H:%M")
    flag = " [private]" if e.private else ""
    return f"{e.id:>6}  {when}  {e.kind:<10} {e.route:<14} {e.outcome:<9}{flag}  {e.summary(60)}"


def _print_entries(entries: list[StoredEntry], as_json: bool) -> None:
    from server.history.model import entry_json

    if as_json:
        print(json.dumps([entry_json(e) for e in entries], ensure_ascii=False, indent=1))
        return
    if not entries:
        print("no entries")
    for e in entries:
        print(_line(e))


def _fail(exc: Exception) -> int:
    print(f"stead history: {exc}", file=sys.stderr)
    return 1


def run_default(args: argparse.Namespace) -> int:
    if args.commit:
        return run_commit(args)
    args.limit, args.offset, args.since, args.private = 30, 0, None, False
    args.kind = args.workspace = None
    return run_list(args)


def run_list(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    try:
        entries = _store().list(limit=args.limit, offset=args.offset, kind=args.kind,
                                workspace=_workspace(args), since=args.since,
                                private=True if args.private else None)
    except HistoryError as exc:
        return _fail(exc)
    _print_entries(entries, args.json)
    return 0


def run_search(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    try:
        entries = _store().search(" ".join(args.query), limit=args.limit, kind=args.kind,
                                  workspace=_workspace(args))
    except HistoryError as exc:
        return _fail(exc)
    _print_entries(entries, args.json)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from server.history import HistoryError
    from server.history.model import entry_json

    try:
        store = _store()
        e = store.get(args.id)
        commits = store.commits_for(args.id) if e else []
    except HistoryError as exc:
        return _fail(exc)
    if e is None:
        return _fail(Exception(f"no entry {args.id}"))
    if args.json:
        out = entry_json(e, full=True)
        out["commits"] = [{"sha": s, "confidence": c} for s, c in commits]
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    when = datetime.fromtimestamp(e.ts).isoformat(timespec="seconds")
    print(f"entry {e.id}  {when}  {e.kind}  route={e.route}  model={e.model or '-'}  "
          f"outcome={e.outcome}{'  [private]' if e.private else ''}")
    print(f"workspace: {e.workspace or '-'}")
    for f in e.files:
        rng = f":{f.start_line}-{f.end_line}" if f.start_line else ""
        print(f"file: {f.path}{rng}")
    print(f"tokens: {e.prompt_tokens} in, {e.completion_tokens} out; {e.latency_ms:.0f} ms")
    if e.redactions:
        print("redacted: " + ", ".join(f"{k} x{n}" for k, n in sorted(e.redactions.items())))
    for sha, conf in commits:
        print(f"commit: {sha[:12]} (confidence {conf:.2f})")
    print("\n--- prompt ---\n" + e.prompt)
    if e.response:
        print("\n--- response ---\n" + e.response)
    return 0


def run_private(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    try:
        n = _store().set_private(args.ids, not args.off)
    except HistoryError as exc:
        return _fail(exc)
    print(f"{n} entr{'y' if n == 1 else 'ies'} marked {'ordinary' if args.off else 'private'}")
    return 0 if n == len(set(args.ids)) else 1


def run_delete(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    workspace = _workspace(args)
    by_filter = any(v is not None for v in (args.kind, workspace, args.before, args.query))
    if not args.ids and not args.all and not by_filter:
        return _fail(Exception("say which entries: ids, --all, or a filter"))
    if (args.all or by_filter) and not args.ids and not args.yes:
        return _fail(Exception("deleting by --all or a filter needs --yes"))
    try:
        n = _store().delete(args.ids or None, everything=args.all, kind=args.kind,
                            workspace=workspace, before=args.before, query=args.query,
                            vacuum=args.vacuum)
    except HistoryError as exc:
        return _fail(exc)
    print(f"deleted {n} entr{'y' if n == 1 else 'ies'}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    try:
        store = _store()
        if args.file == "-":
            n = store.export(sys.stdout, kind=args.kind, workspace=_workspace(args),
                             since=args.since)
        else:
            path = Path(args.file)
            tmp = path.with_name(path.name + ".part")
            with open(tmp, "w", encoding="utf-8") as out:
                n = store.export(out, kind=args.kind, workspace=_workspace(args),
                                 since=args.since)
            tmp.replace(path)
    except (HistoryError, OSError) as exc:
        return _fail(exc)
    print(f"exported {n} entr{'y' if n == 1 else 'ies'} (private entries left out)",
          file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    try:
        if args.file == "-":
            result = _store().import_(sys.stdin.buffer)
        else:
            with open(args.file, "rb") as f:
                result = _store().import_(f)
    except (HistoryError, OSError) as exc:
        return _fail(exc)
    for err in result.errors:
        print(f"stead history import: {err}", file=sys.stderr)
    print(f"imported {result.added}, already present {result.skipped}, "
          f"bad lines {len(result.errors)}")
    return 1 if result.errors else 0


def run_vacuum(args: argparse.Namespace) -> int:
    from server.history import HistoryError

    try:
        _store().vacuum()
    except HistoryError as exc:
        return _fail(exc)
    print("history compacted")
    return 0


def run_commit(args: argparse.Namespace) -> int:
    """Entries linked to a commit; linked now if the hook did not run for it."""
    from server.gitlink import GitError, commit_info, link_commit
    from server.history import HistoryError
    from server.paths import dirs

    db = dirs().history_db
    try:
        sha = commit_info(args.commit, args.repo).sha
        store = _store()
        links = store.links_for_commit(sha)
        if not links:
            link_commit(db, sha, args.repo)
            links = store.links_for_commit(sha)
    except (GitError, HistoryError) as exc:
        return _fail(exc)
    if args.json:
        from server.history.model import entry_json

        print(json.dumps([{"confidence": lk.confidence, "reason": lk.reason,
                           "entry": entry_json(lk.entry)} for lk in links], indent=1))
        return 0
    if not links:
        print(f"no history entries linked to {sha[:12]}")
    for lk in links:
        print(f"{lk.confidence:.2f}  {_line(lk.entry)}\n      {lk.reason}")
    return 0
