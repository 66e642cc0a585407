"""Choosing context for a question: `select(question, ...)`.

Several sources each rank chunks (symbols named in the question, full-text, vectors, the
code around the cursor, recent edits); reciprocal-rank fusion merges them and the token
budget decides how many make it.  Every chosen chunk keeps the reasons it was chosen for,
so the manifest can say why.  The escalation preview uses the same ranking.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from attrs import evolve, frozen

from server.context import budget as budgeting
from server.context.chunks import search_open, split_chunks
from server.context.question import query_text, terms
from server.context.ring import chunk_around
from server.context.sources import run_sources
from server.context.symbols import find_definition, identifiers_near
from server.context.tokens import Counter, approx_tokens
from server.context.types import (
    CURRENT,
    FULL_TEXT,
    OPEN_FILE,
    RECENT,
    SYMBOL,
    VECTOR,
    Candidate,
    Selection,
)

#: How much each source counts in the fusion: what the user names or looks at counts most.
WEIGHTS: Mapping[str, float] = {
    SYMBOL: 1.5,
    CURRENT: 1.5,
    FULL_TEXT: 1.0,
    VECTOR: 1.0,
    OPEN_FILE: 1.0,
    RECENT: 0.4,
}

NO_INDEX_NOTE = "No workspace index yet: context comes from the open files only."


class SearchIndex(Protocol):
    """What select needs from the workspace index (index/api.py's WorkspaceIndex)."""

    def search(self, query: str, k: int = ..., *, mode: Any = ...) -> Sequence[Any]: ...

    def lookup_symbol(self, name: str, k: int = ...) -> Sequence[Any]: ...


@frozen
class Cursor:
    """Where the user is: absolute path, 1-based line, and the file's text if known."""

    path: str
    line: int
    text: str | None = None


def index_root(index: Any, fallback: Path | None) -> Path | None:
    """Hit paths are relative to the index's own (resolved) root."""
    root = getattr(index, "root", None)
    return Path(root) if root else fallback


def hit_candidate(hit: Any, reason: str, root: Path | None = None, detail: str = "") -> Candidate:
    """An index Hit (path, start_line, end_line, text, score) as a Candidate, path absolute."""
    path = str(getattr(hit, "path", ""))
    if root is not None and path and not os.path.isabs(path):
        path = str(root / path)
    return Candidate(
        path=path,
        start_line=int(getattr(hit, "start_line", 1)),
        end_line=int(getattr(hit, "end_line", getattr(hit, "start_line", 1))),
        text=str(getattr(hit, "text", "")),
        reason=reason,
        score=float(getattr(hit, "score", 0.0) or 0.0),
        detail=detail,
    )


def _symbol_hits(
    index: SearchIndex, names: Sequence[str], root: Path | None, k: int
) -> list[Candidate]:
    out: list[Candidate] = []
    for name in names:
        for hit in index.lookup_symbol(name, k):
            out.append(hit_candidate(hit, SYMBOL, root, detail=name))
    return out


def _open_definitions(docs: Mapping[str, str], names: Sequence[str]) -> list[Candidate]:
    out: list[Candidate] = []
    for name in names:
        for path, text in docs.items():
            d = find_definition(path, text, name)
            if d is not None:
                out.append(Candidate(path, d.start_line, d.end_line, d.text, SYMBOL, 1.0, name))
    return out


def current_chunk(cursor: Cursor) -> Candidate | None:
    """The chunk (top-level definition, else a window) containing the cursor."""
    if cursor.text is None:
        return None
    for c in split_chunks(cursor.path, cursor.text):
        if c.start_line <= cursor.line <= c.end_line:
            return Candidate(c.path, c.start_line, c.end_line, c.text, CURRENT, 1.0)
    lines = cursor.text.splitlines(keepends=True)
    if not lines:
        return None
    s, e, text = chunk_around(lines, cursor.line, 30)
    return Candidate(cursor.path, s, e, text, CURRENT, 1.0)


def select(
    question: str,
    *,
    index: SearchIndex | None,
    open_docs: Mapping[str, str],
    budget: int,
    ring: Sequence[Candidate] = (),
    cursor: Cursor | None = None,
    root: Path | None = None,
    count: Counter = approx_tokens,
    k: int = 12,
    deadline_s: float = 3.0,
    weights: Mapping[str, float] | None = None,
    vector: bool = True,
    pinned: Sequence[Candidate] = (),
) -> Selection:
    """Rank chunks for `question` and keep the best that fit `budget` tokens.

    `open_docs` maps absolute paths of open documents to their text (answers come from
    them when there is no index); `ring` holds recent-edit candidates; `cursor` adds the
    code the user is looking at and the symbols it uses; `pinned` chunks (the user's
    selection) come first whatever their rank.
    """
    q = query_text(question)
    t = terms(question)
    symbols = list(t.symbols)
    if cursor is not None and cursor.text is not None:
        lines = cursor.text.splitlines(keepends=True)
        for name in identifiers_near(cursor.path, lines, cursor.line, before=10, after=10, limit=6):
            if name not in symbols:
                symbols.append(name)
    symbols = symbols[:10]

    sources: dict[str, Callable[[], list[Candidate]]] = {}
    notes: list[str] = []
    if index is not None:
        idx = index
        root = index_root(index, root)

        def searcher(mode: str, reason: str) -> Callable[[], list[Candidate]]:
            return lambda: [hit_candidate(h, reason, root) for h in idx.search(q, k, mode=mode)]

        sources[SYMBOL] = lambda: _symbol_hits(idx, symbols, root, 3)
        if q:
            sources[FULL_TEXT] = searcher("fts", FULL_TEXT)
            if vector:
                sources[VECTOR] = searcher("vector", VECTOR)
    else:
        notes.append(NO_INDEX_NOTE)
        docs = dict(open_docs)
        sources[SYMBOL] = lambda: _open_definitions(docs, symbols)
        words = list(t.words)
        sources[OPEN_FILE] = lambda: [
            Candidate(c.path, c.start_line, c.end_line, c.text, OPEN_FILE, s)
            for c, s in search_open(words, docs, k)
        ]
    outcomes = run_sources(sources, deadline_s) if sources else {}
    ranked: dict[str, list[Candidate]] = {}
    if cursor is not None:
        cur = current_chunk(cursor)
        if cur is not None:
            ranked[CURRENT] = [cur]
    for name, outcome in outcomes.items():
        if outcome.skipped:
            notes.append(f"{name} search skipped: {outcome.skipped}")
            continue
        ranked[name] = list(outcome.value or [])  # type: ignore[call-overload]
    if ring:
        ranked[RECENT] = list(ring)
    fused = [budgeting.Fused(c, (c.reason,), 1.0) for c in pinned]
    fused += budgeting.fuse(ranked, weights or WEIGHTS)
    chosen = budgeting.fill(fused, budget, count)
    if chosen.cut:
        lost = [d for d in chosen.dropped if d.why == "over budget"]
        notes.append(
            f"Context was cut: {len(lost)} chunk(s), about {sum(d.tokens for d in lost)} tokens, "
            f"did not fit the {budget}-token budget."
        )
    return evolve(chosen, notes=tuple(notes))
