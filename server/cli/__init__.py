"""The `stead` command.  Each subcommand lives in its own module with `add_parser(sub)`.

Subcommand modules import their heavy dependencies inside their run functions so that
`stead --help` and `stead serve` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from server import __version__


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; make the message point at --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stead",
        description="stead: a local-first AI coding assistant (language server and CLI).",
    )
    parser.add_argument("--version", action="version", version=f"stead {__version__}")
    _add_common(parser, top=True)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, top=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser = _with_parents(sub.add_parser, common)  # type: ignore[method-assign]
    sub.required = True
    names = sorted(m.name for m in pkgutil.iter_modules(__path__))
    if only in names:
        # `stead serve` must start fast: load just the module named like the command
        names = [only]
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        add = getattr(module, "add_parser", None)
        if add is not None:
            add(sub)
    return parser


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """-v and --log-file work before or after the subcommand."""
    default: Any = 0 if top else argparse.SUPPRESS
    parser.add_argument(
        "-v", "--verbose", action="count", default=default, help="more logging (-vv for debug)"
    )
    parser.add_argument(
        "--log-file", default=None if top else argparse.SUPPRESS,
        help="write logs to this file instead of stderr",
    )


def _with_parents(add: Callable[..., Any], common: argparse.ArgumentParser) -> Callable[..., Any]:
    def add_parser(name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("parents", [common])
        return add(name, **kwargs)

    return add_parser


def setup_logging(verbose: int, log_file: str | None) -> None:
    """Logs go to stderr or a file, never stdout: stdout is the LSP channel."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("server").setLevel(level)
    logging.getLogger("index").setLevel(level)


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand word, when it is the first non-option argument."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--log-file":
            skip = True
        elif arg in ("-h", "--help", "--version"):
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command(argv))
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:  # the fast path missed: use the whole parser
        args = build_parser().parse_args(argv)
    from server.nativelog import capture_native_stderr

    capture_native_stderr()  # before the handlers: they write to the new sys.stderr
    setup_logging(args.verbose, args.log_file)
    try:
        result = args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return int(result or 0)
