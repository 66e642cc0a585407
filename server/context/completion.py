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
import re
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from server.context.budget import SourceResult, Window, fill_shares, same_path
from server.context.select import SearchIndex, hit_candidate, index_root
from server.context.sources import run_sources
from server.context.symbols import (
    Imported,
    definition_spans,
    go_imports,
    go_package_files,
    grammar_for,
    identifiers_near,
    module_files,
    outline,
    read_text,
    resolve_imports,
    signature,
)
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


#: Definitions shown whole (cut to an outline when long); the rest get their signature.
FULL_DEFINITIONS = 4
#: Most lines of a definition shown whole.
FULL_LINES = 30
#: Most signatures of likely callees (imported, same package) offered after those.
MAX_SIGNATURES = 40


@frozen
class _Def:
    file: str
    start: int
    end: int
    name: str


def _defs_in(file: str, open_docs: Mapping[str, str]) -> tuple[str, dict[str, tuple[int, int]]]:
    source = open_docs.get(file)
    if source is None:
        source = read_text(file)
    if source is None:
        return "", {}
    return source, definition_spans(file, source)


def _resolve(
    imp: Imported, open_docs: Mapping[str, str], roots: Sequence[Path] = (), depth: int = 2
) -> _Def | None:
    """Where an imported name is defined, following re-exports (`from .x import y` in a
    package's `__init__`) a couple of levels."""
    for file in module_files(imp):
        source, spans = _defs_in(file, open_docs)
        span = spans.get(imp.name)
        if span is not None:
            return _Def(file, span[0], span[1], imp.name)
        if depth > 0 and source:
            for again in resolve_imports(file, source, roots):
                if again.local == imp.name and again.name:
                    found = _resolve(again, open_docs, roots, depth - 1)
                    if found is not None:
                        return found
    return None


def _words(text: str) -> set[str]:
    """Lower-case sub-words of the identifiers in `text` (camelCase and snake_case split)."""
    out: set[str] = set()
    for ident in _IDENT.findall(text):
        for part in _SUBWORD.findall(ident):
            if len(part) > 1:
                out.add(part.lower())
    return out


_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SUBWORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def definitions(
    req: CompletionInput,
    index: SearchIndex | None,
    open_docs: Mapping[str, str],
    *,
    names_limit: int = 12,
) -> list[Candidate]:
    """Definitions the code at the cursor is likely to need, most likely first.

    1. Names used around the cursor (the call being typed, its receiver, nearby calls)
       resolved through the file's imports, the Go package, or the index's symbol table.
    2. Likely callees not written yet: names imported but not used (the user is about to),
       members of a module the cursor line reaches into (`utils.`), then every other
       imported or same-package definition, ranked by how much its name shares with the
       lines before the cursor.
    The first few are shown whole (a long one as an outline: its signature and those of
    its methods), the rest as signatures: many likely callees fit a small budget.
    Ranking reads the lines before the cursor's line and whole names only, so the list
    stays the same while a line is typed and the model's evaluated prompt is reused.
    """
    path = req.path
    text = "".join(req.lines)
    names = identifiers_near(path, req.lines, req.line, limit=names_limit)
    imports = resolve_imports(path, text, req.roots)
    if path.endswith(".go"):
        imports += go_imports(path, text)
    imported = {i.local: i for i in imports}
    uses = Tally(_IDENT.findall(text))
    cur = req.lines[req.line - 1] if 0 < req.line <= len(req.lines) else ""
    receiver = re.findall(r"([A-Za-z_$][\w$]*)\s*\.\s*[\w$]*$", cur.rstrip("\n"))
    before = "".join(req.lines[max(0, req.line - 16) : max(0, req.line - 1)])
    query = _words(before)

    own = set(definition_spans(path, text)) if grammar_for(path) is not None else set()
    found: dict[tuple[str, int], tuple[_Def, str, str]] = {}
    order: list[tuple[str, int]] = []

    def add(d: _Def | None, reason: str, detail: str) -> bool:
        if d is None:
            return False
        key = (d.file, d.start)
        if key not in found:
            found[key] = (d, reason, detail)
            order.append(key)
        return True

    package: dict[str, _Def] = {}
    if path.endswith(".go"):
        for file in go_package_files(path):
            for name, (a, b) in _defs_in(file, open_docs)[1].items():
                package.setdefault(name, _Def(file, a, b, name))

    # 1. names at the cursor, resolved
    unresolved: list[str] = []
    for name in names:
        imp = imported.get(name)
        if imp is not None and imp.name and add(_resolve(imp, open_docs, req.roots), IMPORT, name):
            continue
        if name in package and add(package[name], IMPORT, name):
            continue
        if imp is None and name not in own:
            unresolved.append(name)
    # 2. likely callees: imported but unused, then what the receiver module offers
    unused = [i for i in imports if i.name and uses[i.local] <= 1]
    for imp in unused:
        add(_resolve(imp, open_docs, req.roots), IMPORT, imp.local)
    ranked: list[tuple[float, _Def, str]] = []
    for rec in receiver:
        imp = imported.get(rec)
        if imp is not None and not imp.name:  # a module: its members
            for file in module_files(imp):
                for name, (a, b) in _defs_in(file, open_docs)[1].items():
                    ranked.append((3.0 + _affinity(name, query), _Def(file, a, b, name), rec))
    for imp in imports:
        if not imp.name and uses[imp.local] > 1 and imp.local not in receiver:
            for file in module_files(imp):  # a module used here: its members, lower
                for name, (a, b) in _defs_in(file, open_docs)[1].items():
                    often = min(uses[name], 6) / 6
                    ranked.append((0.5 + often + _affinity(name, query), _Def(file, a, b, name),
                                   imp.local))
        if imp.name and uses[imp.local] > 1:
            d = _resolve(imp, open_docs, req.roots)
            if d is not None:
                often = min(uses[imp.local], 6) / 6  # used a lot here: likely again
                ranked.append((1.0 + often + _affinity(imp.local, query), d, imp.local))
    for name, d in package.items():
        if name not in own:
            often = min(uses[name], 6) / 6
            ranked.append((often + _affinity(name, query), d, name))
    ranked.sort(key=lambda t: -t[0])
    for _, d, detail in ranked[:MAX_SIGNATURES]:
        add(d, IMPORT, detail)

    out: list[Candidate] = []
    full = 0
    for key in order:
        d, reason, detail = found[key]
        source, _ = _defs_in(d.file, open_docs)
        lines = source.splitlines(keepends=True)
        body = "".join(lines[d.start - 1 : d.end])
        if not body.strip():
            continue
        if full < FULL_DEFINITIONS:  # whole, or its outline: the range it summarises
            shown, end = outline(body, max_lines=FULL_LINES), d.end
            full += 1
        else:
            shown = signature(body)
            end = min(d.end, d.start + max(1, shown.count("\n")) - 1)
        out.append(Candidate(d.file, d.start, end, shown, reason, 1.0, detail))
    if index is not None and unresolved:
        root = index_root(index, req.roots[0] if req.roots else None)
        for name, hits in zip(unresolved, lookup_many(index, unresolved), strict=True):
            for hit in hits:
                c = hit_candidate(hit, SYMBOL, root, detail=name)
                if c.text.count("\n") > FULL_LINES:
                    c = evolve(c, text=outline(c.text, max_lines=FULL_LINES))
                out.append(c)
    return out


