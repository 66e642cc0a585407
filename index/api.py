"""The workspace index as the rest of stead sees it: open, refresh, search, status.

`open_index` gives a `WorkspaceIndex` for one workspace root; every method is blocking and
thread-safe, meant to run off the editor's event loop.  Full-text search works as soon as
the first files are written; vectors fill in behind it and hybrid search uses them once
they exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from attrs import field, frozen

from index import chunking, embed, walk
from index.fusion import blend, head_boost, is_code_like, text_weight
from index.lease import IndexLease
from index.plan import plan_refresh
from index.roles import RoleWeights, classify
from index.store import CHUNK_ROWS, FILE_KIND, Store, glob_to_like, repr_sql, terms_for
from server.paths import workspace_key
from server.settings import IndexSettings

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Mode = Literal["hybrid", "fts", "vector"]
#: Files written per commit during a bulk refresh (one file per commit on small refreshes).
BATCH_FILES = 200
BATCH_ROWS = 4000
EMBED_BATCH = 32
#: Refreshes of at most this many files commit file by file, vectors included.
SMALL_REFRESH = 20
#: Full-text candidates that hybrid search re-scores with the query's vector.
HYBRID_TEXT_N = 50


@frozen
class Hit:
    path: str  # workspace-relative, posix
    start_line: int  # 1-based, inclusive
    end_line: int
    symbol: str
    kind: str
    language: str
    text: str
    score: float
    source: str  # "fts" | "vector" | "hybrid" | "symbol"
    #: What the file is for (`index.roles`): code, test, docs, config or generated.
    role: str = "code"


@frozen
class RefreshStats:
    files: int = 0  # files considered
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0  # unreadable, binary, vanished
    chunks_written: int = 0
    chunks_embedded: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    errors: tuple[str, ...] = field(factory=tuple)


class Cancelled(Exception):
    pass


def _hash_text(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_WORD = re.compile(r"[A-Za-z0-9_]+")


#: Words too common to join with their neighbour into a would-be identifier.
_GLUE = frozenset(("a", "an", "the", "of", "to", "in", "on", "for", "from", "by", "with",
                   "and", "or", "is", "are", "be", "it", "this", "that", "as", "at", "if",
                   "not"))


def fts_query(query: str) -> str:
    """Words of the query plus the parts of its compound identifiers, without syntax, plus
    neighbouring words run together ("parse date" also asks for `parsedate`, which the
    index holds for `parse_date` and `parseDate`)."""
    words = _WORD.findall(query)
    extra = [p for w in words for p in chunking.split_identifier(w) if p != w.lower()]
    content = [w.lower() for w in words if w.lower() not in _GLUE and w.isalpha()]
    if JOIN_WORDS and not is_code_like(query):  # in code, neighbours are not one name
        extra += [a + b for a, b in itertools.pairwise(content)]
    return " ".join(dict.fromkeys(words + extra))


#: Whether sentences also ask for neighbouring words joined (see `fts_query`).
JOIN_WORDS = True


class WorkspaceIndex:
    def __init__(self, root: Path, data_dir: Path, settings: IndexSettings) -> None:
        self.root = Path(os.path.realpath(root))
        self.settings = settings
        self.models_dir = data_dir / "models"
        self.dir = data_dir / "index" / workspace_key(self.root)
        self.embedder_name = embed.canonical_name(settings.embedder)
        self.store = Store(self.dir, self.root, self.embedder_name,
                           embed.dim_for(self.embedder_name))
        self._embedder: embed.Embedder | None = None
        self._embedder_loaded = False
        self.embed_error = ""
        self._cancel = threading.Event()
        self._refresh_lock = threading.Lock()
        #: One full indexer per workspace across processes (index/lease.py).
        self.lease = IndexLease(self.dir)
        self._state = self._settled()
        self._progress: tuple[int, int, str] = (0, 0, "")
        self._last: RefreshStats | None = None
        self._counts: dict[str, int] = {}
        self.limit_notice = ""  # set when a full scan stopped at index.max_files
        self._update_counts()

    # -- embedder ------------------------------------------------------------------------
    def embedder(self) -> embed.Embedder | None:
        """The configured embedder, loaded (and built at first use) lazily; None when off."""
        if not self._embedder_loaded:
            try:
                self._embedder = embed.load_embedder(self.embedder_name, self.models_dir)
            except embed.EmbedderUnavailable as exc:
                self.embed_error = str(exc)
                log.warning("vector search off: %s", exc)
            except Exception as exc:  # a broken model file must not stop full-text search
                self.embed_error = f"embedder failed to load: {exc}"
                log.exception("embedder failed to load")
            self._embedder_loaded = True
        return self._embedder

    # -- refresh -------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    def refresh(self, paths: Sequence[Path] | None = None, progress: Progress | None = None,
                *, embed_vectors: bool = True) -> RefreshStats:
        """Bring the index up to date with the files on disk (all, or only `paths`).

        Only files whose content hash changed are re-chunked, and only chunks whose hash
        changed lose their vectors.  Cancellation (`cancel()`) stops between commits; what
        was committed stays, and the next refresh resumes from there.
        """
        with self._refresh_lock:
            self._cancel.clear()
            started = time.perf_counter()
            try:
                if paths is None:  # a whole pass: only one process does it at a time
                    self._lead(progress)
                before = self.store.embedded
                stats = self._refresh(paths, progress or (lambda d, t, m: None),
                                      embed_vectors)
                self._update_counts()  # full-text search works from here: say so
                inline = self.store.embedded - before
                n = 0
                # small refreshes embedded their chunks in their commits; large ones (and
                # any leftovers of an interrupted run) are filled in here
                if embed_vectors and not self._cancel.is_set() and (
                        paths is None or stats.added + stats.updated > SMALL_REFRESH):
                    n = self.embed_pending(progress)
                stats = _replace(stats, chunks_embedded=inline + n)
                if paths is None and not self._cancel.is_set():
                    self.lease.mark_complete()
            except Cancelled:
                stats = RefreshStats(cancelled=True)
            finally:
                if paths is None:
                    self.lease.release()
                self._state = self._settled()
                self._update_counts()
            stats = _replace(stats, seconds=time.perf_counter() - started,
                             cancelled=stats.cancelled or self._cancel.is_set())
            self._last = stats
            return stats

    def _settled(self) -> str:
        """Idle state: `ready` only once a whole pass completed (here or in another
        process); a client waiting for `ready` must not search a half-built index."""
        return "ready" if self.lease.complete else "incomplete"

    def _lead(self, progress: Progress | None) -> None:
        """Hold the workspace's index lease; while another process holds it, wait and
        report its progress as ours.  Taking over after it is a cheap refresh: what it
        committed is unchanged by hash, what it left undone is done here."""
        counted = [0.0]

        def waiting(holder: dict[str, Any]) -> None:
            self._state = "waiting"
            self._report(progress or (lambda d, t, m: None), int(holder.get("done", 0)),
                         int(holder.get("total", 0)),
                         f"another stead process (pid {holder.get('pid', '?')}) is indexing"
                         f": {holder.get('message', '')}")
            if time.monotonic() - counted[0] > 2.0:  # what it committed is searchable here
                counted[0] = time.monotonic()
                self._update_counts()

        if not self.lease.acquire(self._cancel, waiting):
            raise Cancelled

    def _report(self, progress: Progress, done: int, total: int, message: str) -> None:
        self._progress = (done, total, message)
        if self._state != "waiting":
            self.lease.progress(done, total, message)
        try:
            progress(done, total, message)
        except Exception:
            log.exception("progress callback failed")

    def _scan(self, paths: Sequence[Path] | None) -> tuple[dict[str, tuple[str, int, int]],
                                                            dict[str, walk.FileEntry]]:
        if paths is not None:
            rels = [r for r in (self.relative(p) for p in paths) if r is not None]
            saved = self.store.saved_files(rels)
        else:
            saved = self.store.saved_files()
        entries: dict[str, walk.FileEntry] = {}
        if paths is None:
            self.limit_notice = ""
            for e in walk.walk(self.root, self.settings.exclude, self.settings.max_file_bytes):
                if len(entries) >= self.settings.max_files:
                    self.limit_notice = (
                        f"{self.root} has more than {self.settings.max_files} indexable "
                        "files: the rest are not indexed (exclude generated or vendored "
                        "directories with .steadignore or index.exclude, or raise "
                        "index.max_files)")
                    log.warning("%s", self.limit_notice)
                    break
                entries[e.rel] = e
                if self._cancel.is_set():
                    raise Cancelled
            return saved, entries
        ign = walk.Ignorer(self.root, self.settings.exclude)
        wanted: set[str] = set()
        for p in paths:
            rel = self.relative(p)
            if rel is None:
                continue
            wanted.add(rel)
            found = self._entry(rel, ign)
            if found is not None:
                entries[rel] = found
        return {p: v for p, v in saved.items() if p in wanted}, entries

    def relative(self, path: Path | str) -> str | None:
        """The workspace-relative posix path, or None for paths outside the root."""
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        real = os.path.realpath(p)
        root = str(self.root)
        if real != root and not real.startswith(root + os.sep):
            return None
        rel = os.path.relpath(real, root).replace(os.sep, "/")
        return None if rel == "." else rel

    def _entry(self, rel: str, ign: walk.Ignorer) -> walk.FileEntry | None:
        """A single file as the walk would have judged it (ignore rules of every parent)."""
        parts = rel.split("/")
        for i in range(len(parts)):
            d = "/".join(parts[:i])
            try:
                ign.load_dir(d, set(os.listdir(self.root / d if d else self.root)))
            except OSError:
                return None
            sub = "/".join(parts[: i + 1])
            is_dir = i < len(parts) - 1
            if (is_dir and parts[i] in walk.ALWAYS_SKIP_DIRS) or ign.ignored(sub, is_dir):
                return None
        path = self.root / rel
        if walk.is_binary_name(path.name) or path.name in walk.IGNORE_FILES:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file() or st.st_size == 0 or st.st_size > self.settings.max_file_bytes:
            return None
        return walk.FileEntry(rel, path, st.st_size, st.st_mtime_ns)

    def _refresh(self, paths: Sequence[Path] | None, progress: Progress,
                 embed_vectors: bool = True) -> RefreshStats:
        self._state = "scanning"
        self._report(progress, 0, 0, "scanning files")
        saved, entries = self._scan(paths)
        # stat first: a file whose size and mtime match the index is not even read
        current: dict[str, str] = {}
        to_read: list[str] = []
        for rel, e in entries.items():
            old = saved.get(rel)
            if old is not None and old[1] == e.size and old[2] == e.mtime_ns:
                current[rel] = old[0]
            else:
                to_read.append(rel)
        total = len(to_read)
        self._state = "indexing"
        self._report(progress, 0, total, f"indexing {total} files")
        skipped, bytes_read, written, done, rows = 0, 0, 0, 0, 0
        errors: list[str] = []
        batch: list[tuple[Any, ...]] = []
        touched: list[tuple[str, int, int]] = []
        per_file = total <= SMALL_REFRESH  # small refreshes: one commit per file
        inline = per_file and embed_vectors
        for rel, digest, nbytes, chunks, why, terms in _prepared(
                [(str(entries[r].path), r) for r in to_read], self.settings.max_file_bytes,
                self._cancel):
            done += 1
            if digest is None:
                skipped += 1
                if why.startswith("unreadable"):
                    errors.append(f"{rel}: {why}")
                continue
            bytes_read += nbytes
            current[rel] = digest
            e = entries[rel]
            if rel in saved and saved[rel][0] == digest:
                touched.append((rel, e.size, e.mtime_ns))  # same content, new stat
                continue
            batch.append((rel, digest, e.size, e.mtime_ns, chunks, terms))
            rows += len(chunks) + 1
            if per_file or len(batch) >= BATCH_FILES or rows >= BATCH_ROWS:
                written += self.store.write_files(batch, embed=self._inline_embed(inline))
                batch, rows = [], 0
                if not per_file:
                    self._update_counts()  # the status counts what is searchable so far
                self._report(progress, done, total, f"indexed {done}/{total} files")
        if self._cancel.is_set():
            raise Cancelled
        # the pure plan decides what the run amounted to, and what to delete
        plan = plan_refresh({p: v[0] for p, v in saved.items()}, current)
        if batch or plan.delete:
            written += self.store.write_files(batch, plan.delete,
                                              embed=self._inline_embed(inline))
        self._report(progress, total, total, f"indexed {total}/{total} files")
        if touched:
            self.store.touch_files(touched)
        if written > BATCH_ROWS and not self._cancel.is_set():
            self._state = "optimizing"
            self._report(progress, total, total, "optimizing the full-text index")
            self.store.optimize()
        return RefreshStats(
            files=len(entries), added=len(plan.add), updated=len(plan.update),
            deleted=len(plan.delete), unchanged=plan.unchanged, skipped=skipped,
            chunks_written=written, bytes_read=bytes_read, errors=tuple(errors[:50]),
            cancelled=self._cancel.is_set())

    def refresh_text(self, path: Path | str, text: str, *, embed_vectors: bool = True
                     ) -> RefreshStats:
        """Index an open buffer's unsaved text for a workspace file (one commit).

        The stored stat is left invalid so that the next scan compares the disk again:
        a buffer closed without saving does not leave its text in the index for good.
        """
        rel = self.relative(path)
        if rel is None or self._entry(rel, walk.Ignorer(self.root, self.settings.exclude)) \
                is None or len(text) > self.settings.max_file_bytes:
            return RefreshStats(skipped=1)
        with self._refresh_lock:
            started = time.perf_counter()
            saved = self.store.saved_files([rel]).get(rel)
            digest = _hash_text(text)
            if saved is not None and saved[0] == digest:
                return RefreshStats(files=1, unchanged=1)
            chunks = chunking.chunk_text(rel, text)
            before = self.store.embedded
            written = self.store.write_files([(rel, digest, len(text), -1, chunks)],
                                             embed=self._inline_embed(embed_vectors))
            self._update_counts()
            n = self.store.embedded - before
            return RefreshStats(files=1, updated=int(saved is not None),
                                added=int(saved is None), chunks_written=written,
                                chunks_embedded=n, seconds=time.perf_counter() - started)

    def _inline_embed(self, small: bool) -> Callable[[list[str]], Any] | None:
        """For small refreshes, embed changed chunks before their (single) commit."""
        if not small or self.embedder_name == "none":
            return None
        if not self._embedder_loaded and self.embedder_name == "static" and \
                not embed.static_model_file(self.models_dir).is_file():
            return None  # the model is not built yet: the fill-in pass will build it
        e = self.embedder()
        return e.embed if e is not None else None

    def embed_pending(self, progress: Progress | None = None) -> int:
        """Give vectors to every chunk that lacks one; returns how many were embedded."""
        progress = progress or (lambda d, t, m: None)
        if not self._embedder_loaded and self.embedder_name == "static" and \
                not embed.static_model_file(self.models_dir).is_file():
            self._state = "embedding"
            self._report(progress, 0, 0, "building the embedding model (once, a few minutes)")
        e = self.embedder()
        if e is None:
            return 0
        total = self.store.count(f"has_vec = false AND {CHUNK_ROWS}")
        if total == 0:
            return 0
        self._state = "embedding"
        done = 0
        self._report(progress, 0, total, f"embedding {total} chunks")
        # one scan streams the pending rows; the commit of one batch overlaps the embedding
        # of the next (LanceDB writes release the GIL).  Large batches for the fast static
        # model, small ones for MiniLM so progress moves and cancel is honoured in seconds.
        from concurrent.futures import Future, ThreadPoolExecutor

        size = EMBED_BATCH if e.name == "minilm" else 4096
        with ThreadPoolExecutor(1, thread_name_prefix="stead-vec-write") as writer:
            inflight: Future[None] | None = None
            for rows in self.store.iter_pending(size):
                if self._cancel.is_set():
                    break
                vecs = e.embed([embed.embedding_text(r["path"], r["symbol"], r["text"])
                                for r in rows])
                if inflight is not None:
                    inflight.result()
                inflight = writer.submit(self.store.set_vectors, [r["id"] for r in rows], vecs)
                done += len(rows)
                self._report(progress, min(done, total), max(total, done),
                             f"embedded {done}/{total} chunks")
            if inflight is not None:
                inflight.result()
        if not self._cancel.is_set() and done >= 1000:  # not after every small refresh
            try:
                self.store.ensure_vector_index()
            except Exception:
                log.exception("building the vector index failed (brute force still works)")
            # each batch was a merge: compact them, and fold the rows into the indexes
            self._state = "optimizing"
            self.store.optimize()
        return done

    def maintain(self) -> bool:
        """Compact the table once many small commits (saves) have piled up: each leaves a
        fragment and a version, and searches slow down as they accumulate.  Meant for idle
        moments; returns whether it ran."""
        if not self.store.needs_compaction():
            return False
        with self._refresh_lock:
            self._state = "optimizing"
            try:
                self.store.optimize()
            finally:
                self._state = self._settled()
                self._update_counts()
        return True

    # -- search --------------------------------------------------------------------------
    def _where(self, path_glob: str | None, language: str | None) -> str | None:
        parts = []
        if path_glob:
            parts.append(f"path LIKE '{glob_to_like(path_glob)}'")
        if language:
            parts.append(f"language = {repr_sql(language)}")
        return " AND ".join(parts) or None

    def search(self, query: str, k: int = 10, *, mode: Mode = "hybrid",
               path_glob: str | None = None, language: str | None = None,
               roles: RoleWeights | None = None) -> list[Hit]:
        """Ranked chunks for a query.  Hybrid (or vector) needs vectors; until they exist
        the full-text ranking is returned, marked `source="fts"`.  `roles` multiplies each
        hit's score by its file's role weight (e.g. tests down for "how does X work")."""
        if roles:
            wide = self.search(query, min(200, max(k * 4, 40)), mode=mode,
                               path_glob=path_glob, language=language)
            return reweigh(wide, roles)[:k]
        k = max(1, min(int(k), 200))
        where = self._where(path_glob, language)
        text_q = fts_query(query)
        if not text_q:
            return []
        fetch = k * 3 if mode == "hybrid" else k
        if mode == "fts" or not self._has_vectors():
            fts_rows = self.store.fts(text_q, fetch, where, head_boost(query))
            return [_hit(r, float(r.get("_score", 0.0)), "fts", query) for r in fts_rows[:k]]
        e = self.embedder()
        assert e is not None
        qvec = e.embed([query])[0]
        # every chunk has a vector: filter after the ANN search (cheaper) instead of before
        complete = self._counts.get("vectors", 0) >= self._counts.get("chunks", 0)
        if mode == "vector":
            vec_rows = self.store.vector(qvec, fetch, where, prefilter=not complete)
            return [_hit(r, 1.0 - float(r.get("_distance", 0.0)), "vector", query)
                    for r in vec_rows]
        fts_rows, vec_rows = self.store.hybrid(text_q, qvec, max(fetch, HYBRID_TEXT_N),
                                               where, prefilter=not complete, k_vec=fetch,
                                               head_boost=head_boost(query))
        by_key: dict[tuple[str, int], dict[str, Any]] = {}
        cosine: dict[tuple[str, int], float] = {}
        for r in vec_rows:
            key = (r["path"], r["start_line"])
            by_key.setdefault(key, r)
            cosine[key] = 1.0 - float(r.get("_distance", 1.0))
        text: list[tuple[tuple[str, int], float]] = []
        vecs, vec_keys = [], []
        for r in fts_rows:
            key = (r["path"], r["start_line"])
            by_key.setdefault(key, r)
            text.append((key, float(r.get("_score", 0.0))))
            if r.get("has_vec") and key not in cosine:
                vecs.append(r["vector"])
                vec_keys.append(key)
        if vecs:  # stored vectors are unit length, as is the query's
            sims = np.asarray(vecs, dtype=np.float32) @ qvec.astype(np.float32)
            cosine.update(zip(vec_keys, (float(x) for x in sims), strict=True))
        fused = blend(text, cosine, [(r["path"], r["start_line"]) for r in vec_rows],
                      text_weight(query))
        return [_hit(by_key[key], score, "hybrid", query) for key, score in fused[:k]]

    def _has_vectors(self) -> bool:
        if self.embedder_name == "none" or self.embed_error:
            return False
        if self._counts.get("vectors", 0) > 0:
            return self.embedder() is not None
        return False

    def lookup_symbol(self, name: str, k: int = 5) -> list[Hit]:
        """Chunks that define `name` (bare or the last part of a dotted name), exactly."""
        bare = name.strip().rsplit(".", 1)[-1].rsplit("::", 1)[-1]
        if not bare or not _WORD.fullmatch(bare):
            return []
        rank = {"function": 0, "method": 0, "class": 0, "type": 0, "module": 1}
        rows = sorted(self.store.by_name(bare, max(k * 2, 10)),
                      key=lambda r: (r["symbol"] != name, rank.get(r["kind"], 2)))
        return [_hit(r, 1.0, "symbol", bare) for r in rows[:k]]

    # -- status --------------------------------------------------------------------------
    def _update_counts(self) -> None:
        try:
            self._counts = {
                "files": self.store.count(f"kind = '{FILE_KIND}'"),
                "chunks": self.store.count(CHUNK_ROWS),
                "vectors": self.store.count(f"has_vec = true AND {CHUNK_ROWS}"),
            }
        except Exception:
            log.exception("counting index rows failed")

    def status(self) -> dict[str, Any]:
        done, total, message = self._progress
        last = self._last
        return {
            "state": self._state,
            "root": str(self.root),
            "files": self._counts.get("files", 0),
            "chunks": self._counts.get("chunks", 0),
            "vectors": self._counts.get("vectors", 0),
            "embedder": self.embedder_name,
            "embedder_error": self.embed_error,
            "search": "hybrid" if self._counts.get("vectors") and not self.embed_error
            else "fts",
            "progress": {"done": done, "total": total, "message": message},
            "done": done,  # flat copies for status bars
            "total": total,
            "message": message,
            "last_refresh": None if last is None else {
                "added": last.added, "updated": last.updated, "deleted": last.deleted,
                "unchanged": last.unchanged, "skipped": last.skipped,
                "chunks_written": last.chunks_written, "chunks_embedded": last.chunks_embedded,
                "seconds": round(last.seconds, 3), "cancelled": last.cancelled,
                "errors": list(last.errors)},
            "notice": "; ".join(n for n in (self.store.notice, self.limit_notice) if n),
            "dir": str(self.dir),
        }

    def close(self) -> None:
        self.cancel()
        with self._refresh_lock:
            self._state = "closed"


def reweigh(hits: Sequence[Hit], roles: RoleWeights) -> list[Hit]:
    """Hits re-ranked by rank score times role weight (scores of modes do not compare, so
    the rank, 1 / (1 + rank), stands in for the score); a weight of 0 leaves a role out."""
    scored = [(roles.get(h.role, 1.0) / (1 + i), i, h) for i, h in enumerate(hits)
              if roles.get(h.role, 1.0) > 0]
    return [h for _, _, h in sorted(scored, key=lambda t: (-t[0], t[1]))]


def _hit(row: dict[str, Any], score: float, source: str, query: str = "") -> Hit:
    return Hit(path=row["path"], start_line=int(row["start_line"]),
               end_line=int(row["end_line"]), symbol=label(row, query), kind=row["kind"],
               language=row["language"], text=row["text"], score=round(score, 6),
               source=source, role=classify(row["path"]))


def label(row: dict[str, Any], query: str = "") -> str:
    """The symbol to show for a hit: the chunk's own, or, for a chunk holding several
    definitions, the one the query names (a whole-file chunk of `geometry.py` found by
    "perimeter" is `perimeter`, not the file's first function)."""
    symbol: str = row.get("symbol") or ""
    names = (row.get("names") or "").split()
    if len(names) < 2 or not query:
        return symbol
    words = {w.lower() for w in _WORD.findall(query)}
    words |= {p for w in list(words) for p in chunking.split_identifier(w)}
    best, best_n = "", 0
    for name in names:
        parts = {name.lower(), *chunking.split_identifier(name)}
        n = len(parts & words) + (2 if name.lower() in words else 0)
        if n > best_n:
            best, best_n = name, n
    if not best or symbol.rsplit(".", 1)[-1] == best:
        return symbol
    return f"{symbol}.{best}" if symbol else best


Prepared = tuple[str, "str | None", int, list[chunking.Chunk], str, list[str]]


def prepare_file(path: str, rel: str, max_bytes: int) -> Prepared:
    """Read, hash, chunk one file and make its full-text terms (the CPU-heavy part):
    (rel, hash or None, bytes, chunks, why not, terms per chunk)."""
    text, why = walk.read_text(Path(path), max_bytes)
    if text is None:
        return rel, None, 0, [], why, []
    chunks = chunking.chunk_text(rel, text)
    terms = [terms_for(rel, c.symbol, c.text) for c in chunks]
    return rel, _hash_text(text), len(text), chunks, "", terms


def _prepare_many(items: Sequence[tuple[str, str]], max_bytes: int) -> list[Prepared]:
    return [prepare_file(p, r, max_bytes) for p, r in items]


#: Below this many files, parsing in this process beats starting workers.
POOL_MIN_FILES = 300


def background_priority() -> None:
    """Lower the CPU priority of the calling thread (Linux) or process: indexing yields to
    the editor's completions and chat, which share the same cores."""
    # not Linux, or not permitted: index at normal priority
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))


