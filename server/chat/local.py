"""Chat without an editor: the same turn as `stead/chat`, run in the CLI's own process.

`stead ask` and `stead chat` build one LocalChat for a workspace root: settings from the
user's config file, the local model, the conversation store and the workspace index when
one exists.  Nothing leaves the machine on this path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import evolve

from server.chat.engine import TurnResult, run_turn
from server.chat.store import ChatStore
from server.context.select import Cursor, SearchIndex
from server.context.types import Selection
from server.paths import Dirs, dirs
from server.settings import Settings, resolve

log = logging.getLogger(__name__)




def open_index(root: Path, d: Dirs, settings: Settings) -> SearchIndex | None:
    """The workspace's index when it has been built (by an editor or `stead index`)."""
    if not settings.index.enabled or not d.index_dir(root).exists():
        return None
    try:
        from index.api import open_index as open_workspace_index

        index = open_workspace_index(root, d.data, settings.index)
        if not index.status().get("chunks"):
            return None
        return index
    except Exception as exc:  # a broken or foreign index: answer without it
        log.info("no usable index for %s: %s", root, exc)
        return None


class LocalChat:
    def __init__(
        self,
        root: Path,
        *,
        overrides: dict[str, Any] | None = None,
        data_dirs: Dirs | None = None,
    ) -> None:
        self.dirs = data_dirs or dirs()
        loaded = resolve(overrides, file=self.dirs.config_file)
        self.settings = loaded.settings
        self.problems = loaded.problems
        self.root = root
        self.store = ChatStore(self.dirs.data / "chat.sqlite3")
        self._backend: Any = None
        self._index: SearchIndex | None = None
        self._index_tried = False

    def backend(self) -> Any:
        """The local model (raises ModelError with the fix when there is none)."""
        if self._backend is None:
            from server.backends import make_backend

            self._backend = make_backend(self.settings, self.dirs)
        return self._backend

    def index(self) -> SearchIndex | None:
        if not self._index_tried:
            self._index_tried = True
            self._index = open_index(self.root, self.dirs, self.settings)
        return self._index

    def ask(
        self,
        question: str,
        *,
        conversation_id: str | None = None,
        cursor: Cursor | None = None,
        budget: int | None = None,
        max_tokens: int | None = None,
        cancel: threading.Event | None = None,
        on_selection: Callable[[Selection, tuple[str, ...], str], None] | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> TurnResult:
        import time

        from server.chat.record import record_turn
        from server.context.select import select

        t0 = time.perf_counter()
        backend = self.backend()
        t1 = time.perf_counter()
        index = self.index()
        t2 = time.perf_counter()
        s = self.settings
        docs = {cursor.path: cursor.text} if cursor is not None and cursor.text else {}

        def select_fn(tokens: int, count: Callable[[str], int], query: str) -> Selection:
            return select(
                query,
                index=index,
                open_docs=docs,
                budget=tokens,
                cursor=cursor,
                root=self.root,
                count=count,
                deadline_s=max(3.0, s.context.deadline_ms / 1000),
            )

        result = run_turn(
            question,
            store=self.store,
            backend=backend,
            select_fn=select_fn,
            conversation_id=conversation_id,
            workspace=str(self.root),
            root=self.root,
            n_ctx=s.model.n_ctx,
            max_tokens=max_tokens or s.chat.max_tokens,
            chat_budget=budget if budget is not None else s.context.chat_budget,
            cancel=cancel,
            on_text=on_text,
            on_selection=on_selection,
            record=lambda r: record_turn(
                s.history.enabled, self.dirs.history_db, r, workspace=str(self.root)
            ),
        )
        extra = {"backend": (t1 - t0) * 1000, "index_open": (t2 - t1) * 1000}
        return evolve(result, timings={**extra, **result.timings})

    def close(self) -> None:
        if self._backend is not None:
            try:
                self._backend.close()
            except Exception:
                log.debug("closing the backend failed", exc_info=True)
