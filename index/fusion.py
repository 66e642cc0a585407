"""Reciprocal rank fusion: merge ranked lists without comparing their incomparable scores.

BM25 scores and cosine distances live on different scales; RRF uses only ranks
(score = sum of 1 / (k + rank)), which is robust and needs no tuning per corpus.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def rrf(ranked: Sequence[Sequence[K]], k: int = 60, weights: Sequence[float] | None = None
        ) -> list[tuple[K, float]]:
    """Fused (key, score) pairs, best first; ties keep the order of first appearance."""
    scores: dict[K, float] = {}
    for li, keys in enumerate(ranked):
        w = 1.0 if weights is None else weights[li]
        seen: set[K] = set()
        for rank, key in enumerate(keys):
            if key in seen:  # a list naming a key twice counts it once, at its best rank
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + w / (k + rank + 1)
    order = {key: i for i, key in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
