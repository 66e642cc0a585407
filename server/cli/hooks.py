"""`stead hooks install|uninstall|run`: the git post-commit hook that links history to commits."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("hooks", help="git hooks: link prompt history to commits")
    hs = p.add_subparsers(dest="hooks_command", metavar="ACTION")
    hs.required = True
    i = hs.add_parser(
        "install", help="add the post-commit hook (an existing hook is kept and chained)"
    )
    i.add_argument("-C", dest="repo", default=".", help="the repository (default: here)")
    i.set_defaults(run=run_install)
    u = hs.add_parser("uninstall", help="remove stead's hook, restoring any previous one")
    u.add_argument("-C", dest="repo", default=".")
    u.set_defaults(run=run_uninstall)
    r = hs.add_parser("run", help=argparse.SUPPRESS)
    r.add_argument("hook", choices=["post-commit"])
    r.add_argument("--rev", default="HEAD")
    r.set_defaults(run=run_hook)


def run_install(args: argparse.Namespace) -> int:
    from server.gitlink import GitError, install_hook

    try:
        print(install_hook(args.repo))
    except GitError as exc:
        print(f"stead hooks install: {exc}", file=sys.stderr)
        return 1
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    from server.gitlink import GitError, uninstall_hook

    try:
        print(uninstall_hook(args.repo))
    except GitError as exc:
        print(f"stead hooks uninstall: {exc}", file=sys.stderr)
        return 1
    return 0


def run_hook(args: argparse.Namespace) -> int:
    """Runs inside `git commit`: never fails the commit, says little."""
    from server.gitlink import link_commit
    from server.paths import dirs

    db = dirs().history_db
    if not db.exists():
        return 0
    try:
        info, n = link_commit(db, args.rev, ".")
    except Exception as exc:
        print(f"stead: history not linked to the commit: {exc}", file=sys.stderr)
        return 0
    if n:
        print(f"stead: linked {n} history entries to {info.sha[:10]}", file=sys.stderr)
    return 0