def _affinity(name: str, query: set[str]) -> float:
    """Share of a name's sub-words found in the lines before the cursor (0..1)."""
    words = _words(name)
    return len(words & query) / len(words) if words else 0.0


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
    # the lines before the cursor's, not the line being typed: the query (and so the
    # prompt) stays the same from one keystroke to the next
    before = [ln for ln in req.lines[max(0, req.line - 9) : req.line - 1] if ln.strip()]
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


def cli_root(path: Path, data_dirs: Any, cwd: Path | None = None) -> Path:
    """The workspace root `stead complete` uses for a file, the one `stead index` and
    `stead search` would: the enclosing git work tree; outside git, the nearest folder
    above the file that has an index, else the current directory when it holds the file
    (where `stead index` with no argument indexes), else the file's folder."""
    from server.paths import workspace_root

    full = path.resolve()
    for d in full.parents:
        if (d / ".git").exists():
            return d
    for d in full.parents:
        try:
            if data_dirs.index_dir(d).exists():
                return d
        except Exception:
            break
    here = workspace_root(cwd)
    if full.is_relative_to(here):
        return here
    return full.parent


def cli_context(
    path: Path,
    text: str,
    line: int,
    settings: Any,
    data_dirs: Any,
    *,
    root: Path | None = None,
    budget: int | None = None,
    count: Counter = approx_tokens,
) -> tuple[tuple[Any, ...], list[str], Path]:
    """For `stead complete`: (Snippets for the engine, the `--explain` lines, the root).

    `budget` and `count` should be the engine's (the model's window and tokenizer), so
    what is listed here is what the model then reads.
    """
    import attrs

    from server.completion.types import Snippet

    full = path.resolve()
    root = root.resolve() if root is not None else cli_root(full, data_dirs)
    if budget is not None:
        settings = attrs.evolve(
            settings, context=attrs.evolve(settings.context, completion_budget=budget)
        )
    sel = for_file(str(full), text, line, settings=settings, data_dirs=data_dirs, root=root,
                   count=count)
    snippets = tuple(Snippet(i.path, i.start_line, i.end_line, i.text, i.reason) for i in sel.items)
    return snippets, explain(sel, root), root
