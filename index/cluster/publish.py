"""Publish a base index: walk a checkout, chunk and embed it, write it to a location.

The driver walks the tree and hashes every file; only files whose content hash differs from
the location's current table are chunked and embedded, in batches, either in this process
(`engine="local"`, e.g. from CI on one machine) or as parallel Ray tasks (`engine="ray"`,
on a local Ray or a cluster at `address`).  Batches come back to the driver, which writes
them through the local index's own `Store.write_files` (same rows, same per-file commits,
same tombstones) into the location, then compacts, folds the full-text index and writes
the manifest last: until then readers keep seeing the previous publish.

Files are read again batch by batch as tasks need them (the driver never holds the
whole tree; the hash recorded is that of the text chunked).  Ray tasks carry the file
texts and return chunks and vectors, so workers need stead's
dependencies (tree-sitter grammars, numpy) but neither the checkout nor the store's
credentials.  A task lost with its worker node is retried on another (`max_retries`); if a
batch still fails, the publish fails and the manifest is not touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from attrs import frozen

from index import chunking, embed, walk
from index.cluster.base import (
    BaseIndexError,
    Manifest,
    RemoteStore,
    check_compatible,
    connect,
    egress_note,
    normalize,
    read_manifest,
    table_names,
    write_manifest,
)
from index.store import terms_for
from server.settings import IndexSettings

log = logging.getLogger(__name__)

Engine = Literal["local", "ray"]
Progress = Callable[[int, int, str], None]
#: A batch is this many files or this many characters, whichever comes first.
BATCH_FILES = 64
BATCH_CHARS = 1_000_000
#: A published table with this many vectors gets an IVF index.
VECTOR_INDEX_ROWS = 2_000
#: A task lost with its node (or its worker process) is run again this many times.
TASK_RETRIES = 3


@frozen
class PublishResult:
    uri: str
    files: int  # files in the published index
    changed: int  # files (re-)chunked and embedded by this run
    deleted: int
    unchanged: int
    chunks_embedded: int
    seconds: float
    engine: str
    workers: int
    manifest: Manifest


# one prepared file: (rel, chunks, full-text terms per chunk, vectors or None)
Prepared = tuple[str, list[chunking.Chunk], list[str], "np.ndarray | None"]

_EMBEDDERS: dict[str, embed.Embedder | None] = {}


def _worker_embedder(name: str, model: bytes | None) -> embed.Embedder | None:
    """The embedder in a worker process, loaded once; the static model's weights come
    with the task (workers on other hosts do not have the driver's models dir)."""
    key = name + ":" + (hashlib.sha256(model).hexdigest() if model else "")
    if key not in _EMBEDDERS:
        models = Path(tempfile.gettempdir()) / f"stead-models-{os.getuid()}-{key[-16:]}"
        if model is not None:
            target = embed.static_model_file(models)
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(model)
                os.replace(tmp, target)
        _EMBEDDERS[key] = embed.load_embedder(name, models)
    return _EMBEDDERS[key]


def prepare_batch(items: Sequence[tuple[str, str]], embedder: str, model: bytes | None
                  ) -> list[Prepared]:
    """Chunk and embed a batch of (rel, text): the unit of work a Ray task runs."""
    e = _worker_embedder(embedder, model) if embedder != "none" else None
    out: list[Prepared] = []
    for rel, text in items:
        chunks = chunking.chunk_text(rel, text)
        terms = [terms_for(rel, c.symbol, c.text) for c in chunks]
        vecs = None
        if e is not None and chunks:
            vecs = e.embed([embed.embedding_text(rel, c.symbol, c.text) for c in chunks])
        out.append((rel, chunks, terms, vecs))
    return out


def git_commit(root: Path) -> str:
    """HEAD of the checkout (with `+dirty` when it has uncommitted changes), or ""."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=30, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "HEAD")
    if head and git("status", "--porcelain", "--untracked-files=no"):
        head += "+dirty"
    return head


def _hash_text(text: str) -> str:
    from index.api import _hash_text as local_hash  # the local index's hash, exactly

    return local_hash(text)


def _batches(changed: Sequence[tuple[str, Path]], max_bytes: int,
             digests: dict[str, str], sizes: dict[str, int]
             ) -> Iterator[list[tuple[str, str]]]:
    """Batches of (rel, text), read as they are needed (the driver never holds the whole
    tree); a file's hash and size are taken from this read, the one that gets chunked."""
    batch: list[tuple[str, str]] = []
    size = 0
    for rel, path in changed:
        text, _why = walk.read_text(path, max_bytes)
        if text is None:  # vanished or turned binary since the scan: not published
            digests.pop(rel, None)
            continue
        digests[rel] = _hash_text(text)
        sizes[rel] = len(text)
        batch.append((rel, text))
        size += len(text)
        if len(batch) >= BATCH_FILES or size >= BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _local_results(batches: Iterator[list[tuple[str, str]]], embedder: str,
                   model: bytes | None) -> Iterator[list[Prepared]]:
    for b in batches:
        yield prepare_batch(b, embedder, model)


def _loopback(address: str | None) -> bool:
    host = (address or "127.0.0.1").split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def _ray_results(batches: Iterator[list[tuple[str, str]]], embedder: str,
                 model: bytes | None, address: str | None
                 ) -> tuple[Iterator[list[Prepared]], int, bool]:
    """Results of Ray tasks, in completion order; also the cluster's CPUs, and whether this
    call started Ray (and so must shut it down)."""
    if _loopback(address):
        # Ray replaces a loopback node address with the machine's outward one (and binds
        # every interface) unless told this is a single-machine "cluster": a private Ray,
        # or one on 127.0.0.1, stays on loopback.  Read when Ray is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:
        raise BaseIndexError("--engine ray needs the cluster extra: pip install "
                             "'stead[cluster]' (or use --engine local)") from exc
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            ray.init(num_cpus=min(os.cpu_count() or 1, 4), include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        started = True
    workers = max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
    task = ray.remote(max_retries=TASK_RETRIES, num_cpus=1)(prepare_batch)
    model_ref = ray.put(model)

    def results() -> Iterator[list[Prepared]]:
        pending: list[Any] = []
        window = workers * 2  # batches in flight: enough to keep every worker busy
        more = True
        while more or pending:
            while more and len(pending) < window:
                batch = next(batches, None)
                if batch is None:
                    more = False
                else:
                    pending.append(task.remote(batch, embedder, model_ref))
            if pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])

    return results(), workers, started


