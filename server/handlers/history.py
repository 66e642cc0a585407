"""`stead/history/*`: the editors' view of the local prompt history.

Thin: params are structured with `protocol.parse`, the store does the work off the event
loop, and entries come back as plain JSON.  Lists carry summaries; `show` carries the
(redacted) text.  A damaged database that was recovered is announced once with the path of
the kept copy.  History trouble is a JSON-RPC error with a readable message, never a crash.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from server import protocol

if TYPE_CHECKING:
    from server.history import HistoryStore
    from server.lsp import SteadServer

log = logging.getLogger(__name__)

_announced: set[str] = set()
_announce_lock = threading.Lock()


class HistoryRequestFailed(protocol.RequestFailed):
    def __init__(self, message: str) -> None:
        super().__init__(message)



def entry_json(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The history modules load on first use, not on the start-up path."""
    from server.history.model import entry_json as render

    return render(*args, **kwargs)  # type: ignore[no-any-return]

def _store(ls: SteadServer) -> HistoryStore:
    from server.history import HistoryError, open_store

    try:
        store = open_store(ls.dirs.history_db)
    except HistoryError as exc:
        raise HistoryRequestFailed(str(exc)) from exc
    if store.recovered:
        with _announce_lock:
            fresh = store.recovered not in _announced
            _announced.add(store.recovered)
        if fresh:
            ls.window_show_message(types.ShowMessageParams(
                type=types.MessageType.Warning, message=f"stead: {store.recovered}"))
    return store


async def _call(ls: SteadServer, fn: Any, *args: Any) -> Any:
    from server.history import HistoryError

    try:
        return await ls.off_loop(fn, *args)
    except HistoryError as exc:
        raise HistoryRequestFailed(str(exc)) from exc
    except ValueError as exc:
        raise protocol.InvalidParams(str(exc)) from exc


def _list(ls: SteadServer, p: protocol.HistoryListParams) -> dict[str, Any]:
    store = _store(ls)
    entries = store.list(limit=min(max(p.limit, 0), 1000), offset=p.offset, kind=p.kind,
                         workspace=p.workspace, since=p.since, private=p.private,
                         conversation_id=p.conversation_id)
    return {"entries": [entry_json(e) for e in entries], "recovered": store.recovered}


def _search(ls: SteadServer, p: protocol.HistorySearchParams) -> dict[str, Any]:
    store = _store(ls)
    entries = store.search(p.query, limit=min(max(p.limit, 0), 1000), kind=p.kind,
                           workspace=p.workspace)
    return {"entries": [entry_json(e) for e in entries]}


def _show(ls: SteadServer, p: protocol.HistoryShowParams) -> dict[str, Any]:
    store = _store(ls)
    entry = store.get(p.id)
    if entry is None:
        raise HistoryRequestFailed(f"no history entry {p.id}")
    out = entry_json(entry, full=True)
    out["commits"] = [{"sha": sha, "confidence": conf} for sha, conf in store.commits_for(p.id)]
    return out


def _private(ls: SteadServer, p: protocol.HistoryPrivateParams) -> dict[str, Any]:
    return {"updated": _store(ls).set_private(p.ids, p.private)}


def _delete(ls: SteadServer, p: protocol.HistoryDeleteParams) -> dict[str, Any]:
    n = _store(ls).delete(p.ids, everything=p.all, kind=p.kind, workspace=p.workspace,
                          before=p.before, query=p.query, vacuum=p.vacuum)
    return {"deleted": n}


def _export(ls: SteadServer, p: protocol.HistoryExportParams) -> dict[str, Any]:
    from server.history import HistoryError

    path = Path(p.path).expanduser()
    if not path.is_absolute():
        raise protocol.InvalidParams("path: give an absolute path for the export file")
    store = _store(ls)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            n = store.export(out, kind=p.kind, workspace=p.workspace, since=p.since)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HistoryError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return {"path": str(path), "count": n}


def _prune(ls: SteadServer) -> None:
    if ls.settings.history.enabled:
        from server.redact.rules import rules

        rules()  # build the rule table now, not inside the first model call's record()
    days = ls.settings.history.retention_days
    if days <= 0 or not ls.dirs.history_db.exists():
        return
    try:
        from server.history import open_store

        n = open_store(ls.dirs.history_db).prune(days)
        if n:
            log.info("history: removed %d entries older than %d days", n, days)
    except Exception as exc:
        log.warning("history: retention not applied: %s", exc)


def register(ls: SteadServer) -> None:
    @ls.feature(protocol.HISTORY_LIST)
    async def history_list(ls: SteadServer, params: Any) -> Any:
        return await _call(ls, _list, ls, protocol.parse(params, protocol.HistoryListParams))

    @ls.feature(protocol.HISTORY_SEARCH)
    async def history_search(ls: SteadServer, params: Any) -> Any:
        return await _call(ls, _search, ls, protocol.parse(params, protocol.HistorySearchParams))

    @ls.feature(protocol.HISTORY_SHOW)
    async def history_show(ls: SteadServer, params: Any) -> Any:
        return await _call(ls, _show, ls, protocol.parse(params, protocol.HistoryShowParams))

    @ls.feature(protocol.HISTORY_PRIVATE)
    async def history_private(ls: SteadServer, params: Any) -> Any:
        return await _call(ls, _private, ls,
                           protocol.parse(params, protocol.HistoryPrivateParams))

    @ls.feature(protocol.HISTORY_DELETE)
    async def history_delete(ls: SteadServer, params: Any) -> Any:
        return await _call(ls, _delete, ls, protocol.parse(params, protocol.HistoryDeleteParams))

    @ls.feature(protocol.HISTORY_EXPORT)
    async def history_export(ls: SteadServer, params: Any) -> Any:
        return await _call(ls, _export, ls, protocol.parse(params, protocol.HistoryExportParams))

    def on_initialized(ls: SteadServer) -> None:
        threading.Thread(target=_prune, args=(ls,), name="history-prune", daemon=True).start()

    ls.initialized_hooks.append(on_initialized)
