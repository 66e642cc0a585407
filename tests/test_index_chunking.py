"""Chunking: semantic chunks per language, merging, splitting, fallbacks, identifiers."""

from __future__ import annotations

import pytest

from index.chunking import (
    MAX_CHARS,
    chunk_text,
    identifier_terms,
    language_for,
    split_identifier,
)

SAMPLES = {
    "a.py": ("python", "import os\n\nclass HttpClient:\n    def get(self, url):\n        return url\n\n\ndef parse_url(s):\n    return s\n", {"HttpClient", "parse_url", "get"}),
    "a.js": ("javascript", "class HttpClient {\n  get(url) { return url; }\n}\nfunction parseUrl(s) { return s; }\nconst makeThing = () => 1;\n", {"HttpClient", "parseUrl", "makeThing"}),
    "a.ts": ("typescript", "export interface Options { a: number }\nexport class HttpClient {\n  get(url: string): string { return url; }\n}\nexport function parseUrl(s: string) { return s; }\n", {"Options", "HttpClient", "parseUrl"}),
    "a.tsx": ("tsx", "export function Button(p: {x: number}) { return <div>{p.x}</div>; }\n", {"Button"}),
    "a.go": ("go", "package main\n\ntype HttpClient struct{}\n\nfunc (c *HttpClient) Get(url string) string { return url }\n\nfunc ParseUrl(s string) string { return s }\n", {"HttpClient", "Get", "ParseUrl"}),
    "a.rs": ("rust", "struct HttpClient {}\nimpl HttpClient {\n    fn get(&self) -> u8 { 1 }\n}\nfn parse_url(s: &str) -> &str { s }\n", {"HttpClient", "parse_url"}),
    "A.java": ("java", "class HttpClient {\n  String get(String url) { return url; }\n  static String parseUrl(String s) { return s; }\n}\n", {"HttpClient"}),
    "a.c": ("c", "#include <stdio.h>\nstruct client { int x; };\nint parse_url(const char *s) { return 0; }\n", {"parse_url"}),
    "a.cpp": ("cpp", "namespace net {\nclass HttpClient { public: int get() { return 1; } };\n}\nint HttpClient::post() { return 2; }\n", {"net"}),
    "a.cs": ("c_sharp", "namespace Net {\n  class HttpClient {\n    string Get(string url) { return url; }\n  }\n}\n", {"Net"}),
    "a.rb": ("ruby", "class HttpClient\n  def get(url)\n    url\n  end\nend\n\ndef parse_url(s)\n  s\nend\n", {"HttpClient", "parse_url"}),
}


@pytest.mark.parametrize("path", sorted(SAMPLES))
def test_each_language_yields_named_chunks_covering_the_file(path: str) -> None:
    language, text, names = SAMPLES[path]
    assert language_for(path) == language
    chunks = chunk_text(path, text)
    assert chunks, path
    assert all(c.language == language and c.path == path for c in chunks)
    found = {n for c in chunks for n in c.names}
    assert names <= found, (path, found)
    # every non-blank line is in some chunk, and ranges are 1-based and ordered
    lines = text.splitlines()
    covered = {i for c in chunks for i in range(c.start_line, c.end_line + 1)}
    assert {i + 1 for i, ln in enumerate(lines) if ln.strip()} <= covered
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines)
        assert c.text.splitlines()[0] == lines[c.start_line - 1]


def test_large_functions_split_with_signature_kept_and_small_neighbours_merged() -> None:
    body = "".join(f"    x{i} = compute_value({i})\n" for i in range(300))
    text = "def small_a():\n    return 1\n\ndef small_b():\n    return 2\n\n" \
        f"def huge(arg):\n{body}"
    chunks = chunk_text("m.py", text)
    merged = [c for c in chunks if "small_a" in c.names]
    assert len(merged) == 1 and "small_b" in merged[0].names
    pieces = [c for c in chunks if c.symbol == "huge"]
    assert len(pieces) > 2
    assert all(len(c.text) <= MAX_CHARS + 200 for c in pieces)
    assert all(c.text.startswith("def huge(arg):") for c in pieces)
    # the pieces cover the body without gaps
    assert pieces[0].start_line == 7 and pieces[-1].end_line == 7 + 300


