"""Building a chat prompt from a question, earlier turns and the selected context.

Pure functions: the token plan (how much of the model's window goes to context, question,
history and the answer) and the message list, with a note for everything that was cut so
the answer can say so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from attrs import frozen

from server.context.tokens import Counter, approx_tokens, truncate_to_tokens
from server.context.types import Selection

SYSTEM = (
    "You are stead, a coding assistant that runs on the user's machine. Answer questions "
    "about the user's code from the context below, like a colleague who has read it: say "
    "which function or type does it and how, in a few sentences, and cite it as path:line "
    "(each context header gives the file and its first line). Stop when the question is "
    "answered. If the context does not show what the answer needs, say so instead of guessing."
)
#: Tokens reserved for the chat template's role markers.
TEMPLATE_MARGIN = 48
#: Share of the remaining window the prompt may fill: counts are estimates (cl100k), and a
#: small model's tokenizer may need 10-20% more tokens for the same code.
PROMPT_SHARE = 0.85
#: The question may use at most this share of the prompt.
QUESTION_SHARE = 0.4


@frozen
class Turn:
    role: str  # "user" | "assistant"
    content: str


@frozen
class Plan:
    """How the model's context window is spent, in tokens."""

    answer: int
    question: int
    context: int
    prompt: int  # everything before the answer


@frozen
class Prompt:
    messages: tuple[Turn, ...]
    tokens: int
    notes: tuple[str, ...] = ()
    history_used: int = 0


def plan(
    n_ctx: int, max_tokens: int, chat_budget: int, system_tokens: int, question_tokens: int
) -> Plan:
    """Split the window: the answer first (at most half), then question, then context."""
    answer = max(1, min(max_tokens, n_ctx // 2))
    prompt = max(0, int((n_ctx - answer - TEMPLATE_MARGIN) * PROMPT_SHARE))
    question = min(question_tokens, max(16, int(prompt * QUESTION_SHARE)))
    context = max(0, min(chat_budget, prompt - system_tokens - question))
    return Plan(answer=answer, question=question, context=context, prompt=prompt)


def cut_middle(text: str, limit: int, count: Counter = approx_tokens) -> tuple[str, bool]:
    """Keep the head and the tail of an over-long question (a pasted log ends with the ask)."""
    if count(text) <= limit:
        return text, False
    head = truncate_to_tokens(text, limit * 2 // 3, count)
    tail_budget = max(0, limit - count(head) - 12)
    rev = truncate_to_tokens(text[::-1], tail_budget, count)
    tail = rev[::-1]
    if len(head) + len(tail) >= len(text):  # a single long line: plain cut
        return truncate_to_tokens(text, limit, count), True
    gone = len(text) - len(head) - len(tail)
    return f"{head}\n[... {gone} characters cut ...]\n{tail}", True


def rel_path(path: str, root: Path | None) -> str:
    """Workspace-relative for display, as given when outside the root."""
    if root is not None:
        try:
            if Path(path).is_relative_to(root):
                return os.path.relpath(path, root)
        except ValueError:
            pass
    return path


def context_block(selection: Selection, root: Path | None = None) -> str:
    """The chunks as the model sees them: a header naming file, lines and why, then code."""
    if not selection.items:
        return ""
    parts = ["Context from the workspace:"]
    for item in selection.items:
        text = item.text if item.text.endswith("\n") else item.text + "\n"
        parts.append(
            f"--- {rel_path(item.path, root)}:{item.start_line}-{item.end_line} "
            f"({item.reason}) ---\n{text}"
        )
    if selection.cut:  # last: the chunks before it stay a prefix the model can reuse
        parts.append(
            "(Not all relevant code fit; if the answer may depend on code not shown, say so.)"
        )
    return "\n".join(parts)


def build(
    question: str,
    history: Sequence[Turn],
    selection: Selection,
    budget: Plan,
    *,
    count: Counter = approx_tokens,
    root: Path | None = None,
    system: str = SYSTEM,
) -> Prompt:
    """System (instructions + context), as many recent turns as fit, then the question."""
    notes: list[str] = []
    q, was_cut = cut_middle(question.strip(), budget.question, count)
    if was_cut:
        notes.append(f"The question was cut to about {budget.question} tokens to fit the model.")
    block = context_block(selection, root)
    system_text = f"{system}\n\n{block}" if block else system
    used = count(system_text) + count(q)
    kept: list[Turn] = []
    remaining = budget.prompt - used
    turns = list(history)
    i = len(turns)
    while i > 0:  # newest first, whole user/assistant pairs where possible
        step = 2 if i >= 2 and turns[i - 2].role == "user" else 1
        pair = turns[i - step : i]
        cost = sum(count(t.content) + 4 for t in pair)
        if cost > remaining:
            break
        kept[:0] = pair
        remaining -= cost
        i -= step
    if i > 0:
        n = sum(1 for t in turns[:i] if t.role == "user")
        notes.append(f"{n} earlier question(s) of this conversation were left out to fit.")
    messages = (Turn("system", system_text), *kept, Turn("user", q))
    return Prompt(messages, budget.prompt - remaining, tuple(notes), len(kept))