def _write(store: RemoteStore, results: Iterator[list[Prepared]], digests: dict[str, str],
           sizes: dict[str, int], report: Progress, total: int, unchanged: int) -> int:
    """Write prepared batches as they arrive, through the local index's store writer;
    returns how many chunks were embedded."""
    done = embedded = 0
    report(0, total, f"publishing {total} files ({unchanged} unchanged)")
    for prepared in results:
        files: list[tuple[Any, ...]] = []
        vectors: dict[str, Any] = {}
        for rel, chunks, terms, vecs in prepared:
            files.append((rel, digests[rel], sizes[rel], 0, chunks, terms))
            if vecs is not None:
                embedded += len(chunks)
                for c, v in zip(chunks, vecs, strict=True):
                    vectors[embed.embedding_text(rel, c.symbol, c.text)] = v

        def lookup(batch: list[str], vectors: dict[str, Any] = vectors) -> np.ndarray:
            return np.stack([vectors[t] for t in batch])

        store.write_files(files, embed=lookup if vectors else None)
        done += len(files)
        report(done, total, f"published {done}/{total} files")
    return embedded


def publish(root: Path, uri: str, settings: IndexSettings, models_dir: Path, *,
            engine: Engine = "local", address: str | None = None, commit: str | None = None,
            progress: Progress | None = None) -> PublishResult:
    """Publish (or re-publish) the base index of `root` at `uri`; see the module doc."""
    from server import __version__

    started = time.perf_counter()
    report = progress or (lambda d, t, m: None)
    uri = normalize(uri)
    root = Path(os.path.realpath(root))
    name = embed.canonical_name(settings.embedder)
    dim = embed.dim_for(name)
    db = connect(uri)
    if "manifest" in table_names(db, uri):
        try:
            check_compatible(read_manifest(db, uri), uri, name, dim)
        except BaseIndexError as exc:
            raise BaseIndexError(f"cannot re-publish over a different index: {exc}; or "
                                 "publish to a new location") from None
    store = RemoteStore(uri, name, dim, create=True)
    saved = store.file_hashes()  # includes files an interrupted publish already wrote

    report(0, 0, "scanning files")
    changed: list[tuple[str, Path]] = []
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for e in walk.walk(root, settings.exclude, settings.max_file_bytes):
        if len(digests) >= settings.max_files:
            log.warning("%s has more than %d files: the rest are not published", root,
                        settings.max_files)
            break
        text, _why = walk.read_text(e.path, settings.max_file_bytes)
        if text is None:
            continue
        digests[e.rel] = h = _hash_text(text)
        if saved.get(e.rel) != h:
            changed.append((e.rel, e.path))
    deleted = sorted(set(saved) - set(digests))
    unchanged = len(digests) - len(changed)

    model: bytes | None = None
    if name == "static":
        report(0, 0, "loading the embedding model")
        model = embed.ensure_static_model(models_dir).read_bytes()
    elif name != "none":
        embed.load_embedder(name, models_dir)  # fail here, clearly, not in every worker
    batches = _batches(sorted(changed), settings.max_file_bytes, digests, sizes)
    total = len(changed)
    started_ray = False
    if engine == "ray" and changed:
        results, workers, started_ray = _ray_results(batches, name, model, address)
    else:
        results, workers = _local_results(batches, name, model), 1
    try:
        embedded = _write(store, results, digests, sizes, report, total, unchanged)
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    if deleted:
        store.write_files([], deleted)
    report(total, total, "optimizing the published index")
    store.optimize()
    try:
        # readers fetch what a query touches: an IVF index (a few partitions per query)
        # rather than every vector, from much smaller tables than a local index needs
        store.ensure_vector_index(min_rows=VECTOR_INDEX_ROWS)
    except Exception:
        log.exception("building the vector index failed (brute force still works)")
    counts = store.counts()
    if counts["files"] != len(digests):
        raise BaseIndexError(f"the table at {uri} holds {counts['files']} files, the checkout "
                             f"{len(digests)}: not published (run again)")
    seconds = time.perf_counter() - started
    manifest = Manifest(
        repository=root.name, commit=commit if commit is not None else git_commit(root),
        embedder=name, dim=dim, chunker=chunking.CHUNKER_VERSION,
        version=int(store.table.version), files=counts["files"], chunks=counts["chunks"],
        vectors=counts["vectors"],
        published=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        publisher=__version__, engine=engine, egress=egress_note(uri),
        stats={"changed": total, "deleted": len(deleted), "chunks_embedded": embedded,
               "seconds": round(seconds, 3), "workers": workers})
    write_manifest(db, manifest)
    return PublishResult(uri=uri, files=counts["files"], changed=total, deleted=len(deleted),
                         unchanged=unchanged, chunks_embedded=embedded, seconds=seconds,
                         engine=engine, workers=workers, manifest=manifest)