def test_methods_of_a_large_class_are_their_own_chunks_with_qualified_symbols() -> None:
    methods = "".join(
        f"    def method_{i}(self):\n" + "".join(f"        v = {j}\n" for j in range(60))
        for i in range(6))
    text = f"class Big:\n    \"\"\"Docs.\"\"\"\n\n{methods}"
    chunks = chunk_text("big.py", text)
    assert chunks[0].kind == "class" and chunks[0].symbol == "Big"
    assert "Docs" in chunks[0].text and "def method_0" not in chunks[0].text
    symbols = [c.symbol for c in chunks]
    assert "Big.method_3" in symbols
    assert next(c for c in chunks if c.symbol == "Big.method_3").kind == "method"


def test_unknown_language_and_unsaved_text_fall_back_to_line_windows() -> None:
    text = "".join(f"line {i}\n" for i in range(150))
    chunks = chunk_text("notes.unknownext", text)
    assert language_for("notes.unknownext") is None
    assert [c.kind for c in chunks] == ["lines"] * len(chunks)
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 150
    assert len(chunks) >= 3
    # an explicit language wins over the path (unsaved buffers have odd names)
    assert chunk_text("untitled-1", "def f():\n    return 1\n", "python")[0].names == ("f",)


@pytest.mark.parametrize("text", ["", "   \n\n", "\x00\x01", "def (:\n  ))) broken", "é" * 10])
def test_odd_input_never_raises(text: str) -> None:
    chunks = chunk_text("x.py", text)
    assert all(c.text.strip() for c in chunks)


def test_hashes_are_stable_and_content_based() -> None:
    a = chunk_text("a.py", "def f():\n    return 1\n")
    b = chunk_text("a.py", "\n\ndef f():\n    return 1\n")
    assert a[0].hash == b[0].hash and a[0].start_line != b[0].start_line
    c = chunk_text("a.py", "def f():\n    return 2\n")
    assert c[0].hash != a[0].hash


@pytest.mark.parametrize(("name", "parts"), [
    ("HttpClient", ["http", "client"]),
    ("parse_url2", ["parse", "url", "2"]),
    ("XMLHttpRequest", ["xml", "http", "request"]),
    ("getURLForID", ["get", "url", "for", "id"]),
    ("simple", ["simple"]),
])
def test_split_identifier(name: str, parts: list[str]) -> None:
    assert split_identifier(name) == parts


def test_identifier_terms_only_adds_compound_parts() -> None:
    assert identifier_terms("x = HttpClient(); simple; HttpClient") == "http client"


GO_DOC = """package demo

// Throttle limits how many requests are processed at the same time, and queues the rest
// until a slot frees up or the client gives up.
func Throttle(limit int) func(http.Handler) http.Handler {
""" + "\treturn nil // padding so the function is large enough to be its own chunk\n" * 8 + "}\n"

TS_DOC = """export class Client {
  /**
   * Merge two sets of headers, the second winning.
   */
  mergeHeaders(a: Headers, b: Headers): Headers {
""" + "    a = a; // padding so the method is large enough to be its own chunk\n" * 40 + """  }

  get(url: string) {
    return fetch(url);
  }
}
"""


@pytest.mark.parametrize(("path", "text", "symbol", "words"), [
    ("demo.go", GO_DOC, "Throttle", "limits how many requests"),
    ("client.ts", TS_DOC, "Client.mergeHeaders", "Merge two sets of headers"),
])
def test_a_doc_comment_is_in_the_chunk_of_the_definition_it_documents(
        path: str, text: str, symbol: str, words: str) -> None:
    chunks = chunk_text(path, text)
    owner = next(c for c in chunks if c.symbol == symbol)
    assert words in owner.text
    assert owner.text.lstrip().startswith(("//", "/**"))  # the comment opens the chunk
    assert not any(words in c.text for c in chunks if c is not owner)


def test_merged_definitions_are_not_labelled_as_their_first_one() -> None:
    text = "import math\n\n\ndef area_of_circle(r):\n    return math.pi * r * r\n\n\n" \
           "def perimeter(r):\n    return 2 * math.pi * r\n"
    (chunk,) = chunk_text("geometry.py", text)
    assert chunk.symbol == "" and chunk.name == ""
    assert chunk.names == ("area_of_circle", "perimeter")
    (single,) = chunk_text("one.py", "import math\n\n\ndef area(r):\n    return r * r\n")
    assert single.symbol == "area"  # one definition (plus imports) keeps its name


def test_identifier_terms_can_add_joined_snake_case() -> None:
    assert identifier_terms("parse_date(x)", joined=True) == "parse date parsedate"
    assert identifier_terms("parse_date(x)") == "parse date"
