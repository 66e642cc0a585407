"""The on-disk index of one workspace: a LanceDB table of chunks in the user data dir.

One row per chunk plus one marker row (kind "file") per indexed file holding its content
hash, so a file's state and its chunks change together in one commit: an indexer killed
at any moment leaves every file either fully old or fully new, and the next run resumes
from the hashes.  A changed file is one keyed upsert; chunks it no longer has become
tombstones (kind "gone", no text, no vector) in that same commit, because a delete by
path would need a full-table join per save.  Tombstones are purged when the table is
compacted.  Writers on one index (an editor window's server, another window, the
CLI) take an exclusive file lock around each commit; readers never wait.

A `meta.json` records the schema version, the workspace root and the embedder; anything
unreadable, foreign or from another schema is moved aside and rebuilt, never fatal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Chunk, identifier_terms
from index.embed import embedding_text
from server.paths import exclusive

# LanceDB's Rust side logs deprecation notices to stderr on every search; users who want its
# logs can still set LANCEDB_LOG themselves.
os.environ.setdefault("LANCEDB_LOG", "error")

log = logging.getLogger(__name__)

#: 2: a `heads` column (path, symbol, definition names) searched as a boosted field.
SCHEMA_VERSION = 2
TABLE = "chunks"
FILE_KIND = "file"
GONE_KIND = "gone"
#: Rows that are chunks (not file markers, not tombstones).
CHUNK_ROWS = f"kind NOT IN ('{FILE_KIND}', '{GONE_KIND}')"
#: Bumped when the vector index is built differently, so older ones are rebuilt.
IVF_VERSION = 2
#: Old table versions stay this long after they are superseded, so that a search running
#: in another process (another editor window) never loses the files it is reading.
KEEP_VERSIONS = timedelta(minutes=5)


class CpuUnsupported(RuntimeError):
    """LanceDB's prebuilt library needs AVX2 and FMA."""


def check_cpu() -> None:
    """Refuse clearly, before LanceDB dies with SIGILL, on a CPU without AVX2/FMA."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return  # not Linux: trust the wheel
    line = next((ln for ln in flags.splitlines() if ln.startswith("flags")), "")
    have = set(line.split())
    missing = [f for f in ("avx2", "fma") if f not in have]
    if line and missing:
        raise CpuUnsupported(
            "this CPU lacks " + ", ".join(missing) + ", which the prebuilt LanceDB needs: "
            "the workspace index is off (completion and chat still work)")


def _esc(value: str) -> str:
    return value.replace("'", "''")


def sql_in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr_sql(v) for v in values)})"


def repr_sql(value: str) -> str:
    return "'" + _esc(value) + "'"


def glob_to_like(glob: str) -> str:
    """`src/**/*.py` -> `src/%/%.py` (LIKE), escaping LIKE's own wildcards."""
    out: list[str] = []
    for ch in glob:
        if ch == "*":
            if out and out[-1] == "%":
                continue
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out).replace("'", "''")


def terms_for(path: str, symbol: str, text: str) -> str:
    """The body full-text column: the text and the parts of its compound identifiers.

    (`path` and `symbol` are unused here: they go to the boosted `heads` column; the
    signature stays so that callers preparing terms in worker processes do not change.)"""
    return f"{text}\n{identifier_terms(text)}"


def heads_for(path: str, symbol: str, names: Sequence[str]) -> str:
    """The boosted full-text column: where the chunk lives and what it defines, with every
    identifier also split (`HttpClient` -> http client) and joined (`parse_date` ->
    parsedate), so a question's words find the definition by its name."""
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
    dirs = path.rsplit("/", 1)[0].replace("/", " ") if "/" in path else ""
    idents = " ".join(dict.fromkeys([stem, *symbol.split("."), *names]))
    return f"{dirs} {idents}\n{identifier_terms(idents, joined=True)}"


