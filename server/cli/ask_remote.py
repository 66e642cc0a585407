"""`stead ask --remote PROVIDER`: one explicit, previewed, audited remote question.

The manifest (provider, model, every file and line range, tokens, cost, redactions, the
policy's reason) is printed to stderr first; nothing is sent until the user approves it on
the terminal.  With stdin not a terminal it refuses unless `--yes` was given.  The answer
goes to stdout with placeholders mapped back locally.  `stead ask` without `--remote`
stays local (see `server/cli/ask.py`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from server.egress.manifest import Item, Manifest

_SPEC = re.compile(r"^(?P<path>.+?)(?::(?P<start>\d+)(?:-(?P<end>\d+))?)?$")


def add_remote_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--remote",
        metavar="PROVIDER",
        help="ask this configured remote provider instead (shows the manifest and asks first)",
    )
    p.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATH[:START[-END]]",
        help="with --remote: a file or line range to send (repeatable; 1-based, inclusive)",
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help="with --remote: approve the manifest without asking (needed when stdin is no tty)",
    )
    p.add_argument(
        "--reason",
        default="user asked",
        choices=("user asked", "local model declined", "context exceeds the local window"),
        help=argparse.SUPPRESS,
    )


def parse_spec(spec: str) -> Item:
    """`path`, `path:LINE` or `path:START-END` → an Item (1-based, inclusive)."""
    from server.egress.manifest import Item

    m = _SPEC.match(spec)
    if not m:
        raise ValueError(f"bad --include {spec!r}: expected PATH[:START[-END]]")
    start = int(m["start"]) if m["start"] else 1
    end = int(m["end"]) if m["end"] else (start if m["start"] else 0)
    return Item(m["path"], start, end)


def _root(args: argparse.Namespace) -> Path:
    from server.cli.index import workspace_root

    return workspace_root(getattr(args, "root", None))


def describe(m: Manifest) -> str:
    """The manifest as the terminal shows it."""
    lines = [
        f"Remote request to {m.provider} ({m.kind}, model {m.model})",
        f"  url:     {m.url}",
        f"  reason:  {m.reason}",
        f"  tokens:  {m.tokens} in (cl100k estimate), at most {m.max_output_tokens} out",
    ]
    if m.estimated_cost_usd is not None:
        lines.append(f"  cost:    at most ${m.estimated_cost_usd:.4f} (estimate)")
    lines.append(f"  question: {m.question.strip()[:200]}")
    if m.items:
        lines.append("  items:")
        lines += [
            f"    [{i.index}] {i.path}:{i.start_line}-{i.end_line} ({i.tokens} tokens)"
            for i in m.items
        ]
    else:
        lines.append("  items:   none (the question only)")
    if m.excluded:
        lines.append("  excluded (never sent):")
        lines += [f"    {e.path}: {e.reason}" for e in m.excluded]
    if m.redactions:
        lines.append("  redacted before sending:")
        lines += [
            f"    {r.where}: {r.kind} -> {r.placeholder}"
            + (f" (value #{r.fingerprint})" if r.fingerprint else "")
            for r in m.redactions
        ]
    lines.append(f"  manifest sha256: {m.sha256}")
    return "\n".join(lines)


def _confirm(m: Manifest, err: TextIO) -> list[int] | None:
    """Ask on the terminal: the items to drop when approved, None when refused."""
    dropped: list[int] = []
    known = {i.index for i in m.items}
    while True:
        err.write(f"Send this to {m.provider}? [y]es / [n]o / [d]rop N [N...] / [p]ayload: ")
        err.flush()
        line = sys.stdin.readline()
        if not line:
            return None
        answer = line.strip().lower()
        if answer in ("y", "yes"):
            return dropped
        if answer in ("", "n", "no", "q"):
            return None
        if answer in ("p", "payload"):
            err.write(m.payload + "\n")
            continue
        if answer.startswith("d"):
            words = answer[1:].replace("rop", "", 1).replace(",", " ").split()
            picks = {int(w) for w in words if w.isdigit()}
            if not picks or not picks <= known:
                err.write(f"  items are numbered {sorted(known)}\n")
                continue
            dropped = sorted(set(dropped) | picks)
            kept = [f"[{i.index}] {i.path}" for i in m.items if i.index not in dropped]
            err.write(f"  will send: {', '.join(kept) or 'the question only'}\n")
            continue
        err.write("  please answer y, n, d N or p\n")


def run_remote(args: argparse.Namespace, question: str) -> int:
    import asyncio

    from server.egress.audit import AuditLog
    from server.egress.flow import EgressFailed, EgressRefused, Escalations, load_private_texts
    from server.paths import dirs
    from server.settings import resolve

    err = sys.stderr
    if not question.strip():
        print("stead: the question is empty", file=err)
        return 2
    d = dirs()
    loaded = resolve(file=d.config_file)
    for problem in loaded.problems:
        print(f"stead: {problem}", file=err)
    try:
        items = [parse_spec(s) for s in args.include]
    except ValueError as exc:
        print(f"stead: {exc}", file=err)
        return 2
    if not items and getattr(args, "file", None):
        items = [parse_spec(args.file)]
    root = _root(args)
    esc = Escalations(AuditLog(d.audit_log), history_db=d.history_db)
    try:
        manifest = esc.preview(
            question,
            items,
            loaded.settings,
            provider=args.remote,
            roots=[root],
            reason=args.reason,
            private_texts=load_private_texts(d.history_db),
        )
    except EgressRefused as exc:
        print(f"stead: refused, nothing sent: {exc}", file=err)
        return 1
    print(describe(manifest), file=err)
    if args.yes:
        dropped: list[int] | None = []
    elif not sys.stdin.isatty():
        esc.decline(manifest.id, "stdin is not a terminal and --yes was not given")
        print(
            "stead: refused, nothing sent: stdin is not a terminal; "
            "pass --yes to approve the manifest above",
            file=err,
        )
        return 1
    else:
        dropped = _confirm(manifest, err)
    if dropped is None:
        esc.decline(manifest.id)
        print("stead: not sent.", file=err)
        return 1
    as_json = bool(getattr(args, "json", False))

    def on_text(text: str) -> None:
        if not as_json:
            sys.stdout.write(text)
            sys.stdout.flush()

    try:
        sent = asyncio.run(esc.send(manifest.id, dropped, loaded.settings, on_text))
    except EgressRefused as exc:
        print(f"\nstead: refused, nothing sent: {exc}", file=err)
        return 1
    except EgressFailed as exc:
        print(f"\nstead: the remote request failed: {exc}", file=err)
        return 1
    if as_json:
        from server.egress.manifest import to_dict

        out: dict[str, Any] = {
            "answer": sent.text,
            "route": "remote",
            "outcome": sent.outcome,
            "finish_reason": sent.finish_reason,
            "manifest": to_dict(sent.manifest),
        }
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    if not sent.text.endswith("\n"):
        sys.stdout.write("\n")
    return 0
