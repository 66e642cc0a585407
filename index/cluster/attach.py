"""A workspace attached to a published base index, with a local overlay of what differs.

`stead index --attach URI` records the location for one workspace root (in the user data
dir, never in the checkout, never with credentials).  From then on `open_index` gives an
`AttachedIndex`: the workspace's ordinary local index holds only the *overlay*, the files
whose content hash differs from the base (uncommitted edits, another branch, new files),
and the base answers for everything else.  A query runs on both and fuses the rankings;
the base query excludes every path the overlay holds or the checkout deleted, so an
overlay file hides its base chunks.

If the base stops answering (a bucket deleted, the network gone), queries log the error,
report it in the status, and keep answering from the overlay; the base is tried again a
little later.  Opening a remote base appends a record to the egress audit log first (one
per process and location): what leaves is the read requests of each query, see
`base.egress_note`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from index import embed, walk
from index.api import Hit, Mode, Progress, RefreshStats, WorkspaceIndex, reweigh
from index.cluster.location import ATTACHED_DIR, read_record, record_path
from index.fusion import rrf
from index.roles import RoleWeights
from server.settings import IndexSettings

log = logging.getLogger(__name__)

#: After the base failed, queries skip it for this long before trying again.
RETRY_BASE_S = 30.0

_audited: set[tuple[str, str]] = set()
_audit_lock = threading.Lock()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), "utf-8")
    os.replace(tmp, path)


def attached_index(root: Path, data_dir: Path, settings: IndexSettings
                   ) -> AttachedIndex | None:
    """The attached index of `root` when it has an attachment record, else None (cheap)."""
    if not settings.shared or not (data_dir / ATTACHED_DIR).is_dir():
        return None
    record = read_record(root, data_dir)
    return None if record is None else AttachedIndex(root, data_dir, settings, record)


def audit_read(data_dir: Path, uri: str, root: Path, reason: str) -> None:
    """One audit record per process and location, before the first byte is read."""
    from index.cluster.location import egress_note, host_of, is_remote

    if not is_remote(uri):
        return
    with _audit_lock:
        if (str(data_dir), uri) in _audited:
            return
        from server.egress.audit import AuditLog

        AuditLog(data_dir / "audit.jsonl").append(
            "approved", provider="shared-index", model=None, url=uri, reason=reason,
            detail=f"host {host_of(uri)}; egress {egress_note(uri)}", workspace=[str(root)])
        _audited.add((str(data_dir), uri))


def attach(root: Path, data_dir: Path, settings: IndexSettings, uri: str) -> dict[str, Any]:
    """Check the base at `uri` for this workspace and record it; raises BaseIndexError
    (nothing recorded) for a missing bucket, refused credentials, no or an incompatible
    manifest.  Returns the record."""
    from index.cluster.base import check_compatible, connect, normalize, read_manifest

    uri = normalize(uri)
    name = embed.canonical_name(settings.embedder)
    audit_read(data_dir, uri, root, "the user attached a shared base index")
    db = connect(uri)
    manifest = read_manifest(db, uri)
    check_compatible(manifest, uri, name, embed.dim_for(name))
    record = {"uri": uri, "root": str(Path(os.path.realpath(root))),
              "attached": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "manifest": json.loads(manifest.to_json())}
    _write_json(record_path(root, data_dir), record)
    return record


def detach(root: Path, data_dir: Path) -> bool:
    """Forget the base; the overlay is dropped too (a plain `stead index` rebuilds)."""
    path = record_path(root, data_dir)
    if not path.exists():
        return False
    path.unlink()
    path.with_suffix(".state.json").unlink(missing_ok=True)
    from index.api import WorkspaceIndex

    ix = WorkspaceIndex(root, data_dir, IndexSettings(embedder="none"))
    saved = list(ix.store.saved_files())
    if saved:
        ix.store.write_files([], saved)
    return True


class AttachedIndex(WorkspaceIndex):
    """`WorkspaceIndex` whose own store is the overlay, with a base index behind it."""

    def __init__(self, root: Path, data_dir: Path, settings: IndexSettings,
                 record: dict[str, Any]) -> None:
        super().__init__(root, data_dir, settings)
        self.uri: str = record["uri"]
        self.data_dir = data_dir
        self.manifest_record: dict[str, Any] = record.get("manifest") or {}
        self.state_path = record_path(self.root, data_dir).with_suffix(".state.json")
        self._base: Any = None  # BaseView, opened lazily
        self._base_hashes: dict[str, str] | None = None
        self._base_down_until = 0.0
        self._base_lock = threading.Lock()
        self.base_error = ""
        state = self._load_state()
        self._gone: frozenset[str] = frozenset(state.get("gone", ()))
        #: rel -> [size, mtime_ns] of files known equal to the base (not re-read)
        self._same: dict[str, list[int]] = state.get("same", {})
        self._overlay: frozenset[str] = frozenset(self.store.saved_files())

    # -- state ---------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text("utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        try:
            _write_json(self.state_path, {"gone": sorted(self._gone), "same": self._same,
                                          "version": self.manifest_record.get("version")})
        except OSError:
            log.exception("saving the overlay state failed")

    def hidden(self) -> frozenset[str]:
        """Paths whose base chunks must not be returned: in the overlay, or deleted here."""
        return self._overlay | self._gone

    # -- the base ------------------------------------------------------------------------
    def base(self) -> Any:
        """The base view, opened on first use; None while it is failing (see base_error)."""
        if self._base is not None:
            return self._base
        if time.monotonic() < self._base_down_until:
            return None
        with self._base_lock:
            if self._base is not None:
                return self._base
            from index.cluster.base import (
                BaseIndexError,
                BaseView,
                RemoteStore,
                check_compatible,
                connect,
                read_manifest,
            )

            try:
                audit_read(self.data_dir, self.uri, self.root,
                           "queries of an attached shared base index")
                db = connect(self.uri)
                manifest = read_manifest(db, self.uri)
                check_compatible(manifest, self.uri, self.embedder_name,
                                 embed.dim_for(self.embedder_name))
                store = RemoteStore(self.uri, manifest.embedder, manifest.dim,
                                    version=manifest.version)
            except BaseIndexError as exc:
                self._base_failed(exc)
                return None
            if manifest.version != self.manifest_record.get("version"):
                self._same = {}  # another publish: what was equal may not be any more
                self.manifest_record = json.loads(manifest.to_json())
            self.base_error = ""
            self._base = BaseView(store, manifest, self.embedder, self.hidden)
            return self._base

    def _base_failed(self, exc: BaseException) -> None:
        from index.cluster.base import BaseIndexError, explain

        err = exc if isinstance(exc, BaseIndexError) else explain(exc, self.uri)
        self.base_error = str(err)
        self._base = None
        self._base_hashes = None
        self._base_down_until = time.monotonic() + RETRY_BASE_S
        log.warning("shared base index unavailable, answering from the local overlay: %s",
                    err)

    def base_hashes(self) -> dict[str, str] | None:
        base = self.base()
        if base is None:
            return None
        if self._base_hashes is None:
            try:
                self._base_hashes = base.store.file_hashes()
            except Exception as exc:
                self._base_failed(exc)
                return None
        return self._base_hashes

    # -- refresh -------------------------------------------------------------------------
    def refresh(self, paths: Sequence[Path] | None = None, progress: Progress | None = None,
                *, embed_vectors: bool = True) -> RefreshStats:
        """Keep the overlay to the files that differ from the base (by content hash)."""
        hashes = self.base_hashes()
        if hashes is None:  # base unreachable: keep the overlay answering for what it has
            stats = super().refresh(paths if paths is not None else
                                    [self.root / p for p in self._overlay], progress,
                                    embed_vectors=embed_vectors)
            return attrs.evolve(stats, errors=(*stats.errors, self.base_error))
        differ: list[str] = []
        if paths is None:
            seen: set[str] = set()
            for e in walk.walk(self.root, self.settings.exclude, self.settings.max_file_bytes):
                if len(seen) >= self.settings.max_files:
                    break
                seen.add(e.rel)
                if self._differs(e.rel, e.path, e.size, e.mtime_ns, hashes):
                    differ.append(e.rel)
            gone = {p for p in hashes if p not in seen}
        else:
            gone = set(self._gone)
            for p in paths:
                rel = self.relative(p)
                if rel is None:
                    continue
                path = self.root / rel
                try:
                    st = path.stat()
                except OSError:
                    if rel in hashes:
                        gone.add(rel)
                    differ.append(rel)  # the overlay's refresh drops it
                    continue
                gone.discard(rel)
                if self._differs(rel, path, st.st_size, st.st_mtime_ns, hashes):
                    differ.append(rel)
        self._gone = frozenset(gone)
        asked = None if paths is None else {self.relative(q) for q in paths}
        wanted = set(differ)
        # overlay files now equal to the base (or gone from both) leave the overlay
        stale = [p for p in self._overlay if p not in wanted and (asked is None or p in asked)]
        if stale:
            with self._refresh_lock:
                self.store.write_files([], stale)
        stats = super().refresh([self.root / r for r in differ], progress,
                                embed_vectors=embed_vectors)
        self._overlay = frozenset(self.store.saved_files())
        self._save_state()
        return attrs.evolve(stats, deleted=stats.deleted + len(stale))

    def _differs(self, rel: str, path: Path, size: int, mtime_ns: int,
                 hashes: dict[str, str]) -> bool:
        base_hash = hashes.get(rel)
        if base_hash is None:
            return True
        known = self._same.get(rel)
        if known is not None and known == [size, mtime_ns]:
            return False
        text, _why = walk.read_text(path, self.settings.max_file_bytes)
        if text is None:
            return True
        from index.api import _hash_text

        if _hash_text(text) == base_hash:
            self._same[rel] = [size, mtime_ns]
            return False
        self._same.pop(rel, None)
        return True

    def refresh_text(self, path: Path | str, text: str, *, embed_vectors: bool = True
                     ) -> RefreshStats:
        stats = super().refresh_text(path, text, embed_vectors=embed_vectors)
        rel = self.relative(path)
        if rel is not None and not stats.skipped:
            self._overlay = self._overlay | {rel}
            self._same.pop(rel, None)
        return stats

    # -- search --------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, *, mode: Mode = "hybrid",
               path_glob: str | None = None, language: str | None = None,
               roles: RoleWeights | None = None) -> list[Hit]:
        """Base and overlay rankings fused by rank (RRF); overlay files hide the base's."""
        if roles:
            wide = self.search(query, min(200, max(k * 4, 40)), mode=mode,
                               path_glob=path_glob, language=language)
            return reweigh(wide, roles)[:k]
        over = super().search(query, k, mode=mode, path_glob=path_glob,
                              language=language) if self._overlay else []
        base_hits: list[Hit] = []
        base = self.base()
        if base is not None:
            try:
                base_hits = base.search(query, k, mode=mode, path_glob=path_glob,
                                        language=language)
            except Exception as exc:
                self._base_failed(exc)
        if not over or not base_hits:
            return (over or base_hits)[:k]
        by_key = {(h.path, h.start_line): h for h in (*base_hits, *over)}
        fused = rrf([[(h.path, h.start_line) for h in base_hits],
                     [(h.path, h.start_line) for h in over]])
        return [attrs.evolve(by_key[key], score=round(score, 6)) for key, score in fused[:k]]

    def lookup_symbol(self, name: str, k: int = 5) -> list[Hit]:
        over = super().lookup_symbol(name, k) if self._overlay else []
        base = self.base()
        found: list[Hit] = []
        if base is not None:
            try:
                hidden = self.hidden()
                found = [h for h in base.lookup_symbol(name, k + len(hidden))
                         if h.path not in hidden]
            except Exception as exc:
                self._base_failed(exc)
        return (over + found)[:k]

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        from index.cluster.base import egress_note, host_of

        st = super().status()
        m = self.manifest_record
        overlay = {"files": st["files"], "chunks": st["chunks"], "vectors": st["vectors"]}
        base_ok = not self.base_error
        st["overlay"] = overlay
        st["base"] = {
            "uri": self.uri, "host": host_of(self.uri), "egress": egress_note(self.uri),
            "repository": m.get("repository", ""), "commit": m.get("commit", ""),
            "embedder": m.get("embedder", ""), "files": m.get("files", 0),
            "chunks": m.get("chunks", 0), "vectors": m.get("vectors", 0),
            "hidden": len(self.hidden()), "error": self.base_error}
        if base_ok:  # what a search can reach: the base (less what the overlay hides) + it
            hashes = self._base_hashes
            shown = (len(hashes.keys() - self.hidden()) if hashes is not None
                     else int(m.get("files", 0)) - len(self._gone))
            st["files"] = overlay["files"] + max(0, shown)
            st["chunks"] = overlay["chunks"] + int(m.get("chunks", 0))
            st["vectors"] = overlay["vectors"] + int(m.get("vectors", 0))
            if st["vectors"]:
                st["search"] = "hybrid" if not self.embed_error else "fts"
        notice = f"attached to {self.uri} @ {m.get('commit', '')[:12] or '?'}"
        if self.base_error:
            notice += f" (unavailable: {self.base_error})"
        st["notice"] = "; ".join(n for n in (st.get("notice", ""), notice) if n)
        return st
