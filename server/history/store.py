"""The prompt history: SQLite in the user's data dir, redacted on the way in.

Several stead processes (one per editor window, plus the CLI and the git hook) share one
file: WAL journaling, a generous busy timeout and short `BEGIN IMMEDIATE` write
transactions make that safe.  The file is created readable by the user only.

What a security-minded user expects, and what this module does:
- nothing is stored unredacted (`add` redacts prompt and response, imports are redacted too);
- deleted entries are really gone: `secure_delete` zeroes freed pages, the full-text index
  is merged so no deleted token survives in it, and the WAL is checkpointed and truncated;
- private entries are never exported and never offered to remote context (`private_texts`);
- a damaged file is never dropped silently: it is moved aside as a backup, what is readable
  is copied into a fresh database, and the store says so (`recovered`);
- a full disk or an over-quota store loses the new entry, never the old ones.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs
from attrs import frozen

from server.history import schema
from server.history.model import OUTCOMES, Entry, FileRange, StoredEntry, normalize_outcome

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Longest prompt or response kept, in characters; the rest is cut with a marker (a
#: multi-megabyte prompt is redacted in full first, so nothing secret survives the cut).
MAX_TEXT = 1_000_000
EXPORT_FORMAT = "stead-history"

_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL_CODES = {13}  # SQLITE_FULL


class HistoryError(Exception):
    """A history operation failed; the message is meant for the user."""


@frozen
class ImportResult:
    added: int
    skipped: int
    errors: tuple[str, ...] = ()


@frozen
class Link:
    entry: StoredEntry
    sha: str
    repo: str
    confidence: float
    reason: str


def _is_corrupt(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _CORRUPT_CODES:
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _is_full(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and (code & 0xFF) in _FULL_CODES) or "is full" in str(exc)


def clean_text(value: Any) -> str:
    """Any text in, valid UTF-8 out: bytes are decoded (UTF-8, else Latin-1), lone
    surrogates become U+FFFD; SQLite would otherwise refuse the row."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            value = bytes(value).decode("latin-1")
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _cut(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_TEXT:
        return text, False
    dropped = len(text) - MAX_TEXT
    return text[:MAX_TEXT] + f"\n[... {dropped} characters not kept]", True


def fts_query(query: str) -> str:
    """User words -> an FTS5 query that cannot be a syntax error: every word is a quoted
    prefix term, all must match."""
    words = re.findall(r"\w+", query)
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class HistoryStore:
    def __init__(self, db_path: Path, *, max_bytes: int | None = None) -> None:
        self.path = Path(db_path)
        self.max_bytes = max_bytes
        #: Set when a damaged database was replaced: what happened and where the copy is.
        self.recovered: str | None = None
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._fts = True
        self._connect_or_recover()

    # -- connection ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if found > schema.VERSION:  # checked before anything writes to the file
                raise schema.NewerSchema(
                    f"the history database has schema {found}, newer than this stead knows "
                    f"({schema.VERSION})"
                )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            self._backup_before_migration(conn)
            schema.migrate(conn)
            conn.execute("SELECT count(*) FROM entries WHERE id = 0").fetchone()
            self._fts = schema.has_fts(conn)
            if self.max_bytes:
                page = int(conn.execute("PRAGMA page_size").fetchone()[0])
                conn.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _backup_before_migration(self, conn: sqlite3.Connection) -> None:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if 0 < found < schema.VERSION:
            backup = self.path.with_name(f"{self.path.name}.v{found}.bak")
            if not backup.exists():
                target = sqlite3.connect(backup)
                try:
                    conn.backup(target)
                finally:
                    target.close()
                os.chmod(backup, 0o600)
                log.info("history: kept a copy of schema %d at %s before migrating", found, backup)

    def _connect_or_recover(self) -> None:
        try:
            self._conn = self._connect()
        except schema.NewerSchema as exc:
            raise HistoryError(f"{exc}; {self.path} left untouched (upgrade stead)") from exc
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise HistoryError(f"cannot open the history at {self.path}: {exc}") from exc
            self._recover(exc)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError("the history store is closed")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run one operation; a damaged file found on the way is recovered, then retried."""
        with self._lock:
            try:
                return fn(self.conn)
            except sqlite3.DatabaseError as exc:
                if _is_full(exc):
                    raise HistoryError(
                        "the disk (or the history's size limit) is full: the entry was not "
                        "kept; earlier entries are intact"
                    ) from exc
                if not _is_corrupt(exc):
                    raise
                self._recover(exc)
                return fn(self.conn)

    @contextlib.contextmanager
    def _write(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- recovery -----------------------------------------------------------------------
    def _recover(self, exc: BaseException) -> None:
        """Move the damaged file aside (kept), start afresh, copy over what is readable."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 0
        while backup.exists():
            n += 1
            backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                os.replace(src, f"{backup}{suffix}")
        log.warning("history: %s is damaged (%s); moved to %s", self.path, exc, backup)
        self._conn = self._connect()
        salvaged, lost = self._salvage(backup)
        self.recovered = (
            f"the history database was damaged ({exc}); the damaged file is kept at {backup}; "
            f"{salvaged} entries recovered" + (f", {lost} unreadable" if lost else "")
        )
        log.warning("history: %s", self.recovered)
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('recovered', ?)",
                (json.dumps({"at": time.time(), "backup": str(backup),
                             "message": self.recovered}),),
            )

    def _salvage(self, backup: Path) -> tuple[int, int]:
        try:
            src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        except sqlite3.Error:
            return 0, 0
        ids: builtins.list[int] = []
        salvaged = lost = 0
        try:
            try:
                cur = src.execute("SELECT id FROM entries ORDER BY id")
                while True:
                    rows = cur.fetchmany(500)
                    if not rows:
                        break
                    ids.extend(int(r[0]) for r in rows)
            except sqlite3.DatabaseError:
                top = max(ids, default=0)
                ids.extend(range(top + 1, top + 10_001))  # probe past the damage
            for entry_id in ids:
                try:
                    row = src.execute(f"SELECT {_COLUMNS} FROM entries WHERE id = ?", (entry_id,))
                    found = row.fetchone()
                    if found is None:
                        continue
                    files = self._files_from(src, entry_id)
                    stored = _row_to_entry(found, files)
                except sqlite3.DatabaseError:
                    lost += 1
                    continue
                try:
                    with self._write(self.conn) as conn:
                        self._insert(conn, stored, stored.uid, stored.ts, redacted=True)
                    salvaged += 1
                except sqlite3.Error:
                    lost += 1
        finally:
            src.close()
        return salvaged, lost

    @staticmethod
    def _files_from(conn: sqlite3.Connection, entry_id: int) -> builtins.list[FileRange]:
        try:
            rows = conn.execute(
                "SELECT path, start_line, end_line FROM entry_files WHERE entry_id = ?",
                (entry_id,),
            ).fetchall()
        except sqlite3.DatabaseError:
            return []
        return [FileRange(str(p), int(s), int(e)) for p, s, e in rows]

    # -- writing ------------------------------------------------------------------------
    def add(self, entry: Entry, *, ts: float | None = None) -> int:
        """Redact and store one entry; returns its id."""
        from server.redact import Placeholders, redact

        ph = Placeholders()
        prompt = redact(clean_text(entry.prompt), ph)
        response = redact(clean_text(entry.response), ph)
        counts: dict[str, int] = {}
        for f in (*prompt.findings, *response.findings):
            counts[f.kind] = counts.get(f.kind, 0) + 1
        stored = attrs.evolve(entry, prompt=prompt.text, response=response.text,
                              outcome=normalize_outcome(entry.kind, entry.outcome))
        return self._run(
            lambda conn: self._add(conn, stored, counts, time.time() if ts is None else ts)
        )

    def _add(self, conn: sqlite3.Connection, entry: Entry, counts: dict[str, int],
             ts: float) -> int:
        with self._write(conn):
            return self._insert(conn, entry, uuid.uuid4().hex, ts, redactions=counts)

    def _insert(self, conn: sqlite3.Connection, entry: Entry | StoredEntry, uid: str, ts: float,
                *, redactions: dict[str, int] | None = None, redacted: bool = True) -> int:
        prompt, cut_p = _cut(clean_text(entry.prompt))
        response, cut_r = _cut(clean_text(entry.response))
        if redactions is None:
            redactions = getattr(entry, "redactions", {}) or {}
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {entry.outcome!r}")
        cur = conn.execute(
            "INSERT OR IGNORE INTO entries(uid, ts, kind, workspace, model, route, prompt, "
            "response, prompt_tokens, completion_tokens, latency_ms, outcome, conversation_id, "
            "private, redactions, truncated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (uid, ts, clean_text(entry.kind), clean_text(entry.workspace),
             clean_text(entry.model), clean_text(entry.route), prompt, response,
             int(entry.prompt_tokens), int(entry.completion_tokens), float(entry.latency_ms),
             entry.outcome, entry.conversation_id, int(bool(entry.private)),
             json.dumps(redactions, sort_keys=True),
             int(cut_p or cut_r or bool(getattr(entry, "truncated", False)))),
        )
        if cur.rowcount == 0:
            return -1  # the same uid is already here (re-import)
        entry_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO entry_files(entry_id, path, start_line, end_line) VALUES (?,?,?,?)",
            [(entry_id, clean_text(f.path), int(f.start_line), int(f.end_line))
             for f in entry.files],
        )
        return entry_id

    def set_outcome(self, entry_id: int, outcome: str) -> bool:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")

        def run(conn: sqlite3.Connection) -> bool:
            with self._write(conn):
                cur = conn.execute("UPDATE entries SET outcome = ? WHERE id = ?",
                                   (outcome, entry_id))
            return cur.rowcount > 0

        return self._run(run)

    def set_private(self, ids: Iterable[int], private: bool = True) -> int:
        id_list = [int(i) for i in ids]

        def run(conn: sqlite3.Connection) -> int:
            with self._write(conn):
                n = 0
                for chunk in _chunks(id_list):
                    marks = ",".join("?" * len(chunk))
                    n += conn.execute(f"UPDATE entries SET private = ? WHERE id IN ({marks})",
                                      (int(private), *chunk)).rowcount
            return n

        return self._run(run)

    def delete(self, ids: Iterable[int] | None = None, *, everything: bool = False,
               kind: str | None = None, workspace: str | None = None,
               before: float | None = None, query: str | None = None,
               vacuum: bool = False) -> int:
        """Delete by id, by filter, or all; the text is gone from the file afterwards."""
        id_list = [int(i) for i in ids] if ids is not None else None
        if id_list is None and not everything and not any(
            v is not None for v in (kind, workspace, before, query)
        ):
            raise HistoryError("say which entries to delete (ids, a filter, or all)")

        def run(conn: sqlite3.Connection) -> int:
            with self._write(conn):
                if everything:
                    n = conn.execute("DELETE FROM entries").rowcount
                elif id_list is not None:
                    n = 0
                    for chunk in _chunks(id_list):
                        marks = ",".join("?" * len(chunk))
                        n += conn.execute(f"DELETE FROM entries WHERE id IN ({marks})",
                                          chunk).rowcount
                else:
                    where, args = self._where(kind=kind, workspace=workspace, before=before,
                                              query=query)
                    n = conn.execute(f"DELETE FROM entries WHERE {where}", args).rowcount
                if n and self._fts:
                    # merge the index so no segment keeps the deleted entries' tokens
                    conn.execute("INSERT INTO entries_fts(entries_fts) VALUES ('optimize')")
            return n

        n = self._run(run)
        if vacuum:
            self.vacuum()
        else:
            self._checkpoint()
        return n

    def prune(self, retention_days: int) -> int:
        """Apply `history.retention_days` (0 keeps everything)."""
        if retention_days <= 0:
            return 0
        return self.delete(before=time.time() - retention_days * 86400)

    def vacuum(self) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if self._fts:
                conn.execute("INSERT INTO entries_fts(entries_fts) VALUES ('optimize')")
            conn.execute("VACUUM")

        self._run(run)
        self._checkpoint()

    def _checkpoint(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading ------------------------------------------------------------------------
    def _where(self, *, kind: str | None = None, workspace: str | None = None,
               before: float | None = None, since: float | None = None,
               query: str | None = None, private: bool | None = None,
               conversation_id: str | None = None) -> tuple[str, list[Any]]:
        clauses: builtins.list[str] = ["1"]
        args: builtins.list[Any] = []
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        if workspace:
            clauses.append("(workspace = ? OR workspace LIKE ? ESCAPE '\\')")
            args += [workspace, _like_prefix(workspace.rstrip("/") + "/")]
        if before is not None:
            clauses.append("ts < ?")
            args.append(before)
        if since is not None:
            clauses.append("ts >= ?")
            args.append(since)
        if private is not None:
            clauses.append("private = ?")
            args.append(int(private))
        if conversation_id:
            clauses.append("conversation_id = ?")
            args.append(conversation_id)
        if query:
            if self._fts and fts_query(query):
                clauses.append("id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)")
                args.append(fts_query(query))
            else:
                clauses.append("(prompt LIKE ? ESCAPE '\\' OR response LIKE ? ESCAPE '\\')")
                pattern = "%" + _like_escape(query) + "%"
                args += [pattern, pattern]
        return " AND ".join(clauses), args

    def list(self, *, limit: int = 50, offset: int = 0, kind: str | None = None,
             workspace: str | None = None, since: float | None = None,
             before: float | None = None, private: bool | None = None,
             conversation_id: str | None = None) -> builtins.list[StoredEntry]:
        where, args = self._where(kind=kind, workspace=workspace, since=since, before=before,
                                  private=private, conversation_id=conversation_id)
        sql = (f"SELECT {_COLUMNS} FROM entries WHERE {where} ORDER BY ts DESC, id DESC "
               "LIMIT ? OFFSET ?")
        return self._fetch(sql, [*args, max(0, limit), max(0, offset)])

    def search(self, query: str, *, limit: int = 50, kind: str | None = None,
               workspace: str | None = None) -> builtins.list[StoredEntry]:
        q = fts_query(query)
        if not q:
            return []
        if not self._fts:
            where, args = self._where(kind=kind, workspace=workspace, query=query)
            return self._fetch(f"SELECT {_COLUMNS} FROM entries WHERE {where} "
                               "ORDER BY ts DESC LIMIT ?", [*args, limit])
        where, args = self._where(kind=kind, workspace=workspace)
        sql = (f"SELECT {_COLUMNS_E} FROM entries_fts f JOIN entries e ON e.id = f.rowid "
               f"WHERE entries_fts MATCH ? AND {where.replace('kind', 'e.kind')} "
               "ORDER BY bm25(entries_fts), e.ts DESC LIMIT ?")
        return self._fetch(sql, [q, *args, limit])

    def get(self, entry_id: int) -> StoredEntry | None:
        found = self._fetch(f"SELECT {_COLUMNS} FROM entries WHERE id = ?", [entry_id])
        return found[0] if found else None

    def count(self) -> int:
        return int(self._run(lambda c: c.execute("SELECT count(*) FROM entries").fetchone()[0]))

    def _fetch(self, sql: str, args: builtins.list[Any]) -> builtins.list[StoredEntry]:
        def run(conn: sqlite3.Connection) -> builtins.list[StoredEntry]:
            rows = conn.execute(sql, args).fetchall()
            return [_row_to_entry(r, self._files_from(conn, int(r[0]))) for r in rows]

        return self._run(run)

    def private_texts(self, workspace: str | None = None) -> builtins.list[str]:
        """Prompts and responses of private entries: text that must never go remote."""
        where, args = self._where(private=True, workspace=workspace)

        def run(conn: sqlite3.Connection) -> builtins.list[str]:
            out: builtins.list[str] = []
            for prompt, response in conn.execute(
                f"SELECT prompt, response FROM entries WHERE {where}", args
            ):
                out.extend(t for t in (prompt, response) if t)
            return out

        return self._run(run)

    # -- export / import ----------------------------------------------------------------
    def export(self, out: IO[str], *, kind: str | None = None, workspace: str | None = None,
               since: float | None = None, before: float | None = None) -> int:
        """Write JSONL: a header line, then one entry per line.  Private entries never."""
        where, args = self._where(kind=kind, workspace=workspace, since=since, before=before,
                                  private=False)
        out.write(json.dumps({"format": EXPORT_FORMAT, "version": schema.VERSION,
                              "exported_at": time.time()}) + "\n")
        n = 0
        last_id = 0
        while True:
            batch = self._fetch(f"SELECT {_COLUMNS} FROM entries WHERE {where} AND id > ? "
                                "ORDER BY id LIMIT 500", [*args, last_id])
            if not batch:
                break
            for e in batch:
                out.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
                n += 1
            last_id = batch[-1].id
        return n

    def import_(self, lines: Iterable[str | bytes]) -> ImportResult:
        """Read JSONL written by `export` (or by hand).  Every line is checked; a bad line is
        reported by number and skipped, the others are kept.  Text is redacted again."""
        from server.redact import redact

        added = skipped = 0
        errors: builtins.list[str] = []
        for number, raw in enumerate(lines, 1):
            line = clean_text(raw).strip()
            if not line:
                continue
            try:
                data = json.loads(line)
                if isinstance(data, dict) and data.get("format") == EXPORT_FORMAT:
                    if int(data.get("version", 1)) > schema.VERSION:
                        errors.append(f"line {number}: written by a newer stead; skipped")
                    continue
                stored = StoredEntry.from_json(data)
            except (ValueError, TypeError, KeyError) as exc:
                errors.append(f"line {number}: {exc}")
                continue
            prompt = redact(stored.prompt)
            response = redact(stored.response, prompt.placeholders)
            counts = dict(stored.redactions)
            for f in (*prompt.findings, *response.findings):
                counts[f.kind] = counts.get(f.kind, 0) + 1
            stored = attrs.evolve(stored, prompt=prompt.text, response=response.text,
                                  redactions=counts)

            def run(conn: sqlite3.Connection, s: StoredEntry = stored) -> int:
                with self._write(conn):
                    return self._insert(conn, s, s.uid, s.ts)

            if self._run(run) < 0:
                skipped += 1
            else:
                added += 1
        return ImportResult(added, skipped, tuple(errors))

    # -- commit links -------------------------------------------------------------------
    def candidates(self, since: float, until: float) -> builtins.list[StoredEntry]:
        return self._fetch(f"SELECT {_COLUMNS} FROM entries WHERE ts >= ? AND ts <= ? "
                           "ORDER BY ts", [since, until])

    def add_links(self, sha: str, repo: str, links: Iterable[tuple[int, float, str]]) -> int:
        rows = [(entry_id, sha, repo, float(conf), reason, time.time())
                for entry_id, conf, reason in links]

        def run(conn: sqlite3.Connection) -> int:
            with self._write(conn):
                conn.executemany(
                    "INSERT OR REPLACE INTO commit_links(entry_id, sha, repo, confidence, "
                    "reason, linked_at) VALUES (?,?,?,?,?,?)", rows)
            return len(rows)

        return self._run(run)

    def links_for_commit(self, sha: str) -> builtins.list[Link]:
        def run(conn: sqlite3.Connection) -> builtins.list[tuple[Any, ...]]:
            return conn.execute(
                "SELECT entry_id, sha, repo, confidence, reason FROM commit_links "
                "WHERE sha = ? OR sha LIKE ? ORDER BY confidence DESC",
                (sha, _like_prefix(sha)),
            ).fetchall()

        out: builtins.list[Link] = []
        for entry_id, full, repo, conf, reason in self._run(run):
            entry = self.get(int(entry_id))
            if entry is not None:
                out.append(Link(entry, full, repo, float(conf), reason))
        return out

    def commits_for(self, entry_id: int) -> builtins.list[tuple[str, float]]:
        return self._run(lambda c: [(str(s), float(x)) for s, x in c.execute(
            "SELECT sha, confidence FROM commit_links WHERE entry_id = ? ORDER BY linked_at",
            (entry_id,))])


_FIELDS = ("id", "uid", "ts", "kind", "workspace", "model", "route", "prompt", "response",
           "prompt_tokens", "completion_tokens", "latency_ms", "outcome", "conversation_id",
           "private", "redactions", "truncated")
_COLUMNS = ", ".join(_FIELDS)
_COLUMNS_E = ", ".join(f"e.{f}" for f in _FIELDS)


def _row_to_entry(row: tuple[Any, ...], files: list[FileRange]) -> StoredEntry:
    d = dict(zip(_FIELDS, row, strict=True))
    try:
        redactions = {str(k): int(v) for k, v in json.loads(d["redactions"] or "{}").items()}
    except (ValueError, AttributeError):
        redactions = {}
    return StoredEntry(
        id=int(d["id"]), uid=str(d["uid"]), ts=float(d["ts"]), kind=str(d["kind"]),
        prompt=str(d["prompt"]), response=str(d["response"]), model=str(d["model"]),
        route=str(d["route"]), workspace=str(d["workspace"]), files=files,
        prompt_tokens=int(d["prompt_tokens"]), completion_tokens=int(d["completion_tokens"]),
        latency_ms=float(d["latency_ms"]), outcome=str(d["outcome"]),
        conversation_id=d["conversation_id"], private=bool(d["private"]),
        redactions=redactions, truncated=bool(d["truncated"]),
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"


def _chunks(items: list[int], size: int = 500) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

