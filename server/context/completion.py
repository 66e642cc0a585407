"""Cross-file context for inline completion, as a pure function of plain inputs.

Besides the prefix and suffix the completion engine already has, the budget is filled from
three sources, each with its own share and all under one deadline: definitions of the
symbols used near the cursor (imports resolved to workspace files, then the index's symbol
table), the ring of recently edited or viewed chunks, and chunks of the index similar to
the lines before the cursor.  Anything overlapping the cursor window is dropped: the model
sees those lines already.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from server.context.budget import SourceResult, Window, fill_shares, same_path
from server.context.select import SearchIndex, hit_candidate, index_root
from server.context.sources import run_sources
from server.context.symbols import find_definition, identifiers_near, read_text, resolve_imports
from server.context.tokens import Counter, approx_tokens
from server.context.types import IMPORT, SIMILAR, SYMBOL, Candidate, Selection

DEFINITIONS = "definitions"
RECENT_SOURCE = "recent"
SIMILAR_SOURCE = "similar"

#: Relative shares of the completion budget.
SHARES: Mapping[str, float] = {DEFINITIONS: 0.5, RECENT_SOURCE: 0.25, SIMILAR_SOURCE: 0.25}


@frozen
class CompletionInput:
    """The document being completed: absolute path, its lines, the 1-based cursor line."""

    path: str
    lines: Sequence[str]
    line: int
    #: The lines the engine already puts in the prompt as prefix and suffix.
    window: Window
    roots: Sequence[Path] = ()


def prompt_window(
    path: str,
    lines: Sequence[str],
    line: int,
    prefix_tokens: int,
    suffix_tokens: int,
    count: Counter = approx_tokens,
) -> Window:
    """The lines a prefix/suffix token budget covers around the cursor (an estimate)."""
    start, used = line, count(lines[line - 1]) if 0 < line <= len(lines) else 0
    while start > 1 and used + count(lines[start - 2]) <= prefix_tokens:
        start -= 1
        used += count(lines[start - 1])
    end, used = line, 0
    while end < len(lines) and used + count(lines[end]) <= suffix_tokens:
        end += 1
        used += count(lines[end - 1])
    return Window(path, start, end)


def definitions(
    req: CompletionInput,
    index: SearchIndex | None,
    open_docs: Mapping[str, str],
    *,
    names_limit: int = 8,
) -> list[Candidate]:
    """Definitions of the identifiers near the cursor: imported ones first, then the index."""
    names = identifiers_near(req.path, req.lines, req.line, limit=names_limit)
    text = "".join(req.lines)
    imported = {i.local: i for i in resolve_imports(req.path, text, req.roots)}
    out: list[Candidate] = []
    unresolved: list[str] = []
    for name in names:
        imp = imported.get(name)
        if imp is None or not imp.name:
            unresolved.append(name)
            continue
        source = open_docs.get(imp.file)
        if source is None:
            source = read_text(imp.file)
        d = find_definition(imp.file, source, imp.name) if source is not None else None
        if d is None:
            unresolved.append(name)
            continue
        out.append(Candidate(imp.file, d.start_line, d.end_line, d.text, IMPORT, 1.0, name))
    if index is not None:
        root = index_root(index, req.roots[0] if req.roots else None)
        for name, hits in zip(unresolved, lookup_many(index, unresolved), strict=True):
            for hit in hits:
                out.append(hit_candidate(hit, SYMBOL, root, detail=name))
    return out


#: Symbol lookups are remembered this long: between keystrokes the names around the
#: cursor barely change, and a lookup that missed the deadline still fills the cache.
LOOKUP_TTL_S = 20.0
_lookups: dict[tuple[int, str], tuple[float, list[Any]]] = {}
_lookups_lock = threading.Lock()
_lookup_pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="stead-lookup")


def lookup_many(index: SearchIndex, names: Sequence[str], k: int = 2) -> list[list[Any]]:
    """`index.lookup_symbol` for several names at once (in parallel, cached for a while)."""
    now = time.monotonic()
    out: dict[str, list[Any]] = {}
    missing: list[str] = []
    with _lookups_lock:
        for name in names:
            cached = _lookups.get((id(index), name))
            if cached is not None and now - cached[0] < LOOKUP_TTL_S:
                out[name] = cached[1]
            else:
                missing.append(name)
    results = list(_lookup_pool.map(lambda n: list(index.lookup_symbol(n, k)), missing))
    with _lookups_lock:
        if len(_lookups) > 2048:
            _lookups.clear()
        for name, hits in zip(missing, results, strict=True):
            _lookups[(id(index), name)] = (time.monotonic(), hits)
            out[name] = hits
    return [out[n] for n in names]


def similar(req: CompletionInput, index: SearchIndex | None, k: int = 5) -> list[Candidate]:
    """Index chunks like the few lines before the cursor.

    Vector search: a static-embedding query answers in ~10 ms where full-text takes ~100 ms
    on this index (the index falls back to full-text until vectors exist).
    """
    if index is None:
        return []
    before = [ln for ln in req.lines[max(0, req.line - 8) : req.line] if ln.strip()]
    query = " ".join(" ".join(before).split())[:400]
    if not query:
        return []
    root = index_root(index, req.roots[0] if req.roots else None)
    return [hit_candidate(h, SIMILAR, root) for h in index.search(query, k, mode="vector")]


def gather(
    req: CompletionInput,
    *,
    index: SearchIndex | None,
    ring: Sequence[Candidate],
    open_docs: Mapping[str, str],
    budget: int,
    deadline_s: float,
    count: Counter = approx_tokens,
    shares: Mapping[str, float] = SHARES,
) -> Selection:
    """Snippets for one completion, within `budget` tokens; slow sources are skipped."""
    if budget <= 0:
        return Selection(budget=budget)
    recent = [c for c in ring if not (same_path(c.path, req.path) and _near(c, req.line))]
    fns: dict[str, Callable[[], list[Candidate]]] = {
        DEFINITIONS: lambda: definitions(req, index, open_docs),
        SIMILAR_SOURCE: lambda: similar(req, index),
    }
    outcomes = run_sources(fns, deadline_s)
    results = [
        SourceResult(
            DEFINITIONS,
            shares.get(DEFINITIONS, 0.0),
            tuple(_as_list(outcomes[DEFINITIONS].value)),
            outcomes[DEFINITIONS].skipped,
        ),
        SourceResult(RECENT_SOURCE, shares.get(RECENT_SOURCE, 0.0), tuple(recent)),
        SourceResult(
            SIMILAR_SOURCE,
            shares.get(SIMILAR_SOURCE, 0.0),
            tuple(_as_list(outcomes[SIMILAR_SOURCE].value)),
            outcomes[SIMILAR_SOURCE].skipped,
        ),
    ]
    return fill_shares(results, budget, count, req.window)


def _near(c: Candidate, line: int) -> bool:
    return c.start_line <= line <= c.end_line


def _as_list(value: object) -> list[Candidate]:
    return list(value) if isinstance(value, list) else []


def explain(selection: Selection, root: Path | None = None) -> list[str]:
    """Lines for `stead complete --explain`: each snippet chosen and why, then what was not."""

    def rel(path: str) -> str:
        if root is not None:
            try:
                return os.path.relpath(path, root) if Path(path).is_relative_to(root) else path
            except ValueError:
                return path
        return path

    n = len(selection.items)
    out = [f"context: {selection.tokens}/{selection.budget} tokens in {n} snippet(s)"]
    for item in selection.items:
        what = f" ({item.detail})" if item.detail else ""
        out.append(
            f"  + {rel(item.path)}:{item.start_line}-{item.end_line}  "
            f"{item.reason}{what}  {item.tokens} tok"
        )
    for d in selection.dropped:
        out.append(f"  - {rel(d.path)}:{d.start_line}-{d.end_line}  {d.why}  {d.tokens} tok")
    out.extend(f"  ! {note}" for note in selection.notes)
    return out


def for_file(
    path: str,
    text: str,
    line: int,
    *,
    settings: Any,
    data_dirs: Any,
    root: Path,
    deadline_s: float | None = None,
    count: Counter = approx_tokens,
) -> Selection:
    """Cross-file context for a completion at 1-based `line` of a file, outside the server.

    For `stead complete` (and its `--explain`): the workspace index is used when it has
    been built; there is no ring of recent edits in a one-shot process.  A cold process
    loads grammars and the index first, so the deadline defaults to at least one second.
    """
    from server.chat.local import open_index

    s = settings
    index = open_index(root, data_dirs, s)
    lines = text.splitlines(keepends=True)
    window = prompt_window(
        path, lines, line, s.completion.prefix_tokens, s.completion.suffix_tokens, count
    )
    req = CompletionInput(path, lines, line, window, (root,))
    return gather(
        req,
        index=index,
        ring=[],
        open_docs={path: text},
        budget=s.context.completion_budget,
        deadline_s=deadline_s if deadline_s is not None else max(1.0, s.context.deadline_ms / 1000),
        count=count,
    )


def cli_context(
    path: Path, text: str, line: int, settings: Any, data_dirs: Any
) -> tuple[tuple[Any, ...], list[str]]:
    """For `stead complete`: (Snippets for the engine, the `--explain` lines)."""
    from server.completion.types import Snippet
    from server.paths import workspace_root

    full = path.resolve()
    root = workspace_root(full.parent)
    sel = for_file(str(full), text, line, settings=settings, data_dirs=data_dirs, root=root)
    snippets = tuple(Snippet(i.path, i.start_line, i.end_line, i.text, i.reason) for i in sel.items)
    return snippets, explain(sel, root)
