"""`stead serve`: the language server on stdio (or TCP for debugging)."""

from __future__ import annotations

import argparse
from typing import Any


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the language server on stdio")
    p.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen on TCP instead")
    p.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from server.lsp import build

    ls = build()
    if args.tcp:
        ls.start_tcp(*args.tcp)
        return ls.exit_status
    else:
        ls.start_io()
    return ls.exit_status
