"""Fit the text around the cursor into token budgets.

Whole lines are kept, nearest the cursor first: the prefix is cut from the top, the suffix
from the bottom.  Counting the whole document would be slow for big files (and a 10 MB line
must not stall the server), so only a character window a few times the budget is looked at.
"""

from __future__ import annotations

from collections.abc import Callable

Counter = Callable[[str], int]

#: Upper bound on characters per token when sizing the window that is counted at all.
CHARS_PER_TOKEN_MAX = 8


def clip_prefix(text: str, budget: int, count: Counter) -> str:
    """The longest tail of `text` within `budget` tokens, starting at a line start if it can."""
    if budget <= 0 or not text:
        return ""
    window = text[-budget * CHARS_PER_TOKEN_MAX :]
    if count(window) <= budget:
        # within budget; start at a line boundary unless the whole text fits
        if len(window) < len(text) and "\n" in window:
            return window[window.index("\n") + 1 :]
        return window
    lines = window.splitlines(keepends=True)
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        n = count(line)
        if used + n > budget:
            if not kept:  # the cursor line alone is too long: keep its tail
                return _tail_chars(line, budget, count)
            break
        kept.append(line)
        used += n
    return "".join(reversed(kept))


def clip_suffix(text: str, budget: int, count: Counter) -> str:
    """The longest head of `text` within `budget` tokens, ending at a line end if it can."""
    if budget <= 0 or not text:
        return ""
    window = text[: budget * CHARS_PER_TOKEN_MAX]
    if count(window) <= budget:
        if len(window) < len(text) and "\n" in window:
            return window[: window.rindex("\n") + 1]
        return window
    kept: list[str] = []
    used = 0
    for line in window.splitlines(keepends=True):
        n = count(line)
        if used + n > budget:
            if not kept:
                return head_chars(line, budget, count)
            break
        kept.append(line)
        used += n
    return "".join(kept)


def _tail_chars(line: str, budget: int, count: Counter) -> str:
    lo, hi = 0, len(line)
    while lo < hi:  # smallest start index whose tail fits
        mid = (lo + hi) // 2
        if count(line[mid:]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return line[lo:]


def head_chars(line: str, budget: int, count: Counter) -> str:
    """The longest start of `line` within `budget` tokens (binary search on characters)."""
    lo, hi = 0, len(line)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(line[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo]


def align_prefix(full: str, clipped: str, every: int) -> str:
    """`clipped` (a tail of `full`) starting at a document line that is a multiple of
    `every`: the prompt's first line then stays put while the user types, so the model's
    evaluated prompt is reused instead of re-read after each keystroke."""
    if every <= 1 or len(clipped) == len(full) or "\n" not in clipped:
        return clipped
    start = full.count("\n", 0, len(full) - len(clipped))  # 0-based line of the clip
    if clipped and len(full) > len(clipped) and full[len(full) - len(clipped) - 1] != "\n":
        return clipped  # cut inside a line (one very long line): leave it
    drop = -start % every
    lines = clipped.split("\n")
    if drop >= len(lines) - 1:
        return clipped  # keep at least the cursor line
    return "\n".join(lines[drop:])