class Store:
    #: How long superseded table versions survive `optimize` (None: KEEP_VERSIONS).
    keep_versions: timedelta | None = None

    def __init__(self, directory: Path, root: Path, embedder: str, dim: int) -> None:
        check_cpu()
        import lancedb  # heavy: only here

        self.dir = directory
        self.root = root
        self.embedder = embedder
        self.dim = dim
        self.notice = ""  # a message for the user when the index had to be rebuilt
        self.embedded = 0  # chunks embedded inline by write_files (a running count)
        self.commits = 0  # commits since the last compaction (see `needs_compaction`)
        self.prune_due: float | None = None  # when old versions become old enough to go
        self._atable: Any = None  # the async handle searches use (see `hybrid`)
        self.ivf_version = IVF_VERSION  # how the existing vector index was built
        directory.mkdir(parents=True, exist_ok=True)
        self.lock_path = directory / "write.lock"
        with self.write_lock():
            self._validate()
            self.db = lancedb.connect(str(directory / "lance"),
                                      read_consistency_interval=timedelta(0))
            self.table = self._open_table()
            with contextlib.suppress(Exception):
                if len(self.table.list_versions()) > 1:  # left by an earlier run
                    self.prune_due = _prune_deadline()

    # -- setup ---------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "root": str(self.root), "embedder": self.embedder,
                "dim": self.dim, "ivf": self.ivf_version}

    def _validate(self) -> None:
        meta_file = self.dir / "meta.json"
        reason = ""
        try:
            meta = json.loads(meta_file.read_text("utf-8"))
            if not isinstance(meta, dict):
                reason = "unreadable metadata"
            elif meta.get("schema") != SCHEMA_VERSION:
                reason = f"schema {meta.get('schema')} (this stead writes {SCHEMA_VERSION})"
            elif meta.get("root") != str(self.root):
                reason = "it belongs to another workspace"
            elif meta.get("dim") != self.dim:
                reason = f"embedder changed to {self.embedder}"
            else:
                self.ivf_version = int(meta.get("ivf", 1))
                if meta.get("embedder") != self.embedder:
                    self._pending_reembed = True
                    self.ivf_version = 0  # trained on the old vectors
        except FileNotFoundError:
            if any(p.name not in ("write.lock",) for p in self.dir.iterdir()):
                reason = "no metadata (foreign or corrupt directory)"
        except (OSError, ValueError) as exc:
            reason = f"unreadable metadata ({exc})"
        if reason:
            self._wipe(reason)
            self.ivf_version = IVF_VERSION
        self._write_meta()

    def _wipe(self, reason: str) -> None:
        self.notice = f"index at {self.dir} rebuilt: {reason}"
        log.warning("%s", self.notice)
        for p in self.dir.iterdir():
            if p.name in ("write.lock", "indexer.lock"):  # held by live processes
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()

    def _write_meta(self) -> None:
        tmp = self.dir / "meta.json.tmp"
        tmp.write_text(json.dumps(self._meta()), "utf-8")
        os.replace(tmp, self.dir / "meta.json")

    def _schema(self) -> Any:
        import pyarrow as pa

        return pa.schema([
            pa.field("id", pa.string()),
            pa.field("path", pa.string()),
            pa.field("language", pa.string()),
            pa.field("kind", pa.string()),
            pa.field("symbol", pa.string()),
            pa.field("names", pa.string()),  # " a b c ": bare definition names
            pa.field("start_line", pa.int32()),
            pa.field("end_line", pa.int32()),
            pa.field("text", pa.string()),
            pa.field("terms", pa.string()),
            pa.field("heads", pa.string()),
            pa.field("chunk_hash", pa.string()),
            pa.field("file_hash", pa.string()),
            pa.field("size", pa.int64()),
            pa.field("mtime_ns", pa.int64()),
            pa.field("has_vec", pa.bool_()),
            pa.field("vector", pa.list_(pa.float32(), self.dim)),
        ])

    def _open_table(self) -> Any:
        from lancedb.index import FTS

        try:
            names = self.db.list_tables().tables
        except Exception:
            names = []
        if TABLE in names:
            try:
                table = self.db.open_table(TABLE)
                if table.schema != self._schema():
                    raise ValueError("schema differs")
                table.count_rows()
                if getattr(self, "_pending_reembed", False):
                    table.update(where="has_vec = true", values={"has_vec": False})
                return table
            except Exception as exc:
                self._wipe(f"unreadable table ({exc})")
                self._write_meta()
                import lancedb

                self.db = lancedb.connect(str(self.dir / "lance"),
                                          read_consistency_interval=timedelta(0))
        table = self.db.create_table(TABLE, schema=self._schema(), mode="overwrite")
        # an FTS index on the empty table: rows written later are searched unindexed until
        # `optimize` folds them in, so full-text works from the first commit
        table.create_index("terms", config=FTS(with_position=False))
        table.create_index("heads", config=FTS(with_position=False))
        _scalar_indexes(table)
        return table

    # -- locking -------------------------------------------------------------------------
    def write_lock(self) -> contextlib.AbstractContextManager[None]:
        return exclusive(self.lock_path, 0o644)

    # -- reads ---------------------------------------------------------------------------
    def saved_files(self, paths: Sequence[str] | None = None
                    ) -> dict[str, tuple[str, int, int]]:
        """path -> (content hash, size, mtime_ns) of every indexed file (or of `paths`)."""
        if paths is not None and not paths:
            return {}
        where = f"kind = '{FILE_KIND}'"
        if paths is not None:
            where += f" AND {sql_in('path', paths)}"
        t = (self.table.search().where(where)
             .select(["path", "file_hash", "size", "mtime_ns"]).limit(None).to_arrow())
        cols = t.to_pydict()
        return {p: (h, s, m) for p, h, s, m in zip(cols["path"], cols["file_hash"],
                                                   cols["size"], cols["mtime_ns"], strict=True)}

    def count(self, where: str | None = None) -> int:
        return int(self.table.count_rows(where))

    # -- writes --------------------------------------------------------------------------
    def _rows(self, path: str, file_hash: str, size: int, mtime_ns: int,
              chunks: Sequence[Chunk], terms: Sequence[str] | None = None, *,
              vectors: dict[str, Any]) -> list[dict[str, Any]]:
        zero = [0.0] * self.dim
        rows = [{**self._blank(f"{path}\0file", path, FILE_KIND), "file_hash": file_hash,
                 "size": size, "mtime_ns": mtime_ns}]
        seen: dict[str, int] = {}
        for i, c in enumerate(chunks):
            n = seen.get(c.hash, 0)
            seen[c.hash] = n + 1
            vec = vectors.get(c.hash)
            rows.append({
                "id": f"{path}\0{c.hash}\0{n}", "path": path, "language": c.language,
                "kind": c.kind, "symbol": c.symbol,
                "names": (" " + " ".join(c.names) + " ") if c.names else "",
                "start_line": c.start_line, "end_line": c.end_line, "text": c.text,
                "terms": terms[i] if terms is not None else terms_for(path, c.symbol, c.text),
                "heads": heads_for(path, c.symbol, c.names),
                "chunk_hash": c.hash,
                "file_hash": file_hash, "size": size, "mtime_ns": mtime_ns,
                "has_vec": vec is not None, "vector": zero if vec is None else vec})
        return rows

    def _existing(self, paths: Sequence[str]) -> tuple[set[str], dict[str, list[str]],
                                                       dict[str, Any]]:
        """For these files: which are indexed, their row ids, and their chunks' vectors."""
        if not paths:
            return set(), {}, {}
        t = (self.table.search().where(f"{sql_in('path', paths)} AND kind != '{GONE_KIND}'")
             .select(["id", "path", "kind", "chunk_hash", "has_vec", "vector"])
             .limit(None).to_arrow())
        present: set[str] = set()
        ids: dict[str, list[str]] = {}
        vectors: dict[str, Any] = {}
        cols = t.select(["id", "path", "kind", "chunk_hash", "has_vec"]).to_pydict()
        vec_col = t["vector"]
        for i, (rid, path, kind, chunk, has) in enumerate(zip(
                cols["id"], cols["path"], cols["kind"], cols["chunk_hash"], cols["has_vec"],
                strict=True)):
            if kind == FILE_KIND:
                present.add(path)
                continue
            ids.setdefault(path, []).append(rid)
            if has and chunk not in vectors:
                vectors[chunk] = vec_col[i].as_py()
        return present, ids, vectors

    def _blank(self, rid: str, path: str, kind: str) -> dict[str, Any]:
        """A row without text or vector: a file marker's base, or a tombstone as it is."""
        return {"id": rid, "path": path, "language": "", "kind": kind, "symbol": "",
                "names": "", "start_line": 0, "end_line": 0, "text": "", "terms": "", "heads": "",
                "chunk_hash": "", "file_hash": "", "size": 0, "mtime_ns": 0,
                "has_vec": False, "vector": [0.0] * self.dim}

    def write_files(self, files: Sequence[tuple[Any, ...]],
                    deleted: Sequence[str] = (), reuse_vectors: bool = True,
                    embed: Callable[[list[str]], np.ndarray] | None = None) -> int:
        """Replace the rows of these files (and drop `deleted` ones); each file in one commit.

        `files` holds (path, file hash, size, mtime_ns, chunks[, full-text terms per chunk],
        as `terms_for` makes them; computed here when absent).  Chunks whose content hash
        was embedded before keep their vector; with `embed` (texts -> vectors) the others
        get theirs in the same commit, so small refreshes need no second commit.  Returns
        the number of chunk rows written.
        """
        import pyarrow as pa

        paths = [f[0] for f in files]
        if not paths and not deleted:
            return 0
        with self.write_lock():
            # under the lock, so another writer's files are seen: new files are appended
            # (cheap), files already present are upserted by row id with their vanished
            # chunks turned into tombstones
            present, old_ids, vectors = self._existing(paths)
            if not reuse_vectors:
                vectors = {}
            old = [f for f in files if f[0] in present or f[0] in old_ids]
            new = [f for f in files if f[0] not in present and f[0] not in old_ids]
            if embed is not None:
                missing = {c.hash: embedding_text(f[0], c.symbol, c.text)
                           for f in files for c in f[4] if c.hash not in vectors}
                self.embedded += len(missing)
                if missing:
                    got = embed(list(missing.values()))
                    vectors.update(zip(missing, (v.tolist() for v in got), strict=True))
            if new:
                rows = [r for f in new for r in self._rows(*f, vectors=vectors)]
                data = pa.Table.from_pylist(rows, schema=self._schema())
                self._retry(lambda: self.table.add(data))
                self.commits += 1
            if old:
                rows = []
                for f in old:
                    fresh = self._rows(*f, vectors=vectors)
                    keep = {r["id"] for r in fresh}
                    rows += fresh
                    rows += [self._blank(i, f[0], GONE_KIND)
                             for i in old_ids.get(f[0], ()) if i not in keep]
                data = pa.Table.from_pylist(rows, schema=self._schema())
                self._retry(lambda: (
                    self.table.merge_insert("id").when_matched_update_all()
                    .when_not_matched_insert_all().execute(data)))
                self.commits += 1
            if deleted:
                self._retry(lambda: self.table.delete(sql_in("path", deleted)))
                self.commits += 1
        return sum(len(f[4]) for f in files)

    def touch_files(self, files: Sequence[tuple[str, int, int]]) -> None:
        """Record a new size/mtime for files whose content did not change (one commit)."""
        import pyarrow as pa

        data = pa.table({
            "id": pa.array([f"{p}\0file" for p, _, _ in files], pa.string()),
            "size": pa.array([s for _, s, _ in files], pa.int64()),
            "mtime_ns": pa.array([m for _, _, m in files], pa.int64()),
        })
        with self.write_lock():
            self._retry(lambda: self.table.merge_insert("id").when_matched_update_all()
                        .execute(data))
            self.commits += 1

    def pending_vectors(self, limit: int) -> list[dict[str, Any]]:
        t = (self.table.search().where(f"has_vec = false AND {CHUNK_ROWS}")
             .select(["id", "path", "symbol", "text"]).limit(limit).to_arrow())
        return t.to_pylist()  # type: ignore[no-any-return]

    def iter_pending(self, batch: int) -> Iterator[list[dict[str, Any]]]:
        """Rows still lacking a vector, streamed from one scan in batches."""
        reader = (self.table.search().where(f"has_vec = false AND {CHUNK_ROWS}")
                  .select(["id", "path", "symbol", "text"]).limit(None).to_batches(batch))
        pending: list[dict[str, Any]] = []
        for rb in reader:
            pending.extend(rb.to_pylist())
            while len(pending) >= batch:
                yield pending[:batch]
                pending = pending[batch:]
        if pending:
            yield pending

    def set_vectors(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors for rows that still exist (a row replaced meanwhile is skipped)."""
        import pyarrow as pa

        data = pa.table({
            "id": pa.array(list(ids), pa.string()),
            "has_vec": pa.array([True] * len(ids), pa.bool_()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.astype(np.float32).reshape(-1)), self.dim),
        })
        with self.write_lock():
            # a row tombstoned meanwhile (by another process) keeps its id and may get a
            # vector here: searches and counts skip tombstones, compaction purges them.
            # (A `where` on the matched target is what would prevent it, but LanceDB
            # fails to plan one when the source has only some of the columns.)
            self._retry(lambda: self.table.merge_insert("id").when_matched_update_all()
                        .execute(data))
            self.commits += 1

    #: Small commits (one per saved file) after which the table is worth compacting.
    COMPACT_AFTER = 200

    def needs_compaction(self) -> bool:
        """Many small commits to fold together, or superseded versions (a bulk index
        leaves several times the table's size of them) now old enough to delete."""
        due = self.prune_due is not None and time.monotonic() >= self.prune_due
        return self.commits >= self.COMPACT_AFTER or due

    def optimize(self) -> None:
        """Purge tombstones, fold new rows into the full-text and vector indexes, compact
        the small fragments per-file commits leave, and prune old versions."""
        with self.write_lock():
            try:
                gone = self.table.count_rows(f"kind = '{GONE_KIND}'")
                if gone:
                    self.table.delete(f"kind = '{GONE_KIND}'")
                changed = self.commits > 0 or gone > 0
                _scalar_indexes(self.table)
                self.table.optimize(cleanup_older_than=self.keep_versions or KEEP_VERSIONS)
                self.commits = 0
                # what this pass superseded goes in a later one (not re-armed by a pass
                # that only pruned)
                self.prune_due = _prune_deadline() if changed else None
            except Exception:
                log.exception("index optimize failed (search still works, more slowly)")

    def ensure_vector_index(self, min_rows: int = 20_000) -> bool:
        """An IVF index once enough rows carry vectors (brute force is fine below that)."""
        n = self.count("has_vec = true")
        if n < min_rows:
            return False
        if self.ivf_version == IVF_VERSION and \
                any("vector" in i.columns for i in self.table.list_indices()):
            return False  # new rows are searched flat until `optimize` folds them in
        # a target partition size rather than a partition count: `optimize` keeps the
        # former, but retrains a count-built index down to a handful of huge partitions
        # (every query then compares most rows)
        size = max(64, int(np.sqrt(n)))
        with self.write_lock():
            from lancedb.index import IvfFlat

            self.table.create_index("vector", config=IvfFlat(distance_type="cosine",
                                                             target_partition_size=size),
                                    replace=True)
            if self.ivf_version != IVF_VERSION:
                self.ivf_version = IVF_VERSION
                self._write_meta()
        return True

    def _retry(self, fn: Any, attempts: int = 8) -> Any:
        for i in range(attempts):
            try:
                return fn()
            except (OSError, RuntimeError, ValueError) as exc:
                if "conflict" not in str(exc).lower() or i == attempts - 1:
                    raise
                time.sleep(0.05 * (2 ** i))
        return None

    # -- searches ------------------------------------------------------------------------
    def _text_query(self, query: str, head_boost: float) -> Any:
        from lancedb.query import FullTextOperator, MultiMatchQuery

        return MultiMatchQuery(query, ["terms", "heads"], boosts=[1.0, head_boost],
                               operator=FullTextOperator.OR)

    def fts(self, query: str, k: int, where: str | None, head_boost: float = 1.0
            ) -> list[dict[str, Any]]:
        """Full-text hits; `head_boost` weighs the path/symbol/names column against the body."""
        q = self.table.search(self._text_query(query, head_boost), query_type="fts")
        if where:
            q = q.where(where, prefilter=True)
        return q.select(_HIT_COLUMNS).limit(k).to_list()  # type: ignore[no-any-return]

    @staticmethod
    def _vector_cond(where: str | None) -> str:
        """Rows a vector search may return: embedded live chunks (and the caller's filter)."""
        cond = f"has_vec = true AND kind != '{GONE_KIND}'"
        return f"{cond} AND ({where})" if where else cond

    def vector(self, vec: np.ndarray, k: int, where: str | None, prefilter: bool = True
               ) -> list[dict[str, Any]]:
        q = (self.table.search(vec.astype(np.float32), vector_column_name="vector")
             .distance_type("cosine")
             .where(self._vector_cond(where), prefilter=prefilter or bool(where))
             .nprobes(20))
        return q.select(_HIT_COLUMNS).limit(k).to_list()  # type: ignore[no-any-return]

    def hybrid(self, query: str, vec: np.ndarray, k: int, where: str | None,
               prefilter: bool = True, k_vec: int | None = None, head_boost: float = 1.0
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The full-text and the vector ranking, run concurrently.

        Through LanceDB's async API on one loop: two sync queries on two threads overlap
        less (each hops through LanceDB's own single background loop), which is most of
        hybrid latency at 100k chunks."""
        cond = self._vector_cond(where)

        async def both() -> tuple[Any, Any]:
            import asyncio

            table = await self._async_table()
            text_q = table.query().nearest_to_text(self._text_query(query, head_boost))
            if where:
                text_q = text_q.where(where)
            vec_q = (table.query().nearest_to(vec.astype(np.float32)).column("vector")
                     .distance_type("cosine").nprobes(20).where(cond))
            if not (prefilter or where):
                vec_q = vec_q.postfilter()
            # the text hits bring their vectors: fusion compares every candidate to the
            # query by both measures, not only those the vector search happened to return
            return await asyncio.gather(
                text_q.select([*_HIT_COLUMNS, "has_vec", "vector"]).limit(k).to_arrow(),
                vec_q.select(_HIT_COLUMNS).limit(k_vec or k).to_arrow())

        fts_t, vec_t = _run_async(both())
        return fts_t.to_pylist(), vec_t.to_pylist()

    async def _async_table(self) -> Any:
        if self._atable is None:
            import lancedb

            db = await lancedb.connect_async(str(self.dir / "lance"),
                                             read_consistency_interval=timedelta(0))
            self._atable = await db.open_table(TABLE)
        return self._atable

    def by_name(self, name: str, k: int) -> list[dict[str, Any]]:
        # LIKE's `_` matches any character: over-fetch, then keep exact names only
        like = "% " + name.replace("'", "''").replace("%", "") + " %"
        q = (self.table.search().where(f"names LIKE '{like}'")
             .select(_HIT_COLUMNS).limit(max(k * 4, 20)))
        rows: list[dict[str, Any]] = q.to_list()
        return [r for r in rows if f" {name} " in r["names"]][:k]


def _prune_deadline() -> float:
    """When versions superseded now are old enough for `optimize` to delete."""
    return time.monotonic() + KEEP_VERSIONS.total_seconds() + 5


_LOOP: Any = None
_LOOP_LOCK = threading.Lock()


def _run_async(coro: Any) -> Any:
    """Run a coroutine on the index's own event loop thread (started on first use)."""
    global _LOOP
    import asyncio

    with _LOOP_LOCK:
        if _LOOP is None:
            _LOOP = asyncio.new_event_loop()
            threading.Thread(target=_LOOP.run_forever, name="stead-index-search",
                             daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coro, _LOOP).result()


def _scalar_indexes(table: Any) -> None:
    """B-trees on the keys a refresh looks up and merges on, bitmaps on the flags every
    count filters on; created when missing (tables from older versions get them too)."""
    from lancedb.index import Bitmap, BTree

    have = {c for i in table.list_indices() for c in i.columns}
    for column, config in (("id", BTree()), ("path", BTree()), ("kind", Bitmap()),
                           ("has_vec", Bitmap())):
        if column not in have:
            table.create_index(column, config=config)


_HIT_COLUMNS = ["path", "start_line", "end_line", "symbol", "kind", "language", "text", "names"]
