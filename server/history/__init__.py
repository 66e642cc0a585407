"""Prompt history: every prompt sent to a model, kept locally, redacted, under the user's
control (list, search, mark private, delete for real, export, import, link to commits).

Callers on the model paths use two functions and never see an exception from them:

    entry_id = record(Entry(kind="chat", prompt=p, response=a, model=m, ...), ls.dirs.history_db)
    set_outcome(ls.dirs.history_db, entry_id, "accepted")

Check `should_record(settings.history, kind)` first to honour the user's settings.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from server.history.model import KINDS, OUTCOMES, Entry, FileRange, StoredEntry
from server.history.store import HistoryError, HistoryStore, ImportResult, Link
from server.settings import HistorySettings

__all__ = [
    "KINDS", "OUTCOMES", "Entry", "FileRange", "HistoryError", "HistoryStore", "ImportResult",
    "Link", "StoredEntry", "open_store", "record", "set_outcome", "should_record",
]

log = logging.getLogger(__name__)
_stores: dict[Path, HistoryStore] = {}
_stores_lock = threading.Lock()


def open_store(db_path: Path) -> HistoryStore:
    """One shared store per database path and process (its connection is thread-safe)."""
    key = Path(db_path).absolute()
    with _stores_lock:
        store = _stores.get(key)
        if store is None or store._conn is None:
            store = HistoryStore(key)
            _stores[key] = store
        return store


def _forget(db_path: Path) -> None:
    with _stores_lock:
        _stores.pop(Path(db_path).absolute(), None)


def should_record(settings: HistorySettings, kind: str) -> bool:
    """The user's history settings: off entirely, or completions left out."""
    if not settings.enabled:
        return False
    return settings.completions or kind != "completion"


def record(entry: Entry, db_path: Path) -> int | None:
    """Redact and keep one entry; its id, or None when it could not be kept (logged).

    Never raises: a model answer must not fail because the history could not be written.
    """
    try:
        return open_store(db_path).add(entry)
    except Exception as exc:  # the message never holds the prompt: SQLite binds it
        log.warning("history: entry not kept: %s", exc)
        if not isinstance(exc, HistoryError):
            _forget(db_path)
        return None


def set_outcome(db_path: Path, entry_id: int | None, outcome: str) -> bool:
    """Mark what became of a recorded prompt (accepted, rejected, ...); False if unknown."""
    if entry_id is None:
        return False
    try:
        return open_store(db_path).set_outcome(entry_id, outcome)
    except Exception as exc:
        log.warning("history: outcome not kept: %s", exc)
        return False
