"""Token counting for budgets.

The model's own tokenizer is the truth, but it is not always loaded (no model yet, or a
remote manifest); a conservative estimate keeps budgets safe without it.
"""

from __future__ import annotations

from collections.abc import Callable

Counter = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """About 3.5 characters per token for code; rounds up so budgets are not overrun."""
    if not text:
        return 0
    return max(1, (len(text) * 2 + 6) // 7)


def truncate_to_tokens(text: str, limit: int, count: Counter = approx_tokens) -> str:
    """The longest prefix of whole lines (or characters, for one long line) within `limit`."""
    if limit <= 0:
        return ""
    if count(text) <= limit:
        return text
    lines = text.splitlines(keepends=True)
    lo, hi = 0, len(lines)
    while lo < hi:  # binary search on the number of whole lines
        mid = (lo + hi + 1) // 2
        if count("".join(lines[:mid])) <= limit:
            lo = mid
        else:
            hi = mid - 1
    if lo > 0:
        return "".join(lines[:lo])
    from server.completion.budget import head_chars

    return head_chars(lines[0] if lines else text, limit, count)
