"""Inline (ghost text) and classic completion from one engine, plus accept/reject feedback.

Thin: the handler reads the document around the cursor, hands plain strings to
`server.completion.engine.Engine` off the event loop, and wraps the text.  A newer request
for the same document, or `$/cancelRequest`, cancels the older one.  Bad positions, unknown
documents and model failures answer with an empty result, never an error the editor shows.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from server import protocol

if TYPE_CHECKING:
    from server.completion.engine import Engine, Inflight
    from server.completion.types import CompletionRequest, CompletionResult, Snippet
    from server.lsp import SteadServer

log = logging.getLogger(__name__)
ENGINE = "completion.engine"
FEEDBACK = "completion.feedback"
HISTORY = "completion.history"
INFLIGHT = "completion.inflight"
#: Set by the context area: (ls, uri, prefix, suffix) -> snippets for cross-file context.
SNIPPETS = "completion.snippets"


def _new_inflight() -> Inflight:
    from server.completion.engine import Inflight

    return Inflight()


def history_link(ls: SteadServer) -> HistoryLink:
    return ls.service(HISTORY, lambda: HistoryLink(ls))


def engine_for(ls: SteadServer) -> Engine:
    from server.backends import backend_for
    from server.completion.engine import Engine

    link = history_link(ls)  # not inside the factory: ls.service's lock is not reentrant

    def build() -> Engine:
        engine = Engine(lambda: backend_for(ls), cache_size=ls.settings.completion.cache_size)
        engine.recorders.append(link.record)
        return engine

    return ls.service(ENGINE, build)


class HistoryLink:
    """Writes completion prompts to the local history on a background thread and marks
    them accepted or rejected when the client says so (by document and suggestion text)."""

    def __init__(self, ls: SteadServer) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.ls = ls
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stead-history")
        #: uri -> (suggestion text, future of the history entry id)
        self.last: dict[str, tuple[str, Any]] = {}

    def record(self, req: CompletionRequest, result: CompletionResult) -> None:
        if not result.prompt or result.source not in ("model", "empty"):
            return
        try:
            from server.history import Entry, FileRange, record, should_record
        except ImportError:
            return
        if not should_record(self.ls.settings.history, "completion"):
            return
        roots = self.ls.roots
        entry = Entry(
            kind="completion",
            prompt=result.prompt,
            response=result.text,
            model=result.model,
            route="local",
            workspace=str(roots[0]) if roots else "",
            files=[FileRange(req.path, 0, 0)] if req.path else [],
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            latency_ms=result.model_ms + result.overhead_ms,
            outcome="shown" if result.text else (result.stop_reason or "answered"),
        )
        future = self._pool.submit(record, entry, self.ls.dirs.history_db)
        if result.text and req.uri:
            self.last[req.uri] = (result.text, future)

    def outcome(self, uri: str, text: str, outcome: str) -> None:
        shown = self.last.get(uri)
        if shown is None or (text and not shown[0].startswith(text) and text != shown[0]):
            return
        del self.last[uri]
        from server.history import set_outcome

        future = shown[1]
        db = self.ls.dirs.history_db
        self._pool.submit(lambda: set_outcome(db, future.result(), outcome))


def cursor_split(source: str, lines: Any, line: int, character: int, encoding: str) -> tuple[
    str, str
] | None:
    """(prefix, suffix) at an LSP position, or None when the position is not in the text.

    Converts the client's column (UTF-16 units unless negotiated otherwise) without walking
    long lines in Python.
    """
    if line < 0 or character < 0:
        return None
    if line >= len(lines):
        if line == len(lines) and character == 0:
            return source, ""
        return None
    text = lines[line]
    body = text.rstrip("\r\n")
    if encoding == "utf-8":
        col = len(body.encode("utf-8")[:character].decode("utf-8", "ignore"))
        raw_len = len(body.encode("utf-8"))
    elif encoding == "utf-32" or body.isascii():
        col = min(character, len(body))
        raw_len = len(body)
    else:
        units = body.encode("utf-16-le")
        raw_len = len(units) // 2
        col = len(units[: 2 * character].decode("utf-16-le", "ignore"))
    if character > raw_len:
        return None
    start = sum(len(x) for x in lines[:line]) if line < 4096 else _offset_of_line(source, line)
    cut = start + col
    return source[:cut], source[cut:]


def _offset_of_line(source: str, line: int) -> int:
    pos = 0
    for _ in range(line):
        pos = source.index("\n", pos) + 1
    return pos


def _encoding(ls: SteadServer) -> str:
    enc = getattr(ls.workspace, "position_encoding", None)
    value = str(getattr(enc, "value", enc) or "utf-16")
    return value


async def complete_at(
    ls: SteadServer, uri: str, position: types.Position,
    selected: types.SelectedCompletionInfo | None = None,
) -> CompletionResult | None:
    """Run the engine for a cursor; None for positions or documents it cannot serve.

    `selected` is the item highlighted in the editor's suggest widget: the text is then
    completed as if that item were accepted (see `inline_items`).
    """
    if uri not in ls.workspace.text_documents:
        return None
    # registered before any await, so "newer" means the order requests arrived in
    inflight: Inflight = ls.service(INFLIGHT, _new_inflight)
    event = inflight.start(uri)
    try:
        return await _complete(ls, uri, position, event, selected)
    except asyncio.CancelledError:  # $/cancelRequest: stop the model at its next token
        event.set()
        raise
    finally:
        inflight.finish(uri, event)


async def _complete(
    ls: SteadServer, uri: str, position: types.Position, event: threading.Event,
    selected: types.SelectedCompletionInfo | None = None,
) -> CompletionResult | None:
    from server.completion.types import CompletionRequest

    doc = ls.workspace.get_text_document(uri)
    split = cursor_split(doc.source, doc.lines, position.line, position.character, _encoding(ls))
    if split is None:
        return None
    prefix, suffix = split
    if selected is not None:
        start, end = selected.range.start, selected.range.end
        head = cursor_split(doc.source, doc.lines, start.line, start.character, _encoding(ls))
        tail = cursor_split(doc.source, doc.lines, end.line, end.character, _encoding(ls))
        if head is None or tail is None:
            return None
        prefix, suffix = head[0] + selected.text, tail[1]
    if not prefix.strip() and not suffix.strip():
        return None  # an empty file: nothing to complete from
    snippets: list[Snippet] = []
    provider = ls._services.get(SNIPPETS)
    if provider is not None:
        try:
            snippets = list(await provider(ls, uri, prefix, suffix))
        except Exception:
            log.debug("snippet provider failed", exc_info=True)
    path = doc.path or uri
    req = CompletionRequest(
        prefix=prefix, suffix=suffix, path=path, uri=uri,
        language_id=doc.language_id or "", snippets=tuple(snippets), root=_root_of(ls, path),
    )
    engine = await ls.off_loop(engine_for, ls)
    if event.is_set():
        return None
    result = await ls.off_loop(engine.complete, req, ls.settings, event)
    from server.handlers.lifecycle import model_failed, model_worked

    if result.source == "error" and result.error:
        model_failed(ls, result.error)  # shown once, and kept for the status
    elif result.source == "model":
        model_worked(ls)
    return result


def _root_of(ls: SteadServer, path: str) -> str:
    """The workspace folder holding `path` (the first one when none does)."""
    roots = ls.roots
    for root in roots:
        if Path(path).is_relative_to(root):
            return str(root)
    return str(roots[0]) if roots else ""


def _feedback(ls: SteadServer, kind: str, params: Any) -> None:
    try:
        fb = protocol.parse(params, protocol.CompletionFeedback)
    except protocol.InvalidParams as exc:
        log.warning("ignored %s feedback: %s", kind, exc)
        return
    events: deque[dict[str, Any]] = ls.service(FEEDBACK, lambda: deque(maxlen=1000))
    events.append({"kind": kind, "at": time.time(), **protocol.dump(fb)})
    if kind == "rejected":
        engine = ls._services.get(ENGINE)
        if engine is not None:
            engine.cache.forget_shown()
    if fb.uri:
        history_link(ls).outcome(fb.uri, fb.text, kind)


PRELOADED = "completion.preloaded"


def preload(ls: SteadServer) -> asyncio.Task[None] | None:
    """Start loading the model off the loop, once per model settings (the first document
    opened, or the first after the model changed), if it is already installed.  A failure
    is only logged here: the completion that needs the model reports it."""
    s = ls.settings
    if not (s.model.preload and s.completion.enabled and s.model.backend == "gpt4all"):
        return None  # a local server keeps its own model loaded
    done: dict[str, Any] = ls.service(PRELOADED, dict)
    if done.get("model") == s.model:
        return None
    done["model"] = s.model

    def load() -> None:
        from server.backends import backend_for
        from server.models.store import installed

        started = time.perf_counter()
        try:
            if not s.model.path and s.model.name not in installed(ls.dirs):
                return  # never installs: the first completion does, and says so
            backend = backend_for(ls)
            warm = getattr(backend, "load", None)  # in-process backends load a file
            if warm is not None:
                warm()
        except Exception as exc:
            log.info("model preload failed (the first completion will say why): %s", exc)
            return
        log.info("model preloaded in %.0f ms", (time.perf_counter() - started) * 1000)

    # a task on the loop's executor, not a daemon thread: exit waits for a load under way
    # rather than tearing the process down around native code that is still loading
    task = asyncio.get_running_loop().create_task(ls.off_loop(load))
    done["task"] = task
    return task


def register(ls: SteadServer) -> None:
    def on_document(event: str, uri: str, params: Any) -> None:
        if event == "open":
            preload(ls)

    ls.document_listeners.append(on_document)

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: SteadServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        selected = params.context.selected_completion_info if params.context else None
        result = await complete_at(ls, params.text_document.uri, params.position, selected)
        if result is None or not result.text:
            return types.InlineCompletionList(items=[])
        return types.InlineCompletionList(items=inline_items(result.text, params.position,
                                                             selected))

    @ls.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "("], resolve_provider=False),
    )
    async def completion(ls: SteadServer, params: types.CompletionParams) -> types.CompletionList:
        result = await complete_at(ls, params.text_document.uri, params.position)
        empty = types.CompletionList(is_incomplete=True, items=[])
        if result is None or not result.text:
            return empty
        doc = ls.workspace.get_text_document(params.text_document.uri)
        line = doc.lines[params.position.line] if params.position.line < len(doc.lines) else ""
        word = _word_before(line, params.position.character)
        new_text = word + result.text
        start = types.Position(params.position.line, params.position.character - len(word))
        label = new_text.strip().split("\n", 1)[0][:80] or new_text[:80]
        return types.CompletionList(
            is_incomplete=True,
            items=[
                types.CompletionItem(
                    label=label,
                    kind=types.CompletionItemKind.Text,
                    detail=f"stead ({result.model})",
                    filter_text=new_text,
                    sort_text="0",
                    insert_text_format=types.InsertTextFormat.PlainText,
                    text_edit=types.TextEdit(
                        range=types.Range(start=start, end=params.position), new_text=new_text
                    ),
                    documentation=result.text,
                )
            ],
        )

    @ls.feature(protocol.COMPLETION_ACCEPTED)
    def accepted(ls: SteadServer, params: Any) -> None:
        _feedback(ls, "accepted", params)

    @ls.feature(protocol.COMPLETION_REJECTED)
    def rejected(ls: SteadServer, params: Any) -> None:
        _feedback(ls, "rejected", params)


def inline_items(text: str, position: types.Position,
                 selected: types.SelectedCompletionInfo | None) -> list[
                     types.InlineCompletionItem]:
    """The ghost text to send.  While the suggest widget is open, an editor shows inline
    text only when it continues the highlighted item (VS Code's default, with
    `editor.quickSuggestions` on, mid-identifier): so the item's text comes first and the
    range is the item's, and the suggestion reads as "accept this item, then this"."""
    if selected is None:
        return [types.InlineCompletionItem(insert_text=text,
                                           range=types.Range(start=position, end=position))]
    return [types.InlineCompletionItem(insert_text=selected.text + text,
                                       range=selected.range)]


def _word_before(line: str, character: int) -> str:
    """Identifier characters just before the cursor (ASCII columns; else nothing)."""
    body = line.rstrip("\r\n")
    if not body.isascii():
        return ""
    i = min(character, len(body))
    j = i
    while j > 0 and (body[j - 1].isalnum() or body[j - 1] == "_"):
        j -= 1
    return body[j:i]
