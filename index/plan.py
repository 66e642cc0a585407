"""What a refresh has to do, decided from content hashes alone.

Pure functions: the store says what it holds (path -> content hash), the walk says what the
workspace holds now, and the difference is the work.  Unchanged files cost nothing; the
chunk-level diff decides which chunks keep their vectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from attrs import frozen


@frozen
class RefreshPlan:
    add: tuple[str, ...]  # in the workspace, not in the index
    update: tuple[str, ...]  # in both, content changed
    delete: tuple[str, ...]  # in the index, gone from the workspace
    unchanged: int

    @property
    def work(self) -> int:
        return len(self.add) + len(self.update) + len(self.delete)


def plan_refresh(saved: Mapping[str, str], current: Mapping[str, str]) -> RefreshPlan:
    """Compare the index's file hashes with the workspace's; paths are sorted for stability."""
    add = sorted(p for p in current if p not in saved)
    update = sorted(p for p, h in current.items() if p in saved and saved[p] != h)
    delete = sorted(p for p in saved if p not in current)
    unchanged = sum(1 for p, h in current.items() if saved.get(p) == h)
    return RefreshPlan(tuple(add), tuple(update), tuple(delete), unchanged)


def reusable_vectors(old: Iterable[tuple[str, object]], new_hashes: Iterable[str]
                     ) -> dict[str, object]:
    """Vectors of old chunks whose content hash survives in the new chunking of a file."""
    wanted = set(new_hashes)
    return {h: v for h, v in old if h in wanted and v is not None}
