"""The workspace index in the language server: background indexing, refresh, search.

Indexing starts after `initialized` on a daemon thread (never on the event loop, never
holding up shutdown) and reports `$/progress` so every editor shows a progress bar; the
user may cancel it from there.  Saves and watched-file events refresh the files they name;
edits are debounced and index the unsaved buffer.  LanceDB and tree-sitter are imported
only on that thread, so the initialize path stays light.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from index.roles import default_roles
from server import protocol
from server.handlers import inside_roots
from server.paths import OutsideRoots, in_roots, uri_path

if TYPE_CHECKING:
    from index.api import RefreshStats
    from index.multi import AnyIndex
    from server.lsp import SteadServer
    from server.settings import Settings

log = logging.getLogger(__name__)

MANAGER = "index.manager"
STATUS = "index.status"
#: Seconds of quiet after the last keystroke before an edited buffer is re-indexed.
EDIT_DEBOUNCE_S = 1.5
#: Seconds to gather save / watched-file events into one refresh.
SAVE_DEBOUNCE_S = 0.2
PROGRESS_INTERVAL_S = 0.25
#: How often an idle index checks whether compaction or pruning is due.
MAINTAIN_CHECK_S = 30.0


#: Index states that mean work under way.
BUSY = ("starting", "scanning", "indexing", "embedding", "optimizing", "waiting")


def search_ready(st: dict[str, Any]) -> str:
    """Which search answers right now: "hybrid", "full text" or "" (nothing indexed yet).

    Full-text search works as soon as a file's chunks are written, long before vectors.
    """
    if st.get("state") in ("error", "disabled", "off", "no workspace", "closed"):
        return ""
    if not st.get("chunks"):
        return ""
    return "hybrid" if st.get("search") == "hybrid" else "full text"


def index_summary(st: dict[str, Any]) -> str:
    """One line a status bar or statusline can show: what is searchable, what is under way,
    how far along and how long it should take."""
    state = str(st.get("state", ""))
    if state == "error":
        return f"index error: {st.get('error') or 'see the log'}"
    if state in ("disabled", "off", "no workspace", "closed", ""):
        return {"disabled": "index disabled", "no workspace": "no workspace folder"}.get(
            state, "")
    ready = search_ready(st)
    head = f"{ready} search ready" if ready else ""
    done, total = int(st.get("done") or 0), int(st.get("total") or 0)
    if state in BUSY:
        what = {"starting": "opening the index", "scanning": "scanning files",
                "optimizing": "optimizing",
                "waiting": str(st.get("message") or "another stead process is indexing"),
                }.get(state, "")
        if state == "indexing":
            what = f"indexing {done}/{total} files" if total else "indexing"
        elif state == "embedding":
            what = f"vectors {done}/{total} chunks" if total else (
                str(st.get("message") or "preparing vectors"))
        pct = st.get("percent")
        if pct is not None and state in ("indexing", "embedding"):
            what += f" ({pct}%"
            eta = st.get("eta_s")
            what += f", ~{_duration(float(eta))} left)" if eta is not None else ")"
        return f"{head}; {what}" if head else what
    chunks = int(st.get("chunks") or 0)
    if not chunks:
        return "nothing indexed yet"
    tail = f"{int(st.get('files') or 0):,} files, {chunks:,} chunks"
    if st.get("embedder_error"):
        return f"{head} ({tail}; vectors off: {st['embedder_error']})"
    return f"{head} ({tail})"


def progress_message(message: str, st: dict[str, Any]) -> str:
    """The index's own progress words, plus what a user waiting on them wants to know:
    that full-text search already works, and how long is left."""
    extra = []
    if st.get("state") in BUSY and search_ready(st) == "full text":
        extra.append("full-text search ready")
    eta = st.get("eta_s")
    if eta is not None:
        extra.append(f"~{_duration(float(eta))} left")
    return f"{message} ({', '.join(extra)})" if extra and message else message


def _duration(seconds: float) -> str:
    s = max(1, round(seconds))
    return f"{s} s" if s < 90 else f"{round(s / 60)} min"


def _path_of(uri: str) -> Path | None:
    return Path(uri_path(uri)) if uri.startswith("file:") else None


class IndexManager:
    """Owns the index of the workspace folders (one store per folder) and the work queued
    on it."""

    def __init__(self, ls: SteadServer) -> None:
        self.ls = ls
        self.ix: AnyIndex | None = None
        self.state = "off"
        self.error = ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._queue: list[tuple[str, Any]] = []  # ("full", None) | ("paths", set) | ("text", ..)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._pending_paths: set[Path] = set()
        self._edited: set[str] = set()  # uris whose unsaved text was indexed
        self._stop = False
        self._generation = 0
        self._shown: set[str] = set()  # notices already shown to the user
        #: (state, total, started, done then) of the phase under way, for the ETA
        self._phase: tuple[str, int, float, int] | None = None

    # -- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        if self.ix is not None:
            st = self.ix.status()
            if self.state in ("error",):
                st["state"] = self.state
        else:
            st = {"state": self.state, "files": 0, "chunks": 0, "vectors": 0}
        if self.error:
            st["error"] = self.error
        done, total = int(st.get("done") or 0), int(st.get("total") or 0)
        st["percent"] = int(100 * done / total) if total and st["state"] in BUSY else None
        st["eta_s"] = self._eta(str(st["state"]), done, total)
        st["search_ready"] = search_ready(st)
        st["summary"] = index_summary(st)
        return st

    def _eta(self, state: str, done: int, total: int) -> float | None:
        """Seconds left in the current phase, from its rate so far (None until known)."""
        now = time.monotonic()
        phase = self._phase
        if state not in BUSY or not total:
            self._phase = None
            return None
        if phase is None or phase[0] != state or phase[1] != total or done < phase[3]:
            self._phase = (state, total, now, done)
            return None
        _, _, t0, done0 = phase
        if done <= done0 or now - t0 < 1.0:
            return None
        return round((now - t0) / (done - done0) * (total - done), 1)

    def _publish(self) -> None:
        shared: dict[str, Any] = self.ls.service(STATUS, dict)
        shared.clear()
        shared.update(self.status())

    # -- the worker thread -------------------------------------------------------------
    def start(self) -> None:
        s = self.ls.settings.index
        roots = self.ls.roots
        self._generation += 1
        self._stop = False
        self.error = ""
        if not s.enabled:
            self.state = "disabled"
        elif not roots:
            self.state = "no workspace"
        else:
            self.loop = asyncio.get_running_loop()
            self.state = "starting"
            self.submit("full", None)
            self._thread = threading.Thread(target=self._run,
                                            args=(roots, self._generation),
                                            name="stead-index", daemon=True)
            self._thread.start()
        self._publish()

    def submit(self, kind: str, arg: Any) -> None:
        with self._lock:
            if kind == "full":
                self._queue = [q for q in self._queue if q[0] != "full"]
            self._queue.append((kind, arg))
        self._wake.set()

    def on_settings(self, old: Settings, new: Settings) -> None:
        """Index settings changed: reopen with the new ones (or stop when disabled)."""
        if old.index == new.index or (self.loop is None and self.state == "off"):
            return
        log.info("index settings changed; restarting the index")
        self.stop()
        self.start()

    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self._stop

    def _run(self, roots: list[Path], generation: int) -> None:
        try:
            from index.api import background_priority
            from index.multi import distinct_roots, open_indexes

            background_priority()  # this thread only: the event loop keeps its priority

            ix = open_indexes(distinct_roots(roots), self.ls.dirs.data,
                              self.ls.settings.index)
            if not self._current(generation):
                ix.close()
                return
            self.ix = ix
            self.state = "ready"
        except Exception as exc:
            self.state = "error"
            self.error = str(exc)
            log.warning("workspace index unavailable: %s", exc)
            self._call_soon(self._show_error, f"stead: workspace index unavailable: {exc}")
            self._call_soon(self._publish)
            return
        notice = ix.status()["notice"]
        if notice:
            self._shown.add(notice)
            self._call_soon(self._show_info, f"stead: {notice}")
        while self._current(generation):
            self._wake.wait(timeout=MAINTAIN_CHECK_S)  # idle: look for maintenance due
            if not self._current(generation):
                break
            with self._lock:
                queue, self._queue = self._queue, []
                self._wake.clear()
            for kind, arg in self._merge(queue):
                if not self._current(generation):
                    break
                try:
                    self._do(kind, arg)
                except Exception as exc:
                    log.exception("index %s failed", kind)
                    self.error = f"{kind} refresh failed: {exc}"
                self._call_soon(self._publish)
            with self._lock:
                idle = not self._queue
            if idle and self._current(generation):
                try:
                    if ix.maintain():
                        self._call_soon(self._publish)
                except Exception:
                    log.exception("index maintenance failed")

    @staticmethod
    def _merge(queue: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """A full refresh covers every path refresh queued with it; texts stay separate."""
        if any(k == "full" for k, _ in queue):
            return [("full", None)] + [(k, a) for k, a in queue if k == "text"]
        paths: set[Path] = set()
        texts = []
        for k, a in queue:
            if k == "paths":
                paths |= a
            else:
                texts.append((k, a))
        return ([("paths", paths)] if paths else []) + texts

    def _do(self, kind: str, arg: Any) -> None:
        ix = self.ix
        assert ix is not None
        if kind == "text":
            path, text = arg
            ix.refresh_text(path, text)
            return
        paths = None if kind == "full" else sorted(arg)
        title = "stead: indexing workspace" if paths is None else "stead: updating index"
        reporter = _Progress(self, title) if paths is None or len(paths) > 20 else None
        stats = ix.refresh(paths, reporter.report if reporter else None)
        if reporter is not None:
            reporter.finish(stats)
        notice = ix.status().get("notice", "")
        if paths is None and notice and notice not in self._shown:
            self._shown.add(notice)  # once per server: a workspace over index.max_files
            self._call_soon(self._show_error, f"stead: {notice}")

    # -- loop helpers ------------------------------------------------------------------
    def _call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed meanwhile
                loop.call_soon_threadsafe(fn, *args)

    def _show_error(self, message: str) -> None:
        self.ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, message))

    def _show_info(self, message: str) -> None:
        self.ls.window_log_message(types.LogMessageParams(types.MessageType.Info, message))

    # -- document events (on the loop) -------------------------------------------------
    def on_document(self, event: str, uri: str, params: Any) -> None:
        if self.state in ("off", "disabled", "no workspace", "error") or self.loop is None:
            return
        path = _path_of(uri)
        if path is None:
            return
        try:
            in_roots(str(path), self.ls.roots)
        except OutsideRoots:
            return  # an open file elsewhere, or a watcher event from outside: not ours
        if event in ("save", "watched"):
            self._edited.discard(uri)
            self._pending_paths.add(path)
            self._debounce("paths", SAVE_DEBOUNCE_S, self._flush_paths)
        elif event == "change":
            self._edited.add(uri)
            self._debounce(uri, EDIT_DEBOUNCE_S, lambda: self._flush_text(uri))
        elif event == "close" and uri in self._edited:
            self._edited.discard(uri)  # unsaved text was indexed: back to the disk's
            self._pending_paths.add(path)
            self._debounce("paths", SAVE_DEBOUNCE_S, self._flush_paths)

    def _debounce(self, key: str, delay: float, fn: Callable[[], None]) -> None:
        assert self.loop is not None
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = self.loop.call_later(delay, fn)

    def _flush_paths(self) -> None:
        self._timers.pop("paths", None)
        paths, self._pending_paths = self._pending_paths, set()
        if paths:
            self.submit("paths", paths)

    def _flush_text(self, uri: str) -> None:
        self._timers.pop(uri, None)
        try:
            doc = self.ls.workspace.get_text_document(uri)
            text = doc.source
        except Exception:
            return
        path = _path_of(uri)
        if path is not None:
            self.submit("text", (path, text))

    def stop(self) -> None:
        self._stop = True
        self._generation += 1
        if self.ix is not None:
            self.ix.cancel()  # the worker stops between commits
        self.ix = None
        with self._lock:
            self._queue = []
        self._wake.set()


class _Progress:
    """Work-done progress for one refresh, driven from the worker thread."""

    def __init__(self, mgr: IndexManager, title: str) -> None:
        self.mgr = mgr
        self.title = title
        self.token = f"stead-index-{uuid.uuid4().hex[:8]}"
        self.last = 0.0
        self.started = threading.Event()
        self.enabled = _client_supports_progress(mgr.ls)
        if self.enabled and mgr.loop is not None:
            fut = asyncio.run_coroutine_threadsafe(self._begin(), mgr.loop)
            try:
                fut.result(timeout=10)
            except Exception:
                log.info("client did not accept a progress token; no progress bar")
                self.enabled = False

    async def _begin(self) -> None:
        ls = self.mgr.ls
        await ls.work_done_progress.create_async(self.token)
        ls.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(
            title=self.title, cancellable=True, percentage=0))
        fut = ls.work_done_progress.tokens.get(self.token)
        if fut is not None:  # the user pressed cancel on the progress bar
            ix = self.mgr.ix
            fut.add_done_callback(lambda f: ix.cancel() if f.cancelled() and ix else None)

    def report(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S and done < total:
            return
        self.last = now
        self.mgr._call_soon(self.mgr._publish)
        if not self.enabled:
            return
        pct = int(100 * done / total) if total else 0
        message = progress_message(message, self.mgr.status())
        self.mgr._call_soon(self.mgr.ls.work_done_progress.report, self.token,
                            types.WorkDoneProgressReport(message=message, percentage=pct))

    def finish(self, stats: RefreshStats) -> None:
        if not self.enabled:
            return
        what = "cancelled" if stats.cancelled else (
            f"{stats.added + stats.updated} files indexed, {stats.deleted} removed, "
            f"{stats.chunks_embedded} chunks embedded in {stats.seconds:.1f}s")
        self.mgr._call_soon(self.mgr.ls.work_done_progress.end, self.token,
                            types.WorkDoneProgressEnd(message=what))


def _client_supports_progress(ls: SteadServer) -> bool:
    try:
        caps = ls.client_capabilities
        return bool(caps.window and caps.window.work_done_progress)
    except Exception:
        return False


def manager(ls: SteadServer) -> IndexManager:
    return ls.service(MANAGER, lambda: IndexManager(ls))


def index_for(ls: SteadServer) -> AnyIndex | None:
    """The workspace index once it is open (None while starting, disabled or broken).

    Never blocks: safe to call on the event loop.  Searches on it still block, so run
    them with `ls.off_loop`.
    """
    return manager(ls).ix




def _snake_keys(params: Any) -> Any:
    data = protocol.snake_keys(params)
    if isinstance(data, dict) and "limit" in data and "k" not in data:
        data["k"] = data.pop("limit")  # clients that say limit for k
    return data


def register(ls: SteadServer) -> None:
    ls.initialized_hooks.append(lambda ls: manager(ls).start())
    ls.document_listeners.append(lambda ev, uri, p: manager(ls).on_document(ev, uri, p))
    ls.settings_listeners.append(lambda old, new: manager(ls).on_settings(old, new))

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders_changed(ls: SteadServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        # pygls has updated the folders by now: reopen over the new set (unchanged
        # folders cost a stat per file)
        mgr = manager(ls)
        if mgr.loop is not None or mgr.state == "no workspace":
            mgr.stop()
            mgr.start()

    @ls.feature(protocol.INDEX_STATUS)
    def index_status(ls: SteadServer, params: Any) -> dict[str, Any]:
        return manager(ls).status()

    @ls.feature(protocol.INDEX_REBUILD)
    def index_rebuild(ls: SteadServer, params: Any) -> dict[str, Any]:
        p = protocol.parse(_snake_keys(params), protocol.IndexRebuildParams)
        mgr = manager(ls)
        if mgr.state in ("off", "disabled", "no workspace", "error"):
            return {"started": False, "state": mgr.state, "error": mgr.error}
        if p.paths:
            # every path is checked before any is queued: one outside refuses the request
            wanted = {inside_roots(ls, x, allow_opened=False).real for x in p.paths}
            mgr.submit("paths", wanted)
        else:
            mgr.submit("full", None)
        return {"started": True, "state": mgr.state}

    @ls.feature(protocol.SEARCH)
    async def search(ls: SteadServer, params: Any) -> dict[str, Any]:
        p = protocol.parse(_snake_keys(params), protocol.SearchParams)
        ix = index_for(ls)
        mgr = manager(ls)
        if ix is None:
            return {"hits": [], "state": mgr.state, "error": mgr.error}
        hits = await ls.off_loop(lambda: ix.search(
            p.query, p.k, mode=p.mode, path_glob=p.path_glob,  # type: ignore[arg-type]
            language=p.language,
            roles=p.roles if p.roles is not None else default_roles(p.query)))
        root = ix.root or Path("/")  # several folders: hit paths are absolute
        return {
            "hits": [{**protocol.dump(h), "uri": (root / h.path).as_uri()} for h in hits],
            "state": ix.status()["state"],
            "search": hits[0].source if hits else "",
        }
