"""Several workspace folders as one index: a multi-root editor window searches them all.

Each folder keeps its own `WorkspaceIndex` (its own LanceDB store, keyed by that root), so
opening a folder alone later reuses what was built here.  Hits carry absolute paths, the
only unambiguous name once two folders both have a `src/main.py`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from index.api import Hit, Mode, Progress, RefreshStats, WorkspaceIndex, open_index
from index.fusion import rrf
from index.roles import RoleWeights
from server.settings import IndexSettings

_STATE_ORDER = ("scanning", "indexing", "embedding", "optimizing", "ready", "closed")


def distinct_roots(roots: Sequence[Path]) -> list[Path]:
    """Each root once, in order, without those inside another (the outer one covers them)."""
    real = list(dict.fromkeys(Path(os.path.realpath(r)) for r in roots))
    return [r for r in real if not any(o != r and r.is_relative_to(o) for o in real)]


def combine(stats: Sequence[RefreshStats]) -> RefreshStats:
    """The refreshes of several roots as one: counts add up, any cancel cancels."""
    if len(stats) == 1:
        return stats[0]
    total = RefreshStats()
    numbers = [f.name for f in attrs.fields(RefreshStats)
               if f.name not in ("cancelled", "errors")]
    return attrs.evolve(
        total, **{n: sum(getattr(s, n) for s in stats) for n in numbers},
        cancelled=any(s.cancelled for s in stats),
        errors=tuple(e for s in stats for e in s.errors)[:50])


class MultiIndex:
    """The `WorkspaceIndex` interface over several roots (search, refresh, status)."""

    #: No single root: hit paths are absolute (see `index_root` in the context code).
    root: Path | None = None

    def __init__(self, indexes: Sequence[WorkspaceIndex]) -> None:
        self.indexes = list(indexes)
        self.failed: list[str] = []  # roots that could not be opened, with why

    def owner(self, path: Path | str) -> WorkspaceIndex | None:
        """The index whose root holds this path (the deepest, should roots nest)."""
        best: WorkspaceIndex | None = None
        for ix in self.indexes:
            if ix.relative(path) is not None and (
                    best is None or len(ix.root.parts) > len(best.root.parts)):
                best = ix
        return best

    # -- refresh -------------------------------------------------------------------------
    def refresh(self, paths: Sequence[Path] | None = None, progress: Progress | None = None,
                *, embed_vectors: bool = True) -> RefreshStats:
        if paths is None:
            out = []
            for ix in self.indexes:
                def each(done: int, total: int, message: str, _name: str = ix.root.name
                         ) -> None:
                    if progress is not None:
                        progress(done, total, f"{_name}: {message}")

                out.append(ix.refresh(None, each, embed_vectors=embed_vectors))
                if out[-1].cancelled:
                    break
            return combine(out)
        groups: dict[int, list[Path]] = {}
        for p in paths:
            owner = self.owner(p)
            if owner is not None:
                groups.setdefault(self.indexes.index(owner), []).append(Path(p))
        if not groups:
            return RefreshStats()
        return combine([self.indexes[i].refresh(ps, progress, embed_vectors=embed_vectors)
                        for i, ps in sorted(groups.items())])

    def refresh_text(self, path: Path | str, text: str, *, embed_vectors: bool = True
                     ) -> RefreshStats:
        ix = self.owner(path)
        if ix is None:
            return RefreshStats(skipped=1)
        return ix.refresh_text(path, text, embed_vectors=embed_vectors)

    def maintain(self) -> bool:
        return any([ix.maintain() for ix in self.indexes])

    def cancel(self) -> None:
        for ix in self.indexes:
            ix.cancel()

    def close(self) -> None:
        for ix in self.indexes:
            ix.close()

    # -- search --------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, *, mode: Mode = "hybrid",
               path_glob: str | None = None, language: str | None = None,
               roles: RoleWeights | None = None) -> list[Hit]:
        """Each root's ranking, fused by rank: scores of separate indexes do not compare."""
        lists = [[_absolute(h, ix.root) for h in ix.search(
            query, k, mode=mode, path_glob=path_glob, language=language, roles=roles)]
            for ix in self.indexes]
        by_key = {(h.path, h.start_line): h for hits in lists for h in hits}
        fused = rrf([[(h.path, h.start_line) for h in hits] for hits in lists])
        return [attrs.evolve(by_key[key], score=round(score, 6)) for key, score in fused[:k]]

    def lookup_symbol(self, name: str, k: int = 5) -> list[Hit]:
        hits = [_absolute(h, ix.root) for ix in self.indexes for h in ix.lookup_symbol(name, k)]
        return sorted(hits, key=lambda h: h.symbol != name)[:k]

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        each = [ix.status() for ix in self.indexes]
        busy = min(each, key=lambda s: _STATE_ORDER.index(s["state"])
                   if s["state"] in _STATE_ORDER else 0)
        out: dict[str, Any] = {**busy}
        for key in ("files", "chunks", "vectors"):
            out[key] = sum(s[key] for s in each)
        out["search"] = "hybrid" if all(s["search"] == "hybrid" for s in each) else (
            "fts" if all(s["search"] == "fts" for s in each) else "mixed")
        out["embedder_error"] = next((s["embedder_error"] for s in each
                                      if s["embedder_error"]), "")
        out["notice"] = "; ".join([s["notice"] for s in each if s["notice"]] + [
            f"not indexed: {f}" for f in self.failed])
        out["roots"] = each
        return out


def _absolute(hit: Hit, root: Path) -> Hit:
    return attrs.evolve(hit, path=str(root / hit.path))


AnyIndex = WorkspaceIndex | MultiIndex


def open_indexes(roots: Sequence[Path], data_dir: Path, settings: IndexSettings) -> AnyIndex:
    """One root's index as it is; several behind a `MultiIndex`.  A root that cannot be
    opened is left out (named in the status notice) unless none can."""
    indexes: list[WorkspaceIndex] = []
    failed: list[str] = []
    for root in roots:
        try:
            indexes.append(open_index(root, data_dir, settings))
        except Exception as exc:
            if len(roots) == 1:
                raise
            failed.append(f"{root}: {exc}")
    if not indexes:
        raise RuntimeError("no workspace folder could be indexed: " + "; ".join(failed))
    if len(indexes) == 1 and not failed:
        return indexes[0]
    multi = MultiIndex(indexes)
    multi.failed = failed
    return multi
