"""Ranking fusion and token-budget filling: the policy of what goes into a prompt.

Pure functions over candidates, so every rule (overlap with the cursor window, duplicates,
shares per source, the "context was cut" signal) is tested table-driven without a server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from attrs import evolve, frozen

from server.context.tokens import Counter, approx_tokens, truncate_to_tokens
from server.context.types import Candidate, Dropped, Item, Selection

#: Reciprocal-rank-fusion constant; 60 is the usual choice and is insensitive to tuning.
RRF_K = 60
#: An item that does not fit is cut down rather than dropped when at least this many
#: tokens remain: a long class's head is worth more than nothing.
MIN_PARTIAL_TOKENS = 48


@frozen
class Window:
    """Lines already in the prompt (the cursor's prefix/suffix): snippets there are noise."""

    path: str
    start_line: int
    end_line: int


def same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Number of lines two inclusive ranges share."""
    return max(0, min(a_end, b_end) - max(a_start, b_start) + 1)


def overlaps_window(c: Candidate | Item, window: Window | None) -> bool:
    if window is None or not same_path(c.path, window.path):
        return False
    return overlap(c.start_line, c.end_line, window.start_line, window.end_line) > 0


def _mostly_same(a: Candidate | Item, b: Candidate | Item) -> bool:
    """Two chunks of one file that share at least half of the smaller one."""
    if not same_path(a.path, b.path):
        return False
    shared = overlap(a.start_line, a.end_line, b.start_line, b.end_line)
    smaller = min(a.end_line - a.start_line, b.end_line - b.start_line) + 1
    return shared > 0 and shared * 2 >= smaller


def _drop(c: Candidate, tokens: int, why: str) -> Dropped:
    return Dropped(c.path, c.start_line, c.end_line, tokens, why)


def _item(
    c: Candidate, text: str, end: int, tokens: int, reasons: tuple[str, ...], score: float
) -> Item:
    return Item(c.path, c.start_line, end, text, tokens, reasons, score, c.detail)


@frozen
class Fused:
    candidate: Candidate
    reasons: tuple[str, ...]
    score: float


def fuse(
    ranked: Mapping[str, Sequence[Candidate]],
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
) -> list[Fused]:
    """Weighted reciprocal-rank fusion of several ranked lists, merging near-duplicates.

    Each list is keyed by its reason; a chunk found by several sources keeps every reason
    and the sum of its scores, so agreement between sources lifts it.
    """
    weights = weights or {}
    fused: list[Fused] = []
    for reason, candidates in ranked.items():
        w = weights.get(reason, 1.0)
        for rank, cand in enumerate(candidates):
            score = w / (k + rank + 1)
            for i, f in enumerate(fused):
                if _mostly_same(f.candidate, cand):
                    reasons = f.reasons if reason in f.reasons else (*f.reasons, reason)
                    detail = f.candidate.detail or cand.detail
                    fused[i] = Fused(evolve(f.candidate, detail=detail), reasons, f.score + score)
                    break
            else:
                fused.append(Fused(cand, (reason,), score))
    fused.sort(key=lambda f: -f.score)
    return fused


def fill(
    fused: Sequence[Fused],
    budget: int,
    count: Counter = approx_tokens,
    window: Window | None = None,
    *,
    min_partial: int = MIN_PARTIAL_TOKENS,
) -> Selection:
    """Take fused chunks best first until the budget is spent.

    Chunks overlapping the cursor window or an already chosen chunk are dropped; a chunk
    that does not fit is cut to the remaining budget when enough remains, else dropped as
    "over budget" and smaller ones further down still get their chance.
    """
    items: list[Item] = []
    dropped: list[Dropped] = []
    used = 0
    for f in fused:
        c = f.candidate
        tokens = count(c.text)
        if overlaps_window(c, window):
            dropped.append(_drop(c, tokens, "overlaps the cursor window"))
            continue
        if any(_mostly_same(i, c) for i in items):
            dropped.append(_drop(c, tokens, "duplicate"))
            continue
        remaining = budget - used
        if tokens <= remaining:
            items.append(_item(c, c.text, c.end_line, tokens, f.reasons, f.score))
            used += tokens
            continue
        if remaining >= min_partial:
            text = truncate_to_tokens(c.text, remaining, count)
            n_lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
            if text.strip() and n_lines > 0:
                end = c.start_line + n_lines - 1
                t = count(text)
                items.append(_item(c, text, end, t, f.reasons, f.score))
                used += t
                dropped.append(Dropped(c.path, end + 1, c.end_line, tokens - t, "over budget"))
                continue
        dropped.append(Dropped(c.path, c.start_line, c.end_line, tokens, "over budget"))
    return Selection(tuple(items), tuple(dropped), budget)


@frozen
class SourceResult:
    """What one completion-context source produced (or why it produced nothing)."""

    name: str
    share: float
    candidates: tuple[Candidate, ...] = ()
    skipped: str = ""  # e.g. "deadline (100 ms)" or "no index"


def fill_shares(
    sources: Sequence[SourceResult],
    budget: int,
    count: Counter = approx_tokens,
    window: Window | None = None,
) -> Selection:
    """Fill the budget source by source, each up to its share; leftovers go round again.

    Shares are relative weights.  A source that has less to offer than its share leaves
    the rest to the others (in order), so a fast empty source never wastes budget.
    """
    total_share = sum(max(0.0, s.share) for s in sources) or 1.0
    items: list[Item] = []
    dropped: list[Dropped] = []
    notes = [f"{s.name}: skipped ({s.skipped})" for s in sources if s.skipped]
    pending: list[tuple[SourceResult, list[Candidate]]] = [(s, list(s.candidates)) for s in sources]
    used = 0

    def take(src: SourceResult, cands: list[Candidate], cap: int) -> int:
        nonlocal used
        spent = 0
        keep: list[Candidate] = []
        for c in cands:
            tokens = count(c.text)
            if overlaps_window(c, window):
                dropped.append(_drop(c, tokens, "overlaps the cursor window"))
                continue
            if any(_mostly_same(i, c) for i in items):
                dropped.append(_drop(c, tokens, "duplicate"))
                continue
            if tokens <= cap - spent and tokens <= budget - used:
                items.append(_item(c, c.text, c.end_line, tokens, (c.reason,), c.score))
                spent += tokens
                used += tokens
            else:
                keep.append(c)
        cands[:] = keep
        return spent

    for src, cands in pending:
        cap = int(budget * max(0.0, src.share) / total_share)
        take(src, cands, cap)
    for src, cands in pending:  # second round: what the first left over
        take(src, cands, budget - used)
    for _, cands in pending:
        for c in cands:
            dropped.append(Dropped(c.path, c.start_line, c.end_line, count(c.text), "over budget"))
    return Selection(tuple(items), tuple(dropped), budget, tuple(notes))
