"""Merging the full-text and the vector ranking into one.

Equal-weight reciprocal rank fusion (`rrf`) lets a weak list drag good hits of a strong one
down: with the static embedder, hybrid search ranked worse than full text alone.  `blend`
instead puts both measures on one scale per query (BM25 divided by the best BM25 score,
cosine similarity stretched between the vector list's cut-off and its best) and adds them
with a weight that depends on the query: code-like queries (identifiers, calls, dotted
names) lean on full text, sentences lean more on meaning.  Every candidate of either list
is scored by both measures (the full-text hits bring their vectors), so a hit found by
one list and confirmed by the other rises above one found by a single list.  The weights
were chosen on the standard library with bench/retrieval.py (see
bench/retrieval_results.md): hybrid there and on the public corpora ranks at least as
well as the better of its two inputs on every kind of query.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

#: Weight of the full-text score for code-like and for natural-language queries.
TEXT_WEIGHT_CODE = 0.95
TEXT_WEIGHT_PROSE = 0.9

_CODE_SIGNS = re.compile(r"[(){}\[\];=<>]|\w\.\w|::|->|\b[a-z]+[A-Z]\w*|\b\w+_\w+|^\w+$")


def is_code_like(query: str) -> bool:
    """A query that reads as code (a call site, an identifier, a dotted name) rather than as a
    sentence."""
    return bool(_CODE_SIGNS.search(query.strip()))


#: How much more a word counts in the `heads` column (path, symbol, definition names) than
#: in the body, for code-like and for natural-language queries.  A call site names the
#: definition it wants; a sentence shares words with names only by chance.
HEAD_BOOST_CODE = 4.0
HEAD_BOOST_PROSE = 1.0


def text_weight(query: str) -> float:
    return TEXT_WEIGHT_CODE if is_code_like(query) else TEXT_WEIGHT_PROSE


def head_boost(query: str) -> float:
    return HEAD_BOOST_CODE if is_code_like(query) else HEAD_BOOST_PROSE


def blend(text: Sequence[tuple[K, float]], cosine: Mapping[K, float],
          vector_order: Sequence[K], weight: float) -> list[tuple[K, float]]:
    """Fused (key, score) pairs, best first.

    `text`: full-text (key, BM25 score), best first.  `cosine`: the query's cosine
    similarity for every candidate that has a vector.  `vector_order`: the vector search's
    keys, best first (its last one marks where "similar" ends).  `weight`: the full-text
    share, 0..1.
    """
    top = max((s for _, s in text), default=0.0)
    keys: dict[K, None] = dict.fromkeys([k for k, _ in text])
    keys.update(dict.fromkeys(vector_order))
    sims = [cosine[k] for k in vector_order if k in cosine]
    hi = max(cosine.values(), default=0.0)
    lo = min(sims) if sims else hi
    span = hi - lo
    text_score = dict(text)
    fused: list[tuple[K, float, int]] = []
    for i, key in enumerate(keys):
        t = text_score.get(key, 0.0) / top if top > 0 else 0.0
        c = cosine.get(key)
        v = 0.0 if c is None or span <= 0 else max(0.0, (c - lo) / span)
        fused.append((key, weight * t + (1.0 - weight) * v, i))
    fused.sort(key=lambda x: (-x[1], x[2]))
    return [(k, s) for k, s, _ in fused]


def rrf(ranked: Sequence[Sequence[K]], k: int = 60, weights: Sequence[float] | None = None
        ) -> list[tuple[K, float]]:
    """Reciprocal rank fusion: (key, score) pairs, best first; ties keep the order of first
    appearance.  Uses ranks only, for lists whose scores cannot be compared at all."""
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
