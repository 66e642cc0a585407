"""`stead ask "question"`: one question, answered by the local model.

The manifest of the context used is printed first, then the answer as it is written.
(Asking a remote provider is an explicit, separate path with its own consent.)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    from server.cli.ask_remote import add_remote_arguments
    from server.cli.chat import add_common

    p = sub.add_parser(
        "ask",
        help="ask the local model one question about this workspace",
        description="Answer one question with the local model; the context manifest comes first.",
    )
    p.add_argument("question", nargs="+", help="the question ('-' reads it from stdin)")
    add_common(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON instead")
    add_remote_arguments(p)
    p.set_defaults(run=run)


def read_question(words: list[str]) -> str:
    if words == ["-"]:
        return sys.stdin.read()
    return " ".join(words)


def run(args: argparse.Namespace) -> int:
    if args.remote:
        from server.cli.ask_remote import run_remote

        return run_remote(args, read_question(args.question))
    return run_local(args)


def run_local(args: argparse.Namespace) -> int:
    """The local (default) path: in-process model, local index, nothing leaves the machine."""
    import io

    from server.chat.engine import manifest_dict
    from server.cli.chat import answer_once, explain_error, session

    question = read_question(args.question)
    if not question.strip():
        print("stead: the question is empty: ask something about the code", file=sys.stderr)
        return 2
    chat = session(args)
    out: Any = io.StringIO() if args.json else sys.stdout
    try:
        result = answer_once(chat, question, args, out, args.conversation)
    except Exception as exc:
        message = explain_error(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 1
    finally:
        chat.close()
    if result is None:
        return 130
    if getattr(args, "verbose", 0):
        for line in timing_lines(result.timings, result):
            print(line, file=sys.stderr)
    if args.json:
        payload = {
            "conversation_id": result.conversation_id,
            "answer": result.answer,
            "manifest": manifest_dict(result.selection, chat.root, result.notes),
            "model": result.model,
            "route": "local",
            "notes": list(result.notes),
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "stop_reason": result.stop_reason,
            "timings": result.timings,
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


#: The steps of one answer, in the order they happen, with what each one is.
STEPS = (
    ("backend", "model settings, file check"),
    ("index_open", "open the workspace index"),
    ("load", "load the model"),
    ("select", "search and choose context"),
    ("prompt", "read the prompt (before the first token)"),
    ("generate", "write the answer"),
)


def timing_lines(timings: dict[str, float], result: Any) -> list[str]:
    """Where the time went, for `stead ask --verbose` (on stderr, after the answer)."""
    out = ["time:"]
    for key, what in STEPS:
        if key in timings:
            out.append(f"  {timings[key] / 1000:7.2f} s  {what}")
    if "first_token" in timings:
        out.append(f"  first token after {timings['first_token'] / 1000:.2f} s of the turn")
    reused = int(timings.get("reused_tokens", 0))
    out.append(
        f"  {result.prompt_tokens} prompt tokens read ({reused} reused from the cache), "
        f"{result.completion_tokens} written; stop: {result.stop_reason}"
    )
    return out
