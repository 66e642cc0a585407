"""Fusion of the full-text and vector rankings: pure functions, table-tested."""

from __future__ import annotations

import pytest

from index.fusion import blend, head_boost, is_code_like, rrf, text_weight


@pytest.mark.parametrize(("query", "code"), [
    ("pathPrefix := strings.TrimSuffix(rctx.RoutePattern(), \"/*\")", True),
    ("HttpClient", True),
    ("parse_duration", True),
    ("os.path.join", True),
    ("compressor.SetEncoder", True),
    ("how do I read a URL parameter from the request", False),
    ("Merge two sets of headers.", False),
    ("show a progress bar while iterating", False),
])
def test_queries_that_read_as_code(query: str, code: bool) -> None:
    assert is_code_like(query) is code
    assert head_boost(query) >= 1.0 and 0.0 < text_weight(query) <= 1.0


def test_blend_keeps_the_full_text_order_when_vectors_say_nothing() -> None:
    text = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
    assert [k for k, _ in blend(text, {}, [], 0.9)] == ["a", "b", "c"]


def test_blend_lets_agreement_of_both_lists_win_and_scores_every_candidate() -> None:
    text = [("a", 10.0), ("b", 9.5), ("c", 2.0)]
    cosine = {"a": 0.10, "b": 0.80, "c": 0.30, "v": 0.85, "w": 0.20}
    out = blend(text, cosine, ["v", "b", "c", "w"], 0.7)
    keys = [k for k, _ in out]
    assert keys[0] == "b"  # near the top of both
    assert set(keys) == {"a", "b", "c", "v", "w"}
    scores = dict(out)
    assert scores["w"] == 0.0  # at the vector list's cut-off, not in the text list
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_blend_with_only_vectors_is_the_vector_order() -> None:
    cosine = {"x": 0.9, "y": 0.5, "z": 0.2}
    assert [k for k, _ in blend([], cosine, ["x", "y", "z"], 0.9)] == ["x", "y", "z"]


def test_rrf_counts_a_repeated_key_once_at_its_best_rank() -> None:
    fused = rrf([["a", "b", "a"], ["b"]])
    assert [k for k, _ in fused] == ["b", "a"]
