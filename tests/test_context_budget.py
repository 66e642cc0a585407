"""Budget filling, fusion, overlap and token rules for context selection (pure functions)."""

from __future__ import annotations

import pytest

from server.context.budget import (
    SourceResult,
    Window,
    fill,
    fill_shares,
    fuse,
    overlap,
    overlaps_window,
)
from server.context.tokens import approx_tokens, truncate_to_tokens
from server.context.types import FULL_TEXT, RECENT, SYMBOL, VECTOR, Candidate


def words(n: int) -> str:
    """Text that costs exactly n tokens with a counter of one token per line."""
    return "".join(f"line {i}\n" for i in range(n))


def per_line(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def cand(path: str, start: int, end: int, reason: str = FULL_TEXT, text: str | None = None) -> Candidate:
    return Candidate(path, start, end, text if text is not None else words(end - start + 1), reason)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [((1, 10), (5, 20), 6), ((1, 4), (5, 9), 0), ((5, 5), (5, 5), 1), ((1, 100), (40, 41), 2)],
)
def test_overlap(a: tuple[int, int], b: tuple[int, int], expected: int) -> None:
    assert overlap(*a, *b) == expected


@pytest.mark.parametrize(
    ("c", "window", "expected"),
    [
        (cand("/w/a.py", 1, 10), Window("/w/a.py", 10, 30), True),
        (cand("/w/a.py", 1, 9), Window("/w/a.py", 10, 30), False),
        (cand("/w/b.py", 10, 20), Window("/w/a.py", 10, 30), False),
        (cand("/w/./a.py", 31, 40), Window("/w/a.py", 10, 30), False),
        (cand("/w/./a.py", 30, 40), Window("/w/a.py", 10, 30), True),
        (cand("/w/a.py", 30, 40), None, False),
    ],
)
def test_overlaps_window(c: Candidate, window: Window | None, expected: bool) -> None:
    assert overlaps_window(c, window) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("a", 1), ("abcdefg", 2), ("x" * 350, 100)],
)
def test_approx_tokens(text: str, expected: int) -> None:
    assert approx_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a\nb\nc\n", 2, "a\nb\n"),
        ("a\nb\nc\n", 3, "a\nb\nc\n"),
        ("a\nb\nc\n", 0, ""),
        ("abcdefghij", 1, "abc"),  # one long line is cut by characters (1 token ~ 3.5 chars)
    ],
)
def test_truncate_to_tokens(text: str, limit: int, expected: str) -> None:
    count = per_line if "\n" in text else approx_tokens
    assert truncate_to_tokens(text, limit, count) == expected


def test_fuse_agreement_lifts_a_chunk_and_keeps_every_reason() -> None:
    shared = cand("/w/a.py", 10, 20)
    ranked = {
        FULL_TEXT: [cand("/w/b.py", 1, 5), shared],
        VECTOR: [cand("/w/c.py", 1, 5), cand("/w/a.py", 12, 20)],  # mostly the same chunk
    }
    fused = fuse(ranked)
    assert fused[0].candidate.path == "/w/a.py"
    assert fused[0].reasons == (FULL_TEXT, VECTOR)
    assert len(fused) == 3


@pytest.mark.parametrize(
    ("weights", "first"),
    [({SYMBOL: 2.0, FULL_TEXT: 1.0}, "/w/sym.py"), ({SYMBOL: 0.5, FULL_TEXT: 1.0}, "/w/fts.py")],
)
def test_fuse_weights_decide_between_sources(weights: dict[str, float], first: str) -> None:
    ranked = {FULL_TEXT: [cand("/w/fts.py", 1, 3)], SYMBOL: [cand("/w/sym.py", 1, 3, SYMBOL)]}
    assert fuse(ranked, weights)[0].candidate.path == first


