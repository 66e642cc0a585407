"""The completion pipeline's pure parts (table-driven) and the engine on a tiny real model."""

from __future__ import annotations

import threading
from pathlib import Path

import attrs
import pytest

from server.backends.base import FimContext, FimFile
from server.backends.gpt4all_backend import Gpt4AllBackend
from server.completion.budget import align_prefix, clip_prefix, clip_suffix
from server.completion.cache import CompletionCache
from server.completion.engine import Engine, Inflight, context_budget
from server.completion.postprocess import (
    block_end,
    indent_to_strip,
    is_multiline,
    postprocess,
    reindent,
)
from server.completion.prompt import fim_context, fit_snippets
from server.completion.types import CompletionRequest, Snippet
from server.settings import Settings

try:
    from tinymodel import DEFAULT_OUTPUT
except ImportError:  # pragma: no cover
    from tests.tinymodel import DEFAULT_OUTPUT


def words(text: str) -> int:
    """A transparent counter for budget tests: one token per whitespace-separated word."""
    return len(text.split())


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        ("a b\nc d\ne f", 4, "c d\ne f"),  # whole lines, nearest the cursor first
        ("a b\nc d\ne f", 100, "a b\nc d\ne f"),
        ("a b c d e f g", 3, " e f g"),  # the cursor line alone is too long: its tail
        ("", 10, ""),
        ("a b", 0, ""),
    ],
)
def test_clip_prefix(text: str, budget: int, expected: str) -> None:
    assert clip_prefix(text, budget, words) == expected


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        ("a b\nc d\ne f", 4, "a b\nc d\n"),
        ("a b c d e f g", 3, "a b c"),
        ("a b\nc", 100, "a b\nc"),
        ("a", 0, ""),
    ],
)
def test_clip_suffix(text: str, budget: int, expected: str) -> None:
    assert clip_suffix(text, budget, words).rstrip(" ") == expected


def test_clip_huge_line_looks_at_a_window_only() -> None:
    calls: list[int] = []

    def count(t: str) -> int:
        calls.append(len(t))
        return len(t)  # one token per character

    out = clip_prefix("x" * 10_000_000, 100, count)
    assert out == "x" * 100
    assert max(calls) <= 800  # never counted the 10 MB


@pytest.mark.parametrize(
    ("prefix", "suffix", "mode", "multi"),
    [
        ("def f():\n    ", "\n", "auto", True),  # blank indented line
        ("def f():", "\n", "auto", True),  # after an opener
        ("x = foo(", ")\n", "auto", True),  # only closers after the cursor
        ("x = fo", "o(1)\n", "auto", False),  # mid-line
        ("x = 1", "\n", "auto", False),  # end of a finished statement
        ("x = 1", "\n", "always", True),
        ("def f():", "\n", "never", False),
    ],
)
def test_is_multiline(prefix: str, suffix: str, mode: str, multi: bool) -> None:
    assert is_multiline(prefix, suffix, mode) is multi  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "prefix", "suffix", "multi", "expected"),
    [
        # single line: stop at the end of the line
        ("foo(1)\nbar()", "x = ", "\n", False, "foo(1)"),
        # the closing bracket the line already has is not repeated
        ("a, b)", "f(", ")\n", False, "a, b"),
        ("value\")", "print(\"", "\")\n", False, "value"),
        # only repeating the next line of the file: dropped
        ("return x", "def f(x):\n    ", "\n    return x\n", True, ""),
        # block ends where indentation returns to the outer level
        ("if x:\n        y()\n    z()\nq()", "def f():\n    ", "\n", True,
         "if x:\n        y()\n    z()"),
        # after an opener, the body ends at the first line not indented deeper
        ("\n    return 1\ndef g():", "def f():", "\n", True, "\n    return 1"),
        # stops before re-writing what follows the cursor
        ("a = 1\n    b = 2\n    c = 3", "def f():\n    ", "\n    c = 3\n", True,
         "a = 1\n    b = 2"),
        # two blank lines end a suggestion
        ("a = 1\n\n\nb = 2", "", "", True, "a = 1"),
        # whitespace or nothing: no suggestion
        ("   \n  ", "x = ", "\n", False, ""),
        ("", "x = ", "\n", False, ""),
        # a model that wants a new line where only this line may be finished
        ("\nfoo", "x = 1", " + y\n", False, ""),
        # never a code fence or prose: the code inside is kept, the rest dropped
        ("```python\nreturn side * side\n```", "def area(side):\n    ", "\n", True,
         "return side * side"),
        ("side * side\n```\nThis returns the area.", "    return ", "\n", True, "side * side"),
        ("return 1\nHere is the completed function:\ndef f():", "def g():\n    ", "\n", True,
         "return 1"),
        ("Sure! The answer is 42.", "", "", True, ""),
        ("```", "x = ", "\n", False, ""),
        # inside a template string backticks are code
        ("${name}``", "s = `", "\n", False, "${name}``"),
        # a prose-looking line that is code stays
        ("note: x = 1", "", "", True, "note: x = 1"),
        # the suffix's own lines are not written again
        ("a(1)\n    b(2)\n    c(3)", "def f():\n    ", "\n    b(2)\n    c(3)\n", True, "a(1)"),
    ],
)
def test_postprocess(text: str, prefix: str, suffix: str, multi: bool, expected: str) -> None:
    assert postprocess(text, prefix, suffix, multi) == expected


