"""Choosing context for a question: `select(question, ...)`.

Several sources each rank chunks (symbols named in the question, full-text, vectors, the
code around the cursor, recent edits); reciprocal-rank fusion merges them and the token
budget decides how many make it.  Every chosen chunk keeps the reasons it was chosen for,
so the manifest can say why.  The escalation preview uses the same ranking.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from attrs import evolve, frozen

from server.context import budget as budgeting
from server.context.chunks import search_open, split_chunks
from server.context.graph import calls_in, defined_name, is_call_of
from server.context.question import Reading, query_text, read
from server.context.ring import chunk_around
from server.context.sources import run_sources
from server.context.symbols import find_definition, identifiers_near
from server.context.tokens import Counter, approx_tokens
from server.context.types import (
    CURRENT,
    FULL_TEXT,
    OPEN_FILE,
    RECENT,
    SELECTION,
    SYMBOL,
    VECTOR,
    Candidate,
    Selection,
)

#: How much each source counts in the fusion: what the user names or looks at counts most.
WEIGHTS: Mapping[str, float] = {
    SYMBOL: 1.5,
    CURRENT: 1.5,
    "named file": 1.5,
    "file name": 1.0,
    FULL_TEXT: 1.0,
    VECTOR: 1.0,
    OPEN_FILE: 1.0,
    RECENT: 0.4,
}

#: Reasons of chunks reached through the code graph, and of chunks in a file the question names.
CALLEE = "called by chosen code"
CALLER = "calls chosen code"
NAMED_FILE = "named file"
#: A found definition scores this share of the chunk that calls it; a caller a smaller one.
CALLEE_SHARE = 0.6
CALLER_SHARE = 0.35
#: How many of the best code chunks are followed, and how many callees each brings.
GRAPH_SEEDS = 3
GRAPH_PER_SEED = 3
#: Score multipliers for a chunk in a file the question names / in a language it names.
PATH_BOOST = 3.0
LANGUAGE_BOOST = 1.5

FILE_NAME = "file name"
FILE_NAME_BOOST = 2.0
#: Content words tried as file names (in the order the question uses them).
FILE_WORDS = 8

NO_INDEX_NOTE = "No workspace index yet: context comes from the open files only."


class SearchIndex(Protocol):
    """What select needs from the workspace index (index/api.py's WorkspaceIndex)."""

    def search(
        self, query: str, k: int = ..., *, mode: Any = ..., path_glob: Any = ...,
        language: Any = ..., roles: Any = ...,
    ) -> Sequence[Any]: ...

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


def _search(
    index: SearchIndex,
    query: str,
    k: int,
    mode: str,
    roles: Mapping[str, float] | None,
    path_glob: str | None = None,
) -> Sequence[Any]:
    """`index.search` with role weights (an index without them is asked plainly)."""
    kwargs: dict[str, Any] = {"mode": mode}
    if roles:
        kwargs["roles"] = roles
    if path_glob:
        kwargs["path_glob"] = path_glob
    try:
        return index.search(query, k, **kwargs)
    except TypeError:
        return index.search(query, k, mode=mode)


def file_words(reading: Reading) -> list[str]:
    """Content words a file or directory may be named after ("settings", "timeout")."""
    words = [w for w in reading.words if len(w) >= 4 and w.isalnum()][:FILE_WORDS]
    return [w[:-1] if w.endswith("s") and len(w) > 4 else w for w in words]


def names_file(path: str, reading: Reading) -> int:
    """How many content words of the question name this file's stem or its directory
    ("completion cache" names `completion/cache.py` twice)."""
    parts = path.rsplit("/", 2)[-2:]
    stem = os.path.splitext(parts[-1])[0].lower().split(".")[0]
    # a test file is named after what it tests: test_parser.py, parser_test.go
    names = {stem, re.sub(r"^tests?_|_tests?$", "", stem)}
    if len(parts) == 2:
        names.add(parts[0].lower())
    words = file_words(reading)
    return sum(1 for n in names if n and any(
        n == w or n == w + "s" or n.rstrip("s") == w for w in words))


def role_of(path: str, root: Path | None) -> str:
    """The file's role (`index.roles`), judged on its workspace-relative path."""
    from index.roles import classify

    rel = path
    if root is not None:
        try:
            rel = os.path.relpath(path, root) if os.path.isabs(path) else path
        except ValueError:
            rel = path
    return classify(rel.replace(os.sep, "/"))


def weigh(
    fused: Sequence[budgeting.Fused], reading: Reading, root: Path | None
) -> list[budgeting.Fused]:
    """Fused chunks re-scored for what the question wants: the role its intent prefers,
    the files it names, the languages it names.  Non-code roles are said in the detail."""
    roles = reading.roles
    out: list[budgeting.Fused] = []
    for f in fused:
        c = f.candidate
        if SELECTION in f.reasons:
            out.append(f)
            continue
        role = role_of(c.path, root)
        score = f.score * roles.get(role, 1.0)
        norm = c.path.replace(os.sep, "/")
        if any(norm.endswith("/" + p) or norm == p for p in reading.paths):
            score *= PATH_BOOST
        elif roles.get(role, 1.0) >= 1.0:
            # a file named after the subject is about it, but a test or docs file about it
            # is still a test or docs file: only the roles the intent wants are lifted
            score *= FILE_NAME_BOOST ** names_file(norm, reading)
        if reading.extensions and norm.endswith(reading.extensions):
            score *= LANGUAGE_BOOST
        if role != "code" and role not in c.detail:
            detail = f"{c.detail}; {role} file" if c.detail else f"{role} file"
            c = evolve(c, detail=detail)
        out.append(budgeting.Fused(c, f.reasons, score))
    out.sort(key=lambda f: -f.score)
    return out


def expand(
    index: SearchIndex,
    ranked: Sequence[budgeting.Fused],
    symbol_of: Mapping[tuple[str, int, int], str],
    root: Path | None,
    *,
    seeds: int = GRAPH_SEEDS,
    per_seed: int = GRAPH_PER_SEED,
    deadline: float | None = None,
) -> list[budgeting.Fused]:
    """`ranked` plus the definitions the best code chunks call and the callers of the best.

    A chunk found this way scores a share of the chunk it was found from, so it ranks after
    its seed and ahead of weaker direct hits; one already ranked keeps its place or rises,
    and says it is connected.  The budget decides how far this reaches.
    """
    out = list(ranked)
    at = {f.candidate.key(): i for i, f in enumerate(out)}

    def offer(cand: Candidate, reason: str, score: float) -> bool:
        i = at.get(cand.key())
        if i is None:
            at[cand.key()] = len(out)
            out.append(budgeting.Fused(cand, (reason,), score))
            return True
        f = out[i]
        if reason in f.reasons:
            return False
        detail = "; ".join(d for d in (f.candidate.detail, cand.detail) if d)
        out[i] = budgeting.Fused(evolve(f.candidate, detail=detail), (*f.reasons, reason),
                                 max(f.score, score))
        return True

    code = [f for f in ranked if role_of(f.candidate.path, root) == "code"][:seeds]
    for n, f in enumerate(code):
        if deadline is not None and time.monotonic() > deadline:
            break
        c = f.candidate
        own = defined_name(symbol_of.get(c.key(), ""))
        brought = 0
        for j, name in enumerate(calls_in(c.path, c.text)[: per_seed * 2]):
            if name == own or brought >= per_seed:
                continue
            defs = list(index.lookup_symbol(name, 4))
            here = [h for h in defs if _near(h, c.path, root)]
            if not here and len(defs) != 1:
                continue  # defined elsewhere more than once: no telling which one is meant
            for hit in here or defs:
                why = f"{own or 'chosen code'} calls {name}"
                cand = hit_candidate(hit, CALLEE, root, detail=why)
                if cand.key() == c.key() or role_of(cand.path, root) != "code":
                    continue
                if offer(cand, CALLEE, f.score * CALLEE_SHARE / (1 + 0.2 * j)):
                    brought += 1
                break
        if n == 0 and own and len(own) > 2:  # the best chunk's callers: who uses it, and how
            callers = 0
            for hit in _search(index, own, 8, "fts", None):
                cand = hit_candidate(hit, CALLER, root, detail=f"calls {own}")
                if cand.key() == c.key() or not is_call_of(cand.text, own):
                    continue
                if role_of(cand.path, root) != "code":
                    continue
                if offer(cand, CALLER, f.score * CALLER_SHARE):
                    callers += 1
                if callers >= 2:
                    break
    out.sort(key=lambda f: -f.score)
    return out


def _near(hit: Any, path: str, root: Path | None) -> bool:
    """A definition in the same directory as the code that calls it."""
    other = str(getattr(hit, "path", ""))
    if root is not None and not os.path.isabs(other):
        other = str(root / other)
    return os.path.dirname(other) == os.path.dirname(path)


def fill_whole(
    fused: Sequence[budgeting.Fused], budget: int, count: Counter
) -> Selection:
    """Whole units only: a chunk that does not fit is left out (smaller ones later may fit);
    only when nothing fits whole is the best one cut to the budget."""
    chosen = budgeting.fill(fused, budget, count, min_partial=budget + 1)
    if not chosen.items and fused and budget > 0:
        best = budgeting.fill(fused[:1], budget, count, min_partial=1)
        chosen = evolve(best, dropped=(*best.dropped, *chosen.dropped[1:]))
    return chosen


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
    graph: bool = True,
) -> Selection:
    """Rank chunks for `question` and keep the best whole units that fit `budget` tokens.

    The question is read for its intent (how X works, how to use X, tests, docs), the
    names, paths and languages it mentions; implementing code is preferred unless the
    intent says otherwise.  The best code chunks bring the definitions they call and the
    callers of the best one (`graph`).  `open_docs` maps absolute paths of open documents
    to their text (answers come from them when there is no index); `ring` holds
    recent-edit candidates; `cursor` adds the code the user is looking at and the symbols
    it uses; `pinned` chunks (the user's selection) come first whatever their rank.
    """
    started = time.monotonic()
    q = query_text(question)
    reading = read(question)
    symbols = list(reading.symbols)
    if cursor is not None and cursor.text is not None:
        lines = cursor.text.splitlines(keepends=True)
        for name in identifiers_near(cursor.path, lines, cursor.line, before=10, after=10, limit=6):
            if name not in symbols:
                symbols.append(name)
    symbols = symbols[:10]

    sources: dict[str, Callable[[], list[Candidate]]] = {}
    notes: list[str] = []
    symbol_of: dict[tuple[str, int, int], str] = {}
    idx: SearchIndex | None = index
    if index is not None:
        idx = index
        root = index_root(index, root)
        roles = reading.roles
        text_q = reading.search_text() or q

        def candidates(hits: Sequence[Any], reason: str, detail: str = "") -> list[Candidate]:
            out = []
            for h in hits:
                c = hit_candidate(h, reason, root, detail)
                symbol_of[c.key()] = str(getattr(h, "symbol", "") or "")
                out.append(c)
            return out

        def symbol_hits() -> list[Candidate]:
            out: list[Candidate] = []
            for name in symbols:
                out += candidates(index.lookup_symbol(name, 3), SYMBOL, name)
            return out

        sources[SYMBOL] = symbol_hits
        if text_q:
            sources[FULL_TEXT] = lambda: candidates(_search(index, text_q, k, "fts", roles),
                                                    FULL_TEXT)
            if vector and q:
                sources[VECTOR] = lambda: candidates(_search(index, q, k, "vector", roles),
                                                     VECTOR)
        stems = file_words(reading)
        if stems and text_q:
            def file_name_hits() -> list[Candidate]:
                out: list[Candidate] = []
                for w in stems:
                    hits = _search(index, text_q, 3, "fts", roles, path_glob=f"*{w}*")
                    out += candidates(hits, FILE_NAME, w)
                return out

            sources[FILE_NAME] = file_name_hits
        if reading.paths:
            def path_hits() -> list[Candidate]:
                out: list[Candidate] = []
                for p in reading.paths[:3]:
                    query = text_q or os.path.splitext(os.path.basename(p))[0]
                    hits = _search(index, query, 4, "fts", None, path_glob=f"*{p}")
                    out += candidates(hits, NAMED_FILE, p)
                return out

            sources[NAMED_FILE] = path_hits
    else:
        notes.append(NO_INDEX_NOTE)
        docs = dict(open_docs)
        sources[SYMBOL] = lambda: _open_definitions(docs, symbols)
        words = list(reading.words)
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
    fused = weigh(budgeting.fuse(ranked, weights or WEIGHTS), reading, root)
    if graph and idx is not None and fused:
        try:
            fused = expand(idx, fused, symbol_of, root, deadline=started + deadline_s)
        except Exception as exc:  # the graph is a bonus: never lose the answer over it
            notes.append(f"code graph skipped: {exc}")
    fused = [budgeting.Fused(c, (c.reason,), 1.0) for c in pinned] + fused
    chosen = fill_whole(fused, budget, count)
    if chosen.cut:
        lost = [d for d in chosen.dropped if d.why == "over budget"]
        notes.append(
            f"Context was cut: {len(lost)} chunk(s), about {sum(d.tokens for d in lost)} tokens, "
            f"did not fit the {budget}-token budget."
        )
    return evolve(chosen, notes=tuple(notes))