@pytest.mark.parametrize(
    ("sizes", "budget", "chosen", "cut"),
    [
        ([10, 10, 10], 30, 3, False),
        ([10, 10, 10], 25, 2, True),
        ([40, 5], 20, 1, True),  # the big one does not fit (below min_partial), the small one does
        ([5, 5], 0, 0, True),
        ([], 100, 0, False),
    ],
)
def test_fill_budget(sizes: list[int], budget: int, chosen: int, cut: bool) -> None:
    fused = fuse({FULL_TEXT: [cand(f"/w/{i}.py", 1, n) for i, n in enumerate(sizes)]})
    sel = fill(fused, budget, per_line, min_partial=100)
    assert len(sel.items) == chosen
    assert sel.tokens <= budget
    assert sel.cut is cut


def test_fill_cuts_a_long_chunk_to_the_remaining_budget() -> None:
    fused = fuse({FULL_TEXT: [cand("/w/a.py", 1, 10), cand("/w/big.py", 101, 200)]})
    sel = fill(fused, 60, per_line, min_partial=20)
    assert [(i.path, i.start_line, i.end_line, i.tokens) for i in sel.items] == [
        ("/w/a.py", 1, 10, 10),
        ("/w/big.py", 101, 150, 50),
    ]
    assert sel.cut
    assert sel.dropped[0].start_line == 151 and sel.dropped[0].why == "over budget"


def test_fill_drops_the_cursor_window_and_duplicates() -> None:
    fused = fuse(
        {
            FULL_TEXT: [cand("/w/a.py", 5, 15), cand("/w/b.py", 1, 10)],
            RECENT: [cand("/w/b.py", 2, 10), cand("/w/c.py", 1, 3)],
        }
    )
    sel = fill(fused, 1000, per_line, Window("/w/a.py", 10, 40))
    paths = [i.path for i in sel.items]
    assert paths == ["/w/b.py", "/w/c.py"]
    assert sel.items[0].reasons == (FULL_TEXT, RECENT)
    assert [d.why for d in sel.dropped] == ["overlaps the cursor window"]
    assert not sel.cut


@pytest.mark.parametrize(
    ("sizes", "shares", "budget", "expected"),
    [
        # each source within its share
        ({"defs": [10, 10], "recent": [10], "similar": [10]}, (0.5, 0.25, 0.25), 40, {"defs": 2, "recent": 1, "similar": 1}),
        # a source with nothing to offer leaves its share to the others
        ({"defs": [10, 10, 10], "recent": [], "similar": []}, (0.5, 0.25, 0.25), 40, {"defs": 3}),
        # a greedy source cannot take the others' shares in the first round
        ({"defs": [10, 10, 10, 10], "recent": [10], "similar": [10]}, (0.5, 0.25, 0.25), 40, {"defs": 2, "recent": 1, "similar": 1}),
        ({"defs": [10], "recent": [10], "similar": [10]}, (1.0, 1.0, 1.0), 0, {}),
    ],
)
def test_fill_shares(
    sizes: dict[str, list[int]], shares: tuple[float, ...], budget: int, expected: dict[str, int]
) -> None:
    sources = [
        SourceResult(name, share, tuple(cand(f"/w/{name}{i}.py", 1, n, name) for i, n in enumerate(sizes[name])))
        for name, share in zip(("defs", "recent", "similar"), shares, strict=True)
    ]
    sel = fill_shares(sources, budget, per_line)
    got: dict[str, int] = {}
    for item in sel.items:
        got[item.reason] = got.get(item.reason, 0) + 1
    assert got == expected
    assert sel.tokens <= budget


def test_fill_shares_reports_skipped_sources_and_window_overlap() -> None:
    sources = [
        SourceResult("definitions", 0.5, (cand("/w/a.py", 1, 5, SYMBOL),)),
        SourceResult("similar", 0.5, (), skipped="deadline (100 ms)"),
    ]
    sel = fill_shares(sources, 100, per_line, Window("/w/a.py", 3, 10))
    assert sel.items == ()
    assert sel.notes == ("similar: skipped (deadline (100 ms))",)
    assert sel.dropped[0].why == "overlaps the cursor window"
