"""plan_refresh and rank fusion: pure, table-driven."""

from __future__ import annotations

import pytest

from index.fusion import rrf
from index.plan import plan_refresh, reusable_vectors


@pytest.mark.parametrize(("saved", "current", "add", "update", "delete", "unchanged"), [
    ({}, {}, (), (), (), 0),
    ({}, {"a": "1"}, ("a",), (), (), 0),
    ({"a": "1"}, {}, (), (), ("a",), 0),
    ({"a": "1"}, {"a": "1"}, (), (), (), 1),
    ({"a": "1"}, {"a": "2"}, (), ("a",), (), 0),
    ({"a": "1", "b": "2", "c": "3"}, {"b": "2", "c": "9", "d": "4"}, ("d",), ("c",), ("a",), 1),
    ({"z": "1", "a": "1"}, {"y": "1", "b": "1"}, ("b", "y"), (), ("a", "z"), 0),
])
def test_plan_refresh(saved: dict[str, str], current: dict[str, str], add: tuple[str, ...],
                      update: tuple[str, ...], delete: tuple[str, ...], unchanged: int) -> None:
    plan = plan_refresh(saved, current)
    assert (plan.add, plan.update, plan.delete, plan.unchanged) == (add, update, delete, unchanged)
    assert plan.work == len(add) + len(update) + len(delete)


def test_reusable_vectors_keeps_only_surviving_hashes() -> None:
    old = [("h1", [1.0]), ("h2", [2.0]), ("h3", None)]
    assert reusable_vectors(old, ["h2", "h3", "h4"]) == {"h2": [2.0]}


@pytest.mark.parametrize(("lists", "expected"), [
    ([["a", "b"], ["b", "a"]], ["a", "b"]),  # tie: first appearance wins
    ([["a", "b", "c"], ["c", "b"]], ["c", "b", "a"]),  # 1/63+1/61 > 2/62
    ([["a"], []], ["a"]),
    ([[], []], []),
    ([["a", "a", "b"]], ["a", "b"]),  # duplicates count once
])
def test_rrf_order(lists: list[list[str]], expected: list[str]) -> None:
    assert [k for k, _ in rrf(lists)] == expected


def test_rrf_scores_sum_reciprocal_ranks() -> None:
    (key, score), = rrf([["x"], ["x"]], k=60)
    assert key == "x" and score == pytest.approx(2 / 61)
