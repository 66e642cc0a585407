"""The context machinery wired to a running server: open documents, the ring, the index.

Handlers (chat, completion) call these; they gather plain inputs on the event loop
(a snapshot of the open documents, the ring) and run the plain functions off it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.context.ring import RecentRing
from server.context.select import Cursor, SearchIndex
from server.context.types import Candidate, Selection
from server.paths import uri_path

if TYPE_CHECKING:
    from server.lsp import SteadServer
    from server.settings import Settings

log = logging.getLogger(__name__)

RING = "context.ring"
#: Questions may wait this long for their slowest source (vector search embeds the query).
SELECT_DEADLINE_S = 3.0


def ring(ls: SteadServer) -> RecentRing:
    return ls.service(RING, lambda: RecentRing(ls.settings.context.recent_chunks))


def open_docs(ls: SteadServer) -> dict[str, str]:
    """Absolute path -> current text of every open document (call on the event loop)."""
    try:
        docs = list(ls.workspace.text_documents.items())
    except Exception:  # before initialize
        return {}
    return {uri_path(uri): str(doc.source) for uri, doc in docs}


def index_of(ls: SteadServer) -> SearchIndex | None:
    """The workspace index when it exists and is usable; None means "open files only"."""
    try:
        from server.handlers.index import index_for
    except ImportError:
        return None
    try:
        index = index_for(ls)
        if index is None or not index.status().get("chunks"):
            return None  # not built yet: answers come from the open files (and say so)
        return index
    except Exception:
        log.exception("index unavailable")
        return None


def root_of(ls: SteadServer) -> Path | None:
    roots = ls.roots
    return roots[0] if roots else None


def cursor_for(uri: str | None, line0: int | None, docs: dict[str, str]) -> Cursor | None:
    """The user's position as a Cursor; the text comes from the open buffer or the disk."""
    if not uri:
        return None
    from server.context.symbols import read_text

    path = uri_path(uri)
    text = docs.get(path)
    if text is None:
        text = read_text(path)
    return Cursor(path, (line0 or 0) + 1, text)


def on_document(ls: SteadServer, event: str, uri: str, params: Any) -> None:
    """Feed the ring: an edit remembers the chunk around it; a closed file is forgotten."""
    if not uri.startswith("file:"):
        return
    path = uri_path(uri)
    r = ring(ls)
    if event == "close":
        r.forget(path)
        return
    if event != "change":
        return
    try:
        doc = ls.workspace.get_text_document(uri)
    except Exception:
        return
    lines = doc.lines
    r.refresh(path, lines)
    for change in getattr(params, "content_changes", []) or []:
        rng = getattr(change, "range", None)
        if rng is not None:
            r.touch(path, lines, rng.start.line + 1)


def on_settings(ls: SteadServer, old: Settings, new: Settings) -> None:
    if old.context.recent_chunks != new.context.recent_chunks:
        ring(ls).resize(new.context.recent_chunks)


def attach(ls: SteadServer) -> None:
    """Subscribe the ring to document events and settings changes."""
    ls.document_listeners.append(lambda event, uri, params: on_document(ls, event, uri, params))
    ls.settings_listeners.append(lambda old, new: on_settings(ls, old, new))


def select_context(
    ls: SteadServer,
    question: str,
    *,
    budget: int,
    docs: dict[str, str],
    ring_items: list[Candidate],
    cursor: Cursor | None,
    index: SearchIndex | None,
    count: Any = None,
    extra: list[Candidate] | None = None,
) -> Selection:
    """`select` with the server's settings; blocking (call off the loop)."""
    from server.context.select import select
    from server.context.tokens import approx_tokens

    return select(
        question,
        index=index,
        open_docs=docs,
        budget=budget,
        ring=ring_items,
        cursor=cursor,
        root=root_of(ls),
        count=count or approx_tokens,
        deadline_s=max(SELECT_DEADLINE_S, ls.settings.context.deadline_ms / 1000),
        pinned=extra or (),
    )


def completion_context(
    ls: SteadServer,
    uri: str,
    line0: int,
    *,
    docs: dict[str, str],
    ring_items: list[Candidate],
    index: SearchIndex | None,
    count: Any = None,
    budget: int | None = None,
) -> Selection:
    """Cross-file snippets for a completion at 0-based `line0` of `uri`; blocking.

    The completion handler calls it off the loop (after `open_docs`/`ring` on the loop)
    and turns the items into its Snippets.
    """
    from server.context.completion import CompletionInput, gather, prompt_window
    from server.context.tokens import approx_tokens

    s = ls.settings
    path = uri_path(uri)
    text = docs.get(path, "")
    lines = text.splitlines(keepends=True)
    line = line0 + 1
    counter = count or approx_tokens
    window = prompt_window(
        path, lines, line, s.completion.prefix_tokens, s.completion.suffix_tokens, counter
    )
    req = CompletionInput(path, lines, line, window, tuple(ls.roots))
    return gather(
        req,
        index=index,
        ring=ring_items,
        open_docs=docs,
        budget=s.context.completion_budget if budget is None else budget,
        deadline_s=s.context.deadline_ms / 1000,
        count=counter,
    )


#: The completion handler looks up its cross-file snippet provider under this service key.
SNIPPETS_SERVICE = "completion.snippets"


async def completion_snippets(ls: SteadServer, uri: str, prefix: str, suffix: str) -> list[Any]:
    """The completion engine's snippet provider: cross-file context for this cursor.

    Gathers inputs on the loop, runs the sources off it under `context.deadline_ms`, and
    returns `server.completion.types.Snippet`s, most useful first.  The cursor's area also
    enters the recent-chunk ring (the user is looking at it).
    """
    from server.completion.types import Snippet

    s = ls.settings
    if s.context.completion_budget <= 0 or not uri.startswith("file:"):
        return []
    line0 = prefix.count("\n")
    docs = open_docs(ls)
    ring_items = ring(ls).candidates()
    index = index_of(ls)
    path = uri_path(uri)
    # counted and sized as the engine will (the model's tokenizer and window), so every
    # snippet chosen here reaches the model
    count, budget = None, None
    from server.backends import SERVICE as BACKEND
    from server.completion.engine import context_budget

    backend = ls._services.get(BACKEND)
    if backend is not None and hasattr(backend, "count_tokens"):
        count, budget = backend.count_tokens, context_budget(s, backend.context_length)
    sel = await ls.off_loop(
        lambda: completion_context(
            ls, uri, line0, docs=docs, ring_items=ring_items, index=index, count=count,
            budget=budget,
        )
    )
    text = docs.get(path)
    if text is not None:
        ring(ls).touch(path, text.splitlines(keepends=True), line0 + 1)
    if log.isEnabledFor(logging.DEBUG):
        from server.context.completion import explain

        log.debug("completion %s:%d\n%s", path, line0 + 1, "\n".join(explain(sel, root_of(ls))))
    return [Snippet(i.path, i.start_line, i.end_line, i.text, i.reason) for i in sel.items]


def provide_snippets(ls: SteadServer) -> None:
    """Offer `completion_snippets` to the completion handler."""
    ls.service(SNIPPETS_SERVICE, lambda: completion_snippets)
