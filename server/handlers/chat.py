"""`stead/selectContext` and `stead/chat` (streamed through `stead/chat/chunk`).

Thin: parse params, snapshot the open documents and the recent-chunk ring on the loop, run
the plain functions of `server.context` and `server.chat` off it, wrap the result.
Nothing heavy is imported here at module level.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from server import protocol
from server.handlers import inside_roots, mark_opened

if TYPE_CHECKING:
    from server.chat.store import ChatStore
    from server.context.select import Cursor
    from server.context.types import Candidate
    from server.lsp import SteadServer

log = logging.getLogger(__name__)

class ChatFailed(protocol.RequestFailed):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message, {"kind": kind})


def parse(params: Any, cls: type[protocol.T]) -> protocol.T:
    data = protocol.snake_keys(params)
    if isinstance(data, dict):
        for key in ("question", "conversation_id", "uri", "token"):
            if data.get(key) is not None and not isinstance(data[key], str):
                what = f"invalid params for {cls.__name__}"
                raise protocol.InvalidParams(f"{what}: {key} must be a string")
    return protocol.parse(data, cls)


def _question(text: str) -> str:
    if not text.strip():
        raise protocol.InvalidParams("the question is empty: ask something about the code")
    return text


class Streamer:
    """Sends answer pieces as `stead/chat/chunk`, coalesced (at most ~30 a second)."""

    def __init__(self, ls: SteadServer, loop: asyncio.AbstractEventLoop, token: str, cid: str):
        self.ls, self.loop, self.token, self.cid = ls, loop, token, cid
        self.buf: list[str] = []
        self.index = 0
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self.lock:
            self.buf.append(text)
            now = time.monotonic()
            if now - self.last >= 0.03 or "\n" in text:
                self._flush(now)

    def flush(self) -> None:
        with self.lock:
            self._flush(time.monotonic())

    def _flush(self, now: float) -> None:
        if not self.buf:
            return
        params = {
            "token": self.token,
            "id": self.token,
            "conversation_id": self.cid,
            "index": self.index,
            "text": "".join(self.buf),
        }
        self.buf.clear()
        self.index += 1
        self.last = now
        self.loop.call_soon_threadsafe(self.ls.protocol.notify, protocol.CHAT_CHUNK, params)


def _selection_candidate(selection: Any, cursor: Cursor | None) -> list[Candidate]:
    """The user's selected text as a pinned chunk (string or {start_line, end_line, text})."""
    from server.context.types import SELECTION, Candidate

    if not selection or cursor is None:
        return []
    if isinstance(selection, str):
        text, start = selection, cursor.line
        found = cursor.text.find(text) if cursor.text else -1
        if found >= 0 and cursor.text is not None:
            start = cursor.text.count("\n", 0, found) + 1
    elif isinstance(selection, dict):
        text = str(selection.get("text", ""))
        start = int(selection.get("start_line", cursor.line) or cursor.line)
    else:
        return []
    if not text.strip():
        return []
    end = start + text.rstrip("\n").count("\n")
    return [Candidate(cursor.path, start, end, text, SELECTION, 1.0)]


