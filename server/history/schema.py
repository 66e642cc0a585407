"""The history database's schema and its forward migrations.

`PRAGMA user_version` holds the schema version.  Each migration is a list of statements run
in one transaction; a database from a newer stead is never written to.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger(__name__)

_V1 = [
    """CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS entries(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL UNIQUE,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        workspace TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        route TEXT NOT NULL DEFAULT 'local',
        prompt TEXT NOT NULL DEFAULT '',
        response TEXT NOT NULL DEFAULT '',
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL DEFAULT 'answered',
        conversation_id TEXT,
        private INTEGER NOT NULL DEFAULT 0,
        redactions TEXT NOT NULL DEFAULT '{}',
        truncated INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS entries_ts ON entries(ts)",
    "CREATE INDEX IF NOT EXISTS entries_workspace_ts ON entries(workspace, ts)",
    "CREATE INDEX IF NOT EXISTS entries_conversation ON entries(conversation_id)",
    """CREATE TABLE IF NOT EXISTS entry_files(
        entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        start_line INTEGER NOT NULL DEFAULT 0,
        end_line INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS entry_files_entry ON entry_files(entry_id)",
    """CREATE TABLE IF NOT EXISTS commit_links(
        entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        sha TEXT NOT NULL,
        repo TEXT NOT NULL,
        confidence REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        linked_at REAL NOT NULL,
        PRIMARY KEY(entry_id, sha)
    )""",
    "CREATE INDEX IF NOT EXISTS commit_links_sha ON commit_links(sha)",
]

# Full-text search over the redacted prompt and response.  External content keeps one copy
# of the text; the triggers keep the index in step, deletions included.
_FTS = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
        prompt, response, content='entries', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN
        INSERT INTO entries_fts(rowid, prompt, response)
        VALUES (new.id, new.prompt, new.response);
    END""",
    """CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN
        INSERT INTO entries_fts(entries_fts, rowid, prompt, response)
        VALUES ('delete', old.id, old.prompt, old.response);
    END""",
    """CREATE TRIGGER IF NOT EXISTS entries_au AFTER UPDATE OF prompt, response ON entries BEGIN
        INSERT INTO entries_fts(entries_fts, rowid, prompt, response)
        VALUES ('delete', old.id, old.prompt, old.response);
        INSERT INTO entries_fts(rowid, prompt, response)
        VALUES (new.id, new.prompt, new.response);
    END""",
]

MIGRATIONS: list[list[str]] = [_V1]
VERSION = len(MIGRATIONS)


class NewerSchema(Exception):
    pass


def has_fts(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='entries_fts'"
    ).fetchone()
    return row is not None


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to VERSION; returns the version found before.  Safe to race: the
    version is re-read inside the write transaction."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > VERSION:
        raise NewerSchema(
            f"the history database has schema {found}, newer than this stead knows ({VERSION})"
        )
    if found == VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for version in range(found, VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        if not has_fts(conn):
            try:
                for statement in _FTS:
                    conn.execute(statement)
            except sqlite3.OperationalError as exc:  # an SQLite built without FTS5
                log.warning("history: full-text search unavailable (%s); using LIKE", exc)
        conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
