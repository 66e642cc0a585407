"""`stead audit list | verify`: what was sent where, and proof the record is intact.

`verify` exits 1 and names the first damaged records when any record was edited, removed,
inserted or moved, or records were cut from the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "audit",
        help="list or verify the audit log of remote requests",
        description="Every egress attempt (remote requests: approved, trimmed, refused, "
        "failed; model downloads: approved, completed, failed) is recorded in a "
        "hash-chained, append-only log.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    ls = actions.add_parser("list", help="show the records, oldest first")
    ls.add_argument("-n", "--limit", type=int, default=0, help="only the last N records")
    ls.add_argument("--json", action="store_true", help="one JSON record per line")
    ls.set_defaults(run=run_list)
    verify = actions.add_parser("verify", help="check the hash chain; exit 1 when broken")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(run=run_verify)


def _log() -> Any:
    from server.egress.audit import AuditLog
    from server.paths import dirs

    return AuditLog(dirs().audit_log)


def format_record(r: dict[str, Any]) -> str:
    items = ", ".join(r.get("items") or []) or "-"
    line = (
        f"#{r.get('seq')} {r.get('time', '?')} {str(r.get('outcome', '?')).upper():8} "
        f"{r.get('provider') or '-'}" + (f" ({r.get('model')})" if r.get("model") else "")
    )
    details = []
    if r.get("tokens") is not None:
        details.append(f"tokens {r['tokens']}")
    details.append(f"items {items}")
    if r.get("dropped"):
        details.append(f"dropped {', '.join(r['dropped'])}")
    if r.get("reason"):
        details.append(f"reason: {r['reason']}")
    if r.get("detail"):
        details.append(str(r["detail"]))
    if r.get("manifest_sha256"):
        details.append(f"manifest {str(r['manifest_sha256'])[:16]}")
    return line + "\n    " + "; ".join(details)


def run_list(args: argparse.Namespace) -> int:
    records = _log().records()
    if args.limit > 0:
        records = records[-args.limit :]
    if not records:
        print("No remote requests recorded.", file=sys.stderr)
        return 0
    for r in records:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            print(format_record(r))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    log = _log()
    result = log.verify()
    if args.json:
        data = {"ok": result.ok, "records": result.records, "problems": list(result.problems)}
        print(json.dumps({**data, "last_hash": result.last_hash}))
    elif result.ok:
        print(f"OK: {result.records} record(s), hash chain intact ({log.path})")
        print(f"last record hash: {result.last_hash} (note it to detect a log rewritten whole)")
    else:
        print(f"BROKEN: {log.path} has been altered:", file=sys.stderr)
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
    return 0 if result.ok else 1
