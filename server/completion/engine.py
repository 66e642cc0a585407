"""The completion engine: one request in, one suggestion out, shared by LSP and CLI.

Order of work, cheapest first: typed-ahead reuse, then the prompt-keyed cache, then the
model.  Everything but the model call is plain Python on strings bounded by the budgets, so
server overhead stays in the low milliseconds even for huge files.  A newer request for the
same document cancels the older one (its event is set; the backend stops at the next token).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from server.backends.base import Backend, Generation, ModelError
from server.completion.budget import align_prefix, clip_prefix, clip_suffix
from server.completion.cache import CompletionCache, prompt_key
from server.completion.postprocess import (
    block_end,
    current_line,
    indent_to_strip,
    is_multiline,
    postprocess,
    reindent,
)
from server.completion.prompt import fim_context
from server.completion.types import CompletionRequest, CompletionResult

if TYPE_CHECKING:
    from server.settings import Settings

log = logging.getLogger(__name__)

#: Called after each model completion with (request, result): history recording hooks here.
Recorder = Callable[[CompletionRequest, CompletionResult], None]


#: The prefix starts at a multiple of this many lines: stable while a line is typed.
PREFIX_ALIGN_LINES = 8
#: Tokens kept free in the context window besides the prompt parts and the answer
#: (markers, path lines, the tokenizer estimate's error).
CONTEXT_MARGIN = 64


def context_budget(settings: Settings, context_length: int) -> int:
    """Tokens of repository context for one completion: the setting, bounded by what the
    model's window leaves after the prefix, suffix and answer budgets."""
    cs = settings.completion
    room = context_length - cs.prefix_tokens - cs.suffix_tokens - cs.max_tokens - CONTEXT_MARGIN
    return max(0, min(settings.context.completion_budget, room))


class Inflight:
    """One cancel event per document; starting a request cancels the previous one."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def start(self, key: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            old = self._events.get(key)
            self._events[key] = event
        if old is not None:
            old.set()
        return event

    def finish(self, key: str, event: threading.Event) -> None:
        with self._lock:
            if self._events.get(key) is event:
                del self._events[key]

    def cancel(self, key: str) -> None:
        with self._lock:
            old = self._events.pop(key, None)
        if old is not None:
            old.set()


class Engine:
    def __init__(self, backend: Callable[[], Backend], *, cache_size: int = 256) -> None:
        self._backend = backend
        self.cache = CompletionCache(cache_size)
        self.inflight = Inflight()
        self.recorders: list[Recorder] = []

    def complete(
        self,
        req: CompletionRequest,
        settings: Settings,
        cancel: threading.Event | None = None,
    ) -> CompletionResult:
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        cs = settings.completion
        if not cs.enabled:
            return CompletionResult("", "disabled")
        self.cache.size = cs.cache_size
        try:
            backend = self._backend()
        except ModelError as exc:
            return CompletionResult("", "error", error=str(exc))
        model = backend.name
        multiline = is_multiline(req.prefix, req.suffix, cs.multiline)

        typed = self.cache.typed_ahead(model, req.prefix, req.suffix)
        if typed is not None:
            text = typed if multiline else typed.split("\n", 1)[0]
            if text.strip():
                return CompletionResult(
                    text, "typed", multiline, model=model,
                    overhead_ms=(time.perf_counter() - started) * 1000,
                )

        count = backend.count_tokens
        prefix = align_prefix(req.prefix, clip_prefix(req.prefix, cs.prefix_tokens, count),
                              PREFIX_ALIGN_LINES)
        suffix = clip_suffix(req.suffix, cs.suffix_tokens, count)
        context = fim_context(
            req.snippets, path=req.path, root=req.root, count=count,
            budget=context_budget(settings, backend.context_length),
        ) if req.snippets else None
        key = prompt_key(model, repr(context), prefix, suffix, str(multiline), str(cs.max_tokens))
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.shown(model, req.prefix, req.suffix, cached)
            return CompletionResult(
                cached, "cache", multiline, model=model,
                overhead_ms=(time.perf_counter() - started) * 1000,
            )
        if cancel.is_set():
            return CompletionResult("", "empty", multiline, model=model, stop_reason="cancelled")

        before, _after = current_line(req.prefix, req.suffix)
        produced: list[str] = []

        def on_text(piece: str) -> bool:
            """Stop as soon as the suggestion is complete: no tokens beyond what is shown."""
            produced.append(piece)
            so_far = reindent("".join(produced), indent)
            if not multiline:
                head = so_far.lstrip("\n") if not before.strip() else so_far
                return "\n" not in head
            return block_end(so_far, req.prefix) >= len(so_far.rstrip(" \t"))

        indent = indent_to_strip(prefix) if multiline else ""
        prompt_prefix = prefix[: len(prefix) - len(indent)]
        gen_started = time.perf_counter()
        try:
            gen: Generation = backend.fim(
                prompt_prefix, suffix, max_tokens=cs.max_tokens, stop=(), cancel=cancel,
                on_text=on_text, context=context,
            )
        except ModelError as exc:
            log.warning("completion failed: %s", exc)
            return CompletionResult("", "error", multiline, model=model, error=str(exc))
        model_ms = (time.perf_counter() - gen_started) * 1000
        text = postprocess(reindent(gen.text, indent), req.prefix, req.suffix, multiline)
        if gen.stop_reason == "cancelled":
            text = ""
        elif gen.stop_reason != "timeout":
            self.cache.put(key, text)
        if text:
            self.cache.shown(model, req.prefix, req.suffix, text)
        total_ms = (time.perf_counter() - started) * 1000
        result = CompletionResult(
            text,
            "model" if text else "empty",
            multiline,
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            reused_tokens=gen.reused_tokens,
            model_ms=model_ms,
            overhead_ms=total_ms - model_ms,
            stop_reason=gen.stop_reason,
            model=model,
            prompt=gen.prompt or prompt_prefix + "<CURSOR>" + suffix,
        )
        for record in list(self.recorders):
            try:
                record(req, result)
            except Exception:
                log.exception("completion recorder failed")
        return result