def _watch_parent(parent: int) -> None:
    """Pool initializer: a worker runs at background priority, and one whose indexer was
    killed (kill -9, an editor giving up on its server) exits instead of waiting on its
    queue for good."""
    background_priority()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="stead-parent-watch", daemon=True).start()


def _prepared(items: Sequence[tuple[str, str]], max_bytes: int, cancel: threading.Event
              ) -> Iterator[Prepared]:
    """prepare_file over many files, on every core for large runs, in input order."""
    workers = min(os.cpu_count() or 1, 4)
    if len(items) < POOL_MIN_FILES or workers < 2:
        for p, r in items:
            if cancel.is_set():
                return
            yield prepare_file(p, r, max_bytes)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")  # fork and LanceDB's threads do not mix
    chunks = [items[i:i + 32] for i in range(0, len(items), 32)]
    done = 0  # chunks of items already yielded
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_watch_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(_prepare_many, c, max_bytes) for c in chunks[: workers * 3]]
            next_i = len(futures)
            while futures:
                if cancel.is_set():
                    for f in futures:
                        f.cancel()
                    return
                results = futures.pop(0).result()
                if next_i < len(chunks):
                    futures.append(pool.submit(_prepare_many, chunks[next_i], max_bytes))
                    next_i += 1
                done += 1
                yield from results
    except (BrokenProcessPool, OSError) as exc:  # workers could not start: do it here
        log.warning("parallel chunking unavailable (%s); continuing in this process", exc)
        for c in chunks[done:]:
            for p, r in c:
                if cancel.is_set():
                    return
                yield prepare_file(p, r, max_bytes)


def _replace(stats: RefreshStats, **changes: Any) -> RefreshStats:
    import attrs

    return attrs.evolve(stats, **changes)


def open_index(root: Path, data_dir: Path, settings: IndexSettings) -> WorkspaceIndex:
    """Open (creating, or rebuilding when unusable) the index of one workspace root.

    A workspace attached to a shared base index (`stead index --attach`) gets the base
    plus a local overlay of the files that differ from it."""
    from index.cluster.attach import attached_index

    return attached_index(root, data_dir, settings) or WorkspaceIndex(root, data_dir, settings)