def test_align_prefix_keeps_the_first_line_while_typing() -> None:
    doc = "".join(f"l{i} a b\n" for i in range(40))
    starts = set()
    for typed in ("x", "x = f", "x = f(a, b, c, d"):
        full = doc + typed
        clipped = align_prefix(full, clip_prefix(full, 30, words), 8)
        assert full.endswith(clipped) and words(clipped) <= 30
        starts.add(clipped.split("\n", 1)[0])
    assert starts == {"l32 a b"}  # without alignment: l30, l31, l32 as the line grows
    assert align_prefix("a\nb", "a\nb", 8) == "a\nb"  # the whole text: untouched
    assert align_prefix("xxxx", "xx", 8) == "xx"  # inside one long line: untouched


@pytest.mark.parametrize(
    ("text", "indent", "expected"),
    [
        ("        return 1", "        ", "return 1"),
        ("\n    x\n    y", "    ", "x\n    y"),
        ("  x", "    ", "x"),  # dedented by the model: no negative indent
        ("x", "", "x"),
    ],
)
def test_reindent(text: str, indent: str, expected: str) -> None:
    assert reindent(text, indent) == expected


def test_indent_to_strip_and_block_end() -> None:
    assert indent_to_strip("def f():\n    ") == "    "
    assert indent_to_strip("x = 1") == ""
    assert block_end("a\nb\n", "") == len("a\nb\n")


def test_fit_snippets_cuts_a_long_one_to_its_head() -> None:
    snippets = [
        Snippet("util.py", 1, 2, "def helper():\n    return 1\n", "definition"),
        Snippet("big.py", 1, 40, "".join(f"line {i} a b c\n" for i in range(40)), "similar"),
        Snippet("c.py", 5, 5, "C = 3\n", "recent"),  # nothing left for it
    ]
    out = fit_snippets(snippets, 34, words)
    assert [(s.path, s.start_line, s.end_line) for s in out] == [
        ("util.py", 1, 2), ("big.py", 1, 6),
    ]
    assert out[1].text == "".join(f"line {i} a b c\n" for i in range(6))
    # too little room for a useful head: skipped, and a smaller one after it still fits
    out = fit_snippets(snippets, 10, words)
    assert [s.path for s in out] == ["util.py", "c.py"]


@pytest.mark.parametrize(
    ("snippets", "files"),
    [
        ([], None),
        (  # files keep ranked order; parts of one file merge in line order
            [Snippet("/r/pkg/b.py", 10, 11, "def b():\n    pass\n", "def"),
             Snippet("/r/a.py", 1, 1, "A = 1\n", "recent"),
             Snippet("/r/pkg/b.py", 1, 2, "import os\nX = 2", "similar")],
            (FimFile("pkg/b.py", "import os\nX = 2\n\ndef b():\n    pass\n"),
             FimFile("a.py", "A = 1\n")),
        ),
        (  # overlapping parts: the new lines only; a part inside another: once
            [Snippet("/r/a.py", 1, 3, "1\n2\n3\n", "def"),
             Snippet("/r/a.py", 3, 4, "3\n4\n", "similar"),
             Snippet("/r/a.py", 2, 2, "2\n", "recent")],
            (FimFile("a.py", "1\n2\n3\n4\n"),),
        ),
        (  # outside the root: the absolute path
            [Snippet("/elsewhere/z.py", 1, 1, "Z = 1\n", "def")],
            (FimFile("/elsewhere/z.py", "Z = 1\n"),),
        ),
    ],
)
def test_fim_context(snippets: list[Snippet], files: tuple[FimFile, ...] | None) -> None:
    ctx = fim_context(snippets, path="/r/main.py", root="/r", budget=100, count=words)
    if files is None:
        assert ctx is None
    else:
        assert ctx == FimContext("r", "main.py", files)


def test_context_budget_is_bounded_by_the_window() -> None:
    s = Settings()
    assert context_budget(s, 4096) == s.context.completion_budget >= 1024
    cs = s.completion
    room = 2048 - cs.prefix_tokens - cs.suffix_tokens - cs.max_tokens - 64
    assert context_budget(s, 2048) == min(room, s.context.completion_budget)
    assert context_budget(s, 256) == 0


