"""`stead chat`: an interactive conversation with the local model in the terminal.

Each answer is preceded by the manifest of the context it was given.  `/new` starts a new
conversation, `/quit` (or Ctrl-D) leaves; Ctrl-C stops an answer being written.
The local path of `stead ask` shares `answer_once` with it.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any, TextIO


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, help="workspace root (default: the git work tree)")
    p.add_argument("--file", metavar="PATH[:LINE]", help="the file (and line) it is about")
    p.add_argument("--conversation", metavar="ID", help="continue this conversation")
    p.add_argument("--budget", type=int, metavar="TOKENS", help="context budget in tokens")
    p.add_argument("--max-tokens", type=int, metavar="N", help="most tokens in the answer")
    p.add_argument("--model", metavar="GGUF", help="use this model file for this run")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "chat",
        help="chat with the local model about this workspace",
        description="Interactive chat in the terminal; the context manifest is printed first.",
    )
    add_common(p)
    p.set_defaults(run=run)


def _cursor(spec: str | None, root: Path) -> Any:
    from server.context.select import Cursor
    from server.context.symbols import read_text

    if not spec:
        return None
    head, _, tail = spec.rpartition(":")
    path_s, line_s = (head, tail) if head and tail.isdigit() else (spec, "")
    path = Path(path_s)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    text = read_text(str(path))
    if text is None:
        raise SystemExit(f"stead: cannot read {path} (missing, binary or too large)")
    return Cursor(str(path), int(line_s) if line_s else 1, text)


def session(args: argparse.Namespace) -> Any:
    from server.chat.local import LocalChat
    from server.paths import workspace_root

    root = (args.root or workspace_root(Path.cwd())).resolve()
    overrides = {"model": {"path": str(Path(args.model).resolve())}} if args.model else None
    chat = LocalChat(root, overrides=overrides)
    for problem in chat.problems:
        print(f"stead: {problem}", file=sys.stderr)
    return chat


def answer_once(
    chat: Any, question: str, args: argparse.Namespace, out: TextIO, conversation: str | None
) -> Any:
    """Ask one question: print the manifest, stream the answer; Ctrl-C stops the answer."""
    from server.chat.engine import manifest_dict, manifest_lines

    cancel = threading.Event()
    box: dict[str, Any] = {}

    def on_selection(selection: Any, notes: tuple[str, ...], budget_why: str = "") -> None:
        for line in manifest_lines(manifest_dict(selection, chat.root, notes, budget_why)):
            out.write(line + "\n")
        out.write("\n")
        out.flush()

    def on_text(text: str) -> None:
        out.write(text)
        out.flush()

    def work() -> None:
        try:
            box["result"] = chat.ask(
                question,
                conversation_id=conversation,
                cursor=_cursor(args.file, chat.root),
                budget=args.budget,
                max_tokens=args.max_tokens,
                cancel=cancel,
                on_selection=on_selection,
                on_text=on_text,
            )
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    t = threading.Thread(target=work, name="stead-ask", daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(0.1)
    except KeyboardInterrupt:
        cancel.set()
        t.join()
    out.write("\n")
    out.flush()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def explain_error(exc: BaseException) -> str | None:
    """A user-facing message for the errors a question can end in, else None."""
    from server.backends.base import ModelError
    from server.chat.engine import EmptyQuestion
    from server.chat.store import ConversationError

    if isinstance(exc, EmptyQuestion | ConversationError | ModelError):
        return f"stead: {exc}"
    return None


def run(args: argparse.Namespace) -> int:
    from server.chat.engine import EmptyQuestion
    from server.chat.store import ConversationError

    chat = session(args)
    conversation: str | None = args.conversation
    interactive = sys.stdin.isatty()
    out = sys.stdout
    if interactive:
        out.write(f"stead chat in {chat.root} (/new starts over, /quit or Ctrl-D leaves)\n")
        out.flush()
    try:
        while True:
            try:
                question = input("> " if interactive else "")
            except EOFError:
                return 0
            except KeyboardInterrupt:
                out.write("\n")
                return 0
            q = question.strip()
            if not q:
                continue
            if q in ("/quit", "/exit"):
                return 0
            if q == "/new":
                conversation = None
                out.write("(new conversation)\n")
                continue
            try:
                result = answer_once(chat, q, args, out, conversation)
            except Exception as exc:
                message = explain_error(exc)
                if message is None:
                    raise
                print(message, file=sys.stderr)
                if not isinstance(exc, EmptyQuestion | ConversationError):
                    return 1  # no usable model: asking again will not help
                continue
            if result is not None:
                conversation = result.conversation_id
                if interactive:
                    out.write(f"(conversation {conversation})\n")
    finally:
        chat.close()