def register(ls: SteadServer) -> None:
    def attach_context(ls: SteadServer) -> None:
        # after initialize: the context modules stay off the start-up path, and document
        # events only begin once the client has said `initialized`
        from server.context import service

        service.attach(ls)
        service.provide_snippets(ls)

    ls.initialized_hooks.append(attach_context)

    def store() -> ChatStore:
        from server.chat.store import ChatStore

        return ls.service("chat.store", lambda: ChatStore(ls.dirs.data / "chat.sqlite3"))

    @ls.feature(protocol.SELECT_CONTEXT)
    async def select_context(ls: SteadServer, params: Any) -> Any:
        from server.chat.engine import manifest_dict
        from server.context import service

        p = parse(params, protocol.SelectContextParams)
        question = _question(p.question)
        docs = service.open_docs(ls)
        ring_items = service.ring(ls).candidates()
        index = service.index_of(ls)
        line = p.position.line if p.position else None
        if p.uri:
            inside_roots(ls, p.uri)  # refuses a file outside the roots the client never opened
        cursor = service.cursor_for(p.uri, line, docs)
        budget = p.budget if p.budget is not None else ls.settings.context.chat_budget
        if budget < 0:
            raise protocol.InvalidParams("budget must be 0 or more tokens")
        sel = await ls.off_loop(
            lambda: service.select_context(
                ls, question, budget=budget, docs=docs, ring_items=ring_items,
                cursor=cursor, index=index,
            )
        )
        return mark_opened(manifest_dict(sel, service.root_of(ls)), list(ls.roots))

    @ls.feature(protocol.CHAT)
    async def chat(ls: SteadServer, params: Any) -> Any:
        from server.chat.engine import EmptyQuestion, manifest_dict, run_turn
        from server.chat.store import ConversationError, new_id, valid_id
        from server.context import service

        p = parse(params, protocol.ChatParams)
        question = _question(p.question)
        if p.conversation_id is not None and not valid_id(p.conversation_id):
            raise protocol.InvalidParams(
                "invalid conversation id: use 1-64 letters, digits, '-', '_' or '.'"
            )
        cid = p.conversation_id or new_id()
        s = ls.settings
        docs = service.open_docs(ls)
        ring_items = service.ring(ls).candidates()
        index = service.index_of(ls)
        if p.uri:
            inside_roots(ls, p.uri)
        cursor = service.cursor_for(p.uri, p.position.line if p.position else None, docs)
        if cursor is not None and p.position is not None and cursor.text is not None:
            service.ring(ls).touch(cursor.path, cursor.text.splitlines(keepends=True), cursor.line)
        pinned = _selection_candidate(p.selection, cursor)
        loop = asyncio.get_running_loop()
        streamer = Streamer(ls, loop, p.token or cid, cid)
        cancel = threading.Event()
        root = service.root_of(ls)

        def work() -> Any:
            backend = _backend(ls)

            def select_fn(budget: int, count: Any, query: str) -> Any:
                return service.select_context(
                    ls, query, budget=budget, docs=docs, ring_items=ring_items,
                    cursor=cursor, index=index, count=count, extra=pinned,
                )

            return run_turn(
                question,
                store=store(),
                backend=backend,
                select_fn=select_fn,
                conversation_id=cid,
                workspace=str(root or ""),
                root=root,
                n_ctx=s.model.n_ctx,
                max_tokens=p.max_tokens or s.chat.max_tokens,
                chat_budget=p.budget if p.budget is not None else s.context.chat_budget,
                cancel=cancel,
                on_text=streamer,
                record=lambda r: _record(ls, r),
            )

        try:
            result = await ls.off_loop(work)
        except asyncio.CancelledError:
            cancel.set()
            raise
        except EmptyQuestion as exc:
            raise protocol.InvalidParams(str(exc)) from None
        except ConversationError as exc:
            raise protocol.InvalidParams(str(exc)) from None
        except Exception as exc:
            from server.backends.base import ModelError

            if isinstance(exc, ModelError):
                raise ChatFailed(str(exc), "model") from None
            raise
        finally:
            streamer.flush()
        return protocol.dump(
            protocol.ChatResult(
                conversation_id=result.conversation_id,
                answer=result.answer,
                manifest=protocol.parse(
                    mark_opened(manifest_dict(result.selection, root, result.notes,
                                              result.budget_why), list(ls.roots)),
                    protocol.Manifest,
                ),
                model=result.model,
                notes=list(result.notes),
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                stop_reason=result.stop_reason,
                latency_ms=round(result.latency_ms, 1),
                timings={k: round(v, 1) for k, v in result.timings.items()},
            )
        )

    @ls.feature(protocol.CHAT_CONVERSATIONS)
    async def conversations(ls: SteadServer, params: Any) -> Any:
        rows = await ls.off_loop(store().list)
        return [
            {"id": c.id, "title": c.title, "workspace": c.workspace, "created": c.created,
             "updated": c.updated, "turns": c.turns}
            for c in rows
        ]

    @ls.feature(protocol.CHAT_HISTORY)
    async def history(ls: SteadServer, params: Any) -> Any:
        p = parse(params, protocol.ConversationParams)
        msgs = await ls.off_loop(store().messages, p.conversation_id)
        return [
            {"role": m.role, "content": m.content, "created": m.created, "manifest": m.manifest}
            for m in msgs
        ]

    @ls.feature(protocol.CHAT_DELETE)
    async def delete(ls: SteadServer, params: Any) -> Any:
        p = parse(params, protocol.ConversationParams)
        return {"deleted": await ls.off_loop(store().delete, p.conversation_id)}


def _backend(ls: SteadServer) -> Any:
    """The local model backend; a missing model raises ModelError with the fix."""
    from server.backends import backend_for  # type: ignore[attr-defined]

    return backend_for(ls)


def _record(ls: SteadServer, result: Any) -> None:
    from server.chat.record import record_turn
    from server.context import service

    root = service.root_of(ls)
    record_turn(
        ls.settings.history.enabled, ls.dirs.history_db, result, workspace=str(root or "")
    )