def test_cache_lru_and_typed_ahead() -> None:
    cache = CompletionCache(size=2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")  # evicts "b", the least recently used
    assert cache.get("b") is None and cache.get("a") == "1"
    cache.shown("m", "def f():\n    ", "\n", "return a + b")
    assert cache.typed_ahead("m", "def f():\n    ret", "\n") == "urn a + b"
    assert cache.typed_ahead("m", "def f():\n    return a +", "\n") == " b"
    assert cache.typed_ahead("m", "def f():\n    rex", "\n") is None  # diverged
    assert cache.typed_ahead("m", "def f():\n    ret", "\nchanged") is None  # suffix changed
    assert cache.typed_ahead("other", "def f():\n    ret", "\n") is None  # other model
    assert cache.typed_ahead("m", "def f():\n    return a + b", "\n") is None  # all typed


def test_inflight_newer_cancels_older() -> None:
    inflight = Inflight()
    first = inflight.start("doc")
    second = inflight.start("doc")
    other = inflight.start("other")
    assert first.is_set() and not second.is_set() and not other.is_set()
    inflight.finish("doc", first)  # a finished older request does not drop the newer one
    inflight.cancel("doc")
    assert second.is_set()


@pytest.fixture(scope="module")
def engine_and_backend(tiny_model: Path) -> tuple[Engine, Gpt4AllBackend]:
    b = Gpt4AllBackend(tiny_model, n_threads=1, n_ctx=512)
    return Engine(lambda: b), b


def test_engine_model_cache_and_typed_ahead(
    engine_and_backend: tuple[Engine, Gpt4AllBackend],
) -> None:
    engine, _ = engine_and_backend
    s = Settings()
    req = CompletionRequest("def add(a, b):\n    ", "\n\nprint(add(1, 2))\n", "calc.py")
    first = engine.complete(req, s)
    assert (first.text, first.source, first.multiline) == (DEFAULT_OUTPUT, "model", True)
    assert first.completion_tokens == 4 and first.prompt
    again = engine.complete(req, s)
    assert (again.text, again.source, again.completion_tokens) == (DEFAULT_OUTPUT, "cache", 0)
    typed = engine.complete(attrs.evolve(req, prefix=req.prefix + "retu"), s)
    assert (typed.text, typed.source) == ("rn a + b", "typed")
    typed_more = engine.complete(attrs.evolve(req, prefix=req.prefix + "return a"), s)
    assert (typed_more.text, typed_more.source) == (" + b", "typed")


def test_engine_with_snippets_and_disabled(
    engine_and_backend: tuple[Engine, Gpt4AllBackend],
) -> None:
    engine, _ = engine_and_backend
    s = Settings()
    # a 512-token window: smaller prefix and suffix budgets leave room for context
    s = attrs.evolve(s, completion=attrs.evolve(
        s.completion, prefix_tokens=128, suffix_tokens=32, max_tokens=16))
    req = CompletionRequest(
        "y = ", "\n", "/w/m.py", "python",
        (Snippet("/w/lib.py", 3, 3, "def helper(): ...", "def"),), root="/w",
    )
    result = engine.complete(req, s)
    assert result.text == DEFAULT_OUTPUT
    # the plain family: the context file under a path line, then the file being completed
    assert result.prompt == "# lib.py\ndef helper(): ...\n\n# m.py\ny = "
    no_room = engine.complete(attrs.evolve(req, prefix="z = "), Settings())
    assert no_room.prompt == "z = "  # the window is full with the default budgets
    off = attrs.evolve(s, completion=attrs.evolve(s.completion, enabled=False))
    assert engine.complete(req, off).source == "disabled"


def test_engine_cancelled_request_returns_nothing(
    engine_and_backend: tuple[Engine, Gpt4AllBackend],
) -> None:
    engine, _ = engine_and_backend
    cancel = threading.Event()
    cancel.set()
    result = engine.complete(CompletionRequest("zz = ", "\n"), Settings(), cancel)
    assert result.text == "" and result.stop_reason == "cancelled"


def test_engine_reuses_the_evaluated_context_while_typing(
    engine_and_backend: tuple[Engine, Gpt4AllBackend],
) -> None:
    """The context files come first and stay put: a keystroke re-reads only the end."""
    engine, _ = engine_and_backend
    s = Settings()
    s = attrs.evolve(s, completion=attrs.evolve(
        s.completion, prefix_tokens=128, suffix_tokens=32, max_tokens=16, multiline="never"))
    lib = "".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(6))
    body = "".join(f"v{i} = helper_{i}(1)\n" for i in range(12))
    snippets = (Snippet("/w/lib.py", 1, 12, lib, "def"),)
    # a first call teaches the backend how its tokenizer counts against the estimate
    engine.complete(CompletionRequest(body + "warm = ", "\n", "/w/m.py", snippets=snippets), s)
    first = engine.complete(
        CompletionRequest(body + "total = ", "\n", "/w/m.py", snippets=snippets, root="/w"), s)
    second = engine.complete(
        CompletionRequest(body + "total = h", "\n", "/w/m.py", snippets=snippets, root="/w"), s)
    assert first.source == second.source == "model"
    assert first.prompt.startswith("# lib.py\n") and second.prompt.startswith("# lib.py\n")
    read_before = first.prompt_tokens + first.reused_tokens
    assert second.reused_tokens >= read_before - 4  # everything but the last token or so
    assert second.prompt_tokens <= 6
