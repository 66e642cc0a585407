"""One chat turn: plan the window, select context, build the prompt, generate, remember.

Everything the turn needs is passed in (store, backend, a context selector), so the same
function serves `stead/chat`, `stead ask` and `stead chat`.  It blocks: callers run it off
the event loop and stop it with `cancel`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import evolve, field, frozen

from server.chat.guard import LoopGuard
from server.chat.prompt import SYSTEM, Plan, Turn, build, plan, rel_path
from server.chat.store import ChatStore
from server.context.types import Item, Selection

log = logging.getLogger(__name__)

#: Token-count multipliers tried in turn when the model says the prompt is too long.
OVERFLOW_SCALES = (1, 2, 4, 8)
_OVERFLOW = ("exceeds the context window", "cannot fit")
#: Longest question accepted at all (characters); longer ones are cut, never refused.
MAX_QUESTION_CHARS = 1_000_000


class EmptyQuestion(ValueError):
    pass


@frozen
class TurnResult:
    conversation_id: str
    answer: str  # model text + notes
    text: str  # the model's text alone
    notes: tuple[str, ...]
    selection: Selection
    model: str
    prompt_tokens: int
    completion_tokens: int
    stop_reason: str
    latency_ms: float
    messages: tuple[Turn, ...] = ()
    #: Where the time went, in milliseconds: select, load, prompt (reading it, until the
    #: first token), generate (after the first token), first_token (from the start), total.
    timings: dict[str, float] = field(factory=dict)
    #: How the context budget was chosen, for the manifest.
    budget_why: str = ""
    #: True when the loop guard ended the answer.
    looped: bool = False


#: A follow-up shorter than this many words ("and then?", "why?") is searched for together
#: with the question before it.
FOLLOW_UP_WORDS = 8


def retrieval_query(question: str, history: list[Turn]) -> str:
    """What to search the workspace for: short follow-ups lean on the previous question."""
    if len(question.split()) >= FOLLOW_UP_WORDS:
        return question
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    return f"{previous[:2000]}\n{question}" if previous else question


#: Seconds of prompt reading the context may cost before the first token (cold); the
#: budget shrinks on slow hardware and grows on fast.  Reused (cached) tokens cost nothing.
PROMPT_SECONDS = 20.0
#: Prompt reading speed assumed before one is measured: tokens/s for a 1 GB GGUF on one
#: core-pair of a laptop CPU, scaled by the model file's size.
DEFAULT_RATE_GB = 22.0


def prompt_rate(backend: Any) -> tuple[float, bool]:
    """(prompt tokens read per second, measured?) for this backend."""
    measured = float(getattr(backend, "prompt_rate", 0.0) or 0.0)
    if measured > 0:
        return measured, True
    path = getattr(backend, "path", None)
    try:
        size_gb = max(0.05, Path(path).stat().st_size / 1e9) if path else 0.0
    except OSError:
        size_gb = 0.0
    if not size_gb:
        return 0.0, False  # a server model: its speed is not ours to guess
    return DEFAULT_RATE_GB / size_gb, False


#: The reading-time cap never shrinks the context below this: an answer without the code
#: it is about is worth less than a slower one (a busy machine reads very slowly).
MIN_CONTEXT = 512


def latency_cap(rate: float, seconds: float = PROMPT_SECONDS) -> int | None:
    """Most new context tokens readable in `seconds` at `rate`, at least MIN_CONTEXT
    (None: no cap known)."""
    return max(MIN_CONTEXT, int(rate * seconds)) if rate > 0 else None


def notes_trailer(notes: tuple[str, ...]) -> str:
    return "".join(f"\n\nNote: {n}" for n in notes)


def run_turn(
    question: str,
    *,
    store: ChatStore,
    backend: Any,
    select_fn: Callable[[int, Callable[[str], int], str], Selection],
    conversation_id: str | None = None,
    workspace: str = "",
    root: Path | None = None,
    n_ctx: int = 2048,
    max_tokens: int = 512,
    chat_budget: int = 1200,
    cancel: threading.Event | None = None,
    on_text: Callable[[str], None] | None = None,
    record: Callable[[TurnResult], object] | None = None,
    on_selection: Callable[[Selection, tuple[str, ...], str], None] | None = None,
) -> TurnResult:
    """Answer `question` in a conversation with the local model, streaming to `on_text`.

    `select_fn(budget, count, query)` chooses the context for `query` (the question, with
    the previous one for a short follow-up): `budget` tokens as measured by `count`.
    """
    from server.backends.base import ChatMessage

    if not question.strip():
        raise EmptyQuestion("the question is empty: type what you want to know about the code")
    question = question[:MAX_QUESTION_CHARS]
    cancel = cancel or threading.Event()
    cid = store.open(conversation_id, workspace=workspace, title=" ".join(question.split())[:80])
    stored = store.messages(cid)
    history = [Turn(m.role, m.content) for m in stored if m.role in ("user", "assistant")]
    earlier = next((m.manifest for m in reversed(stored) if m.role == "user" and m.manifest), None)

    # The manifest is announced once, for the attempt that answers, before its first piece.
    pending: list[tuple[Selection, tuple[str, ...], str]] = []

    def announce() -> None:
        if pending and on_selection is not None:
            on_selection(*pending[-1])
        pending.clear()

    query = retrieval_query(question, history)

    def stream(piece: str) -> bool:
        announce()
        if "first_token" not in timings and piece:
            timings["first_token"] = (time.perf_counter() - started) * 1000
        if on_text is not None and piece:
            on_text(piece)
        return guard.feed(piece) and not cancel.is_set()

    window = min(n_ctx, int(getattr(backend, "context_length", n_ctx) or n_ctx))
    started = time.perf_counter()
    timings: dict[str, float] = {}
    rate, measured = prompt_rate(backend)
    latency = latency_cap(rate)
    guard = LoopGuard()
    if hasattr(backend, "load") and not getattr(backend, "loaded", True):
        t0 = time.perf_counter()
        backend.load()
        timings["load"] = (time.perf_counter() - t0) * 1000
    # Token counts are the backend's estimate; when the model's own tokenizer finds the
    # prompt too long after all, plan again with counts scaled up rather than fail.
    for scale in OVERFLOW_SCALES:

        def count(text: str, scale: int = scale) -> int:
            return int(backend.count_tokens(text)) * scale

        q_tokens = count(question[:200_000]) if len(question) < 200_000 else len(question)
        budget = plan(window, max_tokens, chat_budget, count(SYSTEM) + 24, q_tokens)
        why = budget_reason(budget, window, max_tokens, chat_budget, latency, rate, measured)
        t0 = time.perf_counter()
        def fresh(left: int, count: Callable[[str], int] = count) -> Selection:
            return select_fn(left, count, query)

        selection = with_earlier(earlier, budget.context, count, root, fresh, new_cap=latency)
        timings["select"] = (time.perf_counter() - t0) * 1000
        prompt = build(question, history, selection, budget, count=count, root=root)
        pending[:] = [(selection, (*selection.notes, *prompt.notes), why)]
        try:
            gen = backend.chat(
                [ChatMessage(m.role, m.content) for m in prompt.messages],
                max_tokens=budget.answer,
                cancel=cancel,
                on_text=stream,
            )
            break
        except Exception as exc:
            overflow = type(exc).__name__ == "ContextOverflow" or any(
                s in str(exc) for s in _OVERFLOW
            )
            if not overflow or scale == OVERFLOW_SCALES[-1]:
                raise
            log.info("prompt overflowed the model's window; planning with counts x%d", scale * 2)
    announce()
    notes = list(selection.notes) + list(prompt.notes)
    if guard.tripped:
        notes.append(
            f"The answer started repeating itself ({guard.why}) and was stopped there."
        )
    elif gen.stop_reason == "max_tokens":
        notes.append(
            f"The answer stopped at the {budget.answer}-token limit and may be incomplete "
            "(chat.max_tokens sets it)."
        )
    elif gen.stop_reason in ("cancelled", "callback"):
        notes.append("The answer was cancelled.")
    elif gen.stop_reason == "timeout":
        notes.append(
            "The model timed out; the answer may be incomplete (model.timeout_s sets the limit)."
        )
    trailer = notes_trailer(tuple(notes))
    if trailer and on_text is not None:
        on_text(trailer)
    total = (time.perf_counter() - started) * 1000
    gen_ms = float(getattr(gen, "latency_ms", 0.0) or 0.0)
    timings["prompt"] = float(getattr(gen, "prompt_ms", 0.0) or 0.0)
    timings["generate"] = max(0.0, gen_ms - timings["prompt"])
    timings["total"] = total
    timings["reused_tokens"] = float(getattr(gen, "reused_tokens", 0) or 0)
    elapsed = gen_ms or total
    result = TurnResult(
        conversation_id=cid,
        answer=gen.text + trailer,
        text=gen.text,
        notes=tuple(notes),
        selection=selection,
        model=model_name(backend),
        prompt_tokens=int(gen.prompt_tokens),
        completion_tokens=int(gen.completion_tokens),
        stop_reason="loop" if guard.tripped else str(gen.stop_reason),
        latency_ms=elapsed,
        messages=prompt.messages,
        timings=timings,
        budget_why=why,
        looped=guard.tripped,
    )
    manifest = manifest_dict(selection, root, tuple(notes), why)
    store.append(cid, "user", question, manifest)
    store.append(cid, "assistant", gen.text)
    if record is not None:
        record(result)
    return result


def model_name(backend: Any) -> str:
    info = getattr(backend, "info", None)
    return str(getattr(info, "name", "") or getattr(backend, "name", ""))


#: Reason shown for context carried over from the previous turn of the conversation.
EARLIER = "earlier in this conversation"


def carried(manifest: dict[str, Any] | None, root: Path | None) -> list[Item]:
    """The previous turn's context, re-read from disk, in the same order and with the same
    reasons, so a follow-up's prompt begins exactly like the last one (the model reuses
    what it has read).  Items whose file changed length or vanished are skipped."""
    from server.context.symbols import read_text

    out: list[Item] = []
    for i in (manifest or {}).get("items", []):
        path = str(i.get("path", ""))
        full = path if os.path.isabs(path) or root is None else str(root / path)
        text = read_text(full)
        if text is None:
            continue
        lines = text.splitlines(keepends=True)
        start, end = int(i.get("start_line", 1)), int(i.get("end_line", 0))
        if not 1 <= start <= end <= len(lines):
            continue
        reasons = tuple(i.get("reasons") or [i.get("reason", EARLIER)])
        out.append(Item(full, start, end, "".join(lines[start - 1 : end]),
                        int(i.get("tokens", 0)), reasons, float(i.get("score", 0.0)),
                        EARLIER))
    return out


def with_earlier(
    manifest: dict[str, Any] | None,
    budget: int,
    count: Callable[[str], int],
    root: Path | None,
    select: Callable[[int], Selection],
    new_cap: int | None = None,
) -> Selection:
    """A follow-up keeps the previous turn's context first (while it fits) and spends what
    is left of the budget on new context for the new question.

    `budget` is what the model's window allows; `new_cap` bounds only the new context (what
    the model must read): the earlier context is read already and costs no time again.
    """
    kept: list[Item] = []
    used = 0
    for item in carried(manifest, root):
        t = count(item.text)
        if used + t > budget:
            break
        kept.append(evolve(item, tokens=t))
        used += t
    left = budget - used if new_cap is None else min(budget - used, new_cap)
    fresh = select(max(0, left))
    fresh = evolve(fresh, budget=budget)
    if not kept:
        return fresh
    new = [i for i in fresh.items if not any(
        os.path.normpath(i.path) == os.path.normpath(k.path)
        and i.start_line <= k.end_line and k.start_line <= i.end_line for k in kept)]
    return Selection((*kept, *new), fresh.dropped, budget, fresh.notes)


def budget_reason(
    budget: Plan, window: int, max_tokens: int, chat_budget: int, latency: int | None,
    rate: float, measured: bool,
) -> str:
    """One sentence on how the context budget was chosen (the manifest shows it)."""
    parts = [f"{window}-token model window less {budget.answer} for the answer",
             f"context.chat_budget {chat_budget}"]
    text = f"context budget {budget.context} tokens: the least of " + ", ".join(parts)
    if latency is not None:
        how = "measured" if measured else "estimated"
        text += (f"; new context at most {latency} tokens (~{PROMPT_SECONDS:.0f} s of prompt "
                 f"reading at {rate:.0f} tok/s, {how}; at least {MIN_CONTEXT})")
    return text


def manifest_dict(
    selection: Selection,
    root: Path | None,
    notes: tuple[str, ...] | None = None,
    budget_why: str = "",
) -> dict[str, Any]:
    """The manifest as plain JSON (protocol.Manifest's shape)."""
    return {
        "items": [
            {
                "path": rel_path(i.path, root),
                "uri": Path(i.path).as_uri() if Path(i.path).is_absolute() else i.path,
                "start_line": i.start_line,
                "end_line": i.end_line,
                "tokens": i.tokens,
                "reason": i.reason,
                "reasons": list(i.reasons),
                "detail": i.detail,
                "score": round(i.score, 6),
            }
            for i in selection.items
        ],
        "dropped": [
            {
                "path": rel_path(d.path, root),
                "start_line": d.start_line,
                "end_line": d.end_line,
                "tokens": d.tokens,
                "why": d.why,
            }
            for d in selection.dropped
        ],
        "tokens": selection.tokens,
        "budget": selection.budget,
        "cut": selection.cut,
        "notes": list(selection.notes if notes is None else notes),
        "budget_why": budget_why,
    }


#: Chunks left out that a terminal manifest lists by name (the rest are counted).
MANIFEST_LEFT_OUT = 5


def manifest_lines(manifest: dict[str, Any]) -> list[str]:
    """The manifest for a terminal: one line per chunk, then what was left out, then notes."""
    items = manifest.get("items", [])
    out = [
        f"context: {len(items)} chunk(s), {manifest.get('tokens', 0)} of "
        f"{manifest.get('budget', 0)} tokens"
    ]
    if manifest.get("budget_why"):
        out.append(f"  ({manifest['budget_why']})")
    for i in items:
        detail = f" [{i['detail']}]" if i.get("detail") else ""
        out.append(
            f"  {i['path']}:{i['start_line']}-{i['end_line']}  {i['tokens']} tok  "
            f"{i['reason']}{detail}"
        )
    left_out = [d for d in manifest.get("dropped", []) if d["why"] == "over budget"]
    for d in left_out[:MANIFEST_LEFT_OUT]:
        where = f"{d['path']}:{d['start_line']}-{d['end_line']}"
        out.append(f"  (left out) {where}  {d['tokens']} tok")
    if len(left_out) > MANIFEST_LEFT_OUT:
        out.append(f"  (left out) ... and {len(left_out) - MANIFEST_LEFT_OUT} more")
    out.extend(f"note: {n}" for n in manifest.get("notes", []))
    return out
