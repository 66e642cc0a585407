"""Conversations kept in the user data dir, so a follow-up turn sees the earlier ones.

SQLite in WAL mode: several server processes (one per editor window) and the CLI may use
the same file at once.  The schema carries a version and migrates forward.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrs import frozen

SCHEMA_VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        workspace TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        manifest TEXT,
        created REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation, seq);
    """,
}


class ConversationError(ValueError):
    """A conversation id that is malformed or unknown; the message says which."""


@frozen
class StoredMessage:
    role: str
    content: str
    created: float
    manifest: dict[str, Any] | None = None


@frozen
class Conversation:
    id: str
    title: str
    workspace: str
    created: float
    updated: float
    turns: int = 0


def valid_id(conversation_id: str) -> bool:
    return bool(_ID.match(conversation_id))


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class ChatStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                con.execute("PRAGMA journal_mode = WAL")
                self._migrate(con)
                self._ready = True
            with con:
                yield con
        finally:
            con.close()

    @staticmethod
    def _migrate(con: sqlite3.Connection) -> None:
        with con:
            con.execute("BEGIN IMMEDIATE")
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"chat store schema {version} is newer than this stead ({SCHEMA_VERSION})"
                )
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[v].split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"PRAGMA user_version = {v}")

    def open(self, conversation_id: str | None, *, workspace: str = "", title: str = "") -> str:
        """The id of an existing conversation, or of a new one (with the given id if any)."""
        if conversation_id is not None and not valid_id(conversation_id):
            raise ConversationError(
                f"invalid conversation id {conversation_id[:80]!r}: use 1-64 letters, "
                "digits, '-', '_' or '.'"
            )
        cid = conversation_id or new_id()
        now = time.time()
        with self._db() as con:
            con.execute(
                "INSERT OR IGNORE INTO conversations(id, title, workspace, created, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (cid, title[:200], workspace, now, now),
            )
        return cid

    def exists(self, conversation_id: str) -> bool:
        with self._db() as con:
            row = con.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,))
            return row.fetchone() is not None

    def append(
        self,
        conversation_id: str,
        role: str,
        content: str,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        now = time.time()
        with self._db() as con:
            con.execute(
                "INSERT INTO messages(conversation, role, content, manifest, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, role, content, json.dumps(manifest) if manifest else None, now),
            )
            con.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    def messages(self, conversation_id: str) -> list[StoredMessage]:
        with self._db() as con:
            rows = con.execute(
                "SELECT role, content, created, manifest FROM messages "
                "WHERE conversation = ? ORDER BY seq",
                (conversation_id,),
            ).fetchall()
        return [StoredMessage(r[0], r[1], r[2], json.loads(r[3]) if r[3] else None) for r in rows]

    def list(self, limit: int = 50) -> list[Conversation]:
        with self._db() as con:
            rows = con.execute(
                "SELECT c.id, c.title, c.workspace, c.created, c.updated, "
                "(SELECT COUNT(*) FROM messages m WHERE m.conversation = c.id AND m.role = 'user') "
                "FROM conversations c ORDER BY c.updated DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Conversation(*r) for r in rows]

    def delete(self, conversation_id: str) -> bool:
        with self._db() as con:
            cur = con.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            return cur.rowcount > 0
