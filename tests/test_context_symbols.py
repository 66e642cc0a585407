"""Identifiers near the cursor, definitions, import resolution, question terms, open-file search."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.context.chunks import bm25_rank, search_open, split_chunks, tokenize
from server.context.question import split_identifier, terms
from server.context.ring import RecentRing, chunk_around
from server.context.symbols import find_definition, identifiers_near, resolve_imports

PY = """\
import os
from util.http import HttpClient, retry as again


def fetch(url):
    client = HttpClient(timeout=3)
    data = client.get(url)
    return again(parse_body, data)
"""


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@pytest.mark.parametrize(
    ("path", "text", "line", "expected_first", "absent"),
    [
        ("a.py", PY, 8, ["again", "parse_body", "data"], ["fetch", "return"]),
        ("a.ts", "const c = new HttpClient();\nc.send(makeRequest(42));\n", 2, ["send", "makeRequest"], ["const"]),
        ("a.go", "func run() {\n\tsrv := NewServer(cfg)\n\tsrv.Listen()\n}\n", 3, ["srv", "Listen"], ["run"]),
        ("a.txt", "alpha beta_gamma\ndelta\n", 2, ["delta", "alpha"], []),  # no grammar: regex
    ],
)
def test_identifiers_near(path: str, text: str, line: int, expected_first: list[str], absent: list[str]) -> None:
    got = identifiers_near(path, lines(text), line)
    assert got[: len(expected_first)] == expected_first
    for name in absent:
        assert name not in got


@pytest.mark.parametrize(
    ("path", "text", "name", "span"),
    [
        ("m.py", "X = 1\n\n@deco\ndef parse(s):\n    return s\n", "parse", (3, 5)),
        ("m.py", "class Box:\n    def open(self):\n        pass\n", "open", (2, 3)),
        ("m.py", "LIMIT = 10\n", "LIMIT", (1, 1)),
        ("m.ts", "export function makeRequest(n: number) {\n  return n;\n}\n", "makeRequest", (1, 3)),
        ("m.go", "package m\n\nfunc NewServer(c int) *S {\n\treturn nil\n}\n", "NewServer", (3, 5)),
        ("m.rs", "pub struct Point { x: i32 }\n", "Point", (1, 1)),
        ("m.txt", "nothing here\ndef parse(x):\n", "parse", (2, 2)),
        ("m.py", "def other():\n    pass\n", "parse", None),
    ],
)
def test_find_definition(path: str, text: str, name: str, span: tuple[int, int] | None) -> None:
    d = find_definition(path, text, name)
    if span is None:
        assert d is None
        return
    assert d is not None
    assert (d.start_line, d.end_line) == span
    assert name in d.text


def test_find_definition_caps_long_bodies() -> None:
    text = "def big():\n" + "    x = 1\n" * 100
    d = find_definition("m.py", text, "big", max_lines=10)
    assert d is not None and (d.start_line, d.end_line) == (1, 10)


def test_resolve_imports_python_and_typescript(tmp_path: Path) -> None:
    (tmp_path / "util").mkdir()
    (tmp_path / "util" / "__init__.py").write_text("")
    (tmp_path / "util" / "http.py").write_text("class HttpClient: ...\ndef retry(f): ...\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "helpers.py").write_text("def h(): ...\n")
    (tmp_path / "pkg" / "main.py").write_text("")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "api.ts").write_text("export function makeRequest() {}\n")
    (tmp_path / "web" / "lib").mkdir()
    (tmp_path / "web" / "lib" / "index.ts").write_text("export default 1\n")

    got = resolve_imports(str(tmp_path / "a.py"), PY, [tmp_path])
    assert {(i.local, i.name, Path(i.file).name) for i in got} == {
        ("HttpClient", "HttpClient", "http.py"),
        ("again", "retry", "http.py"),
    }  # `os` is not in the workspace
    rel = resolve_imports(str(tmp_path / "pkg" / "main.py"), "from .helpers import h\nfrom . import helpers\n", [tmp_path])
    assert {(i.local, i.name) for i in rel} == {("h", "h"), ("helpers", "")}

    ts = "import { makeRequest as mk, type Foo } from './api';\nimport lib from './lib';\nimport x from 'react';\n"
    got_ts = resolve_imports(str(tmp_path / "web" / "main.ts"), ts, [tmp_path])
    assert {(i.local, i.name, Path(i.file).name) for i in got_ts} == {
        ("mk", "makeRequest", "api.ts"),
        ("Foo", "Foo", "api.ts"),
        ("lib", "", "index.ts"),
    }


@pytest.mark.parametrize(
    ("question", "symbols", "words_include"),
    [
        ("How does `parse_config` handle env vars?", ("parse_config",), ("parse", "config", "env", "vars")),
        ("why is HttpClient.send slow", ("HttpClient.send", "send", "HttpClient"), ("httpclient", "http", "client", "slow")),
        ("what calls retry() here", ("retry",), ("retry", "calls")),
        ("explain the code", (), ()),
        ("", (), ()),
    ],
)
def test_terms(question: str, symbols: tuple[str, ...], words_include: tuple[str, ...]) -> None:
    t = terms(question)
    assert set(symbols) <= set(t.symbols)
    if not symbols:
        assert t.symbols == ()
    assert set(words_include) <= set(t.words)
    assert "the" not in t.words and "how" not in t.words


@pytest.mark.parametrize(
    ("name", "parts"),
    [("parseHTTPResponse_v2", ["parse", "http", "response", "v2"]), ("snake_case", ["snake", "case"]), ("X", ["x"])],
)
def test_split_identifier(name: str, parts: list[str]) -> None:
    assert split_identifier(name) == parts


def test_tokenize_and_bm25_prefer_the_matching_chunk() -> None:
    docs = [tokenize("def load_config(path): read toml"), tokenize("def render(page): html"), tokenize("x = 1")]
    ranked = bm25_rank(tokenize("where is the config loaded"), docs)
    assert ranked[0][0] == 0
    assert all(i != 2 for i, _ in ranked)
    assert bm25_rank(["anything"], []) == []


def test_split_chunks_follow_definitions() -> None:
    text = "import os\nimport sys\n\n\ndef a():\n    return 1\n\n\ndef b():\n" + "    x = 1\n" * 60
    chunks = split_chunks("m.py", text, max_lines=40)
    assert (chunks[0].start_line, chunks[0].end_line) == (1, 2)
    assert (chunks[1].start_line, chunks[1].end_line) == (5, 6)
    assert chunks[2].start_line == 9 and chunks[2].end_line == 48
    assert chunks[-1].end_line == 69
    assert search_open(["return"], {"m.py": text})[0][0].start_line == 5


@pytest.mark.parametrize(
    ("n", "line", "size", "span"),
    [(100, 50, 16, (42, 57)), (100, 1, 16, (1, 16)), (100, 100, 16, (85, 100)), (5, 3, 16, (1, 5)), (0, 1, 16, (1, 1))],
)
def test_chunk_around(n: int, line: int, size: int, span: tuple[int, int]) -> None:
    s, e, _ = chunk_around([f"{i}\n" for i in range(1, n + 1)], line, size)
    assert (s, e) == span


def test_ring_keeps_newest_distinct_areas_and_refreshes_text() -> None:
    ring = RecentRing(capacity=3, chunk_lines=4)
    doc = [f"line {i}\n" for i in range(1, 101)]
    ring.touch("/w/a.py", doc, 10)
    ring.touch("/w/a.py", doc, 11)  # same area: replaces, not duplicates
    ring.touch("/w/b.py", doc, 50)
    ring.touch("/w/c.py", doc, 5)
    ring.touch("/w/d.py", doc, 5)  # capacity 3: the oldest (a.py) goes
    assert [e.path for e in ring.entries()] == ["/w/d.py", "/w/c.py", "/w/b.py"]
    ring.refresh("/w/b.py", ["changed\n"] * 100)
    b = next(e for e in ring.entries() if e.path == "/w/b.py")
    assert b.text == "changed\n" * 4
    ring.forget("/w/c.py")
    assert [c.path for c in ring.candidates()] == ["/w/d.py", "/w/b.py"]
    ring.touch("/w/e.py", ["   \n"] * 10, 3)  # whitespace only: not worth remembering
    assert len(ring.entries()) == 2
    ring.resize(1)
    assert len(ring.entries()) == 1
