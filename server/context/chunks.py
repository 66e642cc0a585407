"""Chunks of open documents and a small BM25 over them.

When the workspace has no index yet, questions are still answered from the files the user
has open; this is the search used then.  Chunks follow top-level definitions where a
grammar exists, so a manifest item is a whole function rather than an arbitrary window.
"""

from __future__ import annotations

import math
import re
from collections import Counter as Bag
from collections.abc import Mapping, Sequence

from attrs import frozen

from server.context.question import split_identifier

MAX_CHUNK_LINES = 40
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")


@frozen
class TextChunk:
    path: str
    start_line: int  # 1-based inclusive
    end_line: int
    text: str


def _windows(lines: Sequence[str], start: int, end: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(end, s + size - 1)) for s in range(start, end + 1, size)]


def split_chunks(path: str, text: str, max_lines: int = MAX_CHUNK_LINES) -> list[TextChunk]:
    """Top-level definitions (grouped when small, windowed when long), else line windows."""
    from server.context.symbols import _DEF_TYPES, _parse, grammar_for

    lines = text.splitlines(keepends=True)
    if not lines:
        return []
    spans: list[tuple[int, int]] = []
    language = grammar_for(path)
    if language is not None:
        root = _parse(language, text).root_node
        loose = False  # the last span groups small non-definitions (imports, constants)
        for node in root.children:
            s, e = node.start_point[0] + 1, node.end_point[0] + 1
            is_def = node.type in _DEF_TYPES or node.type.endswith(("definition", "declaration"))
            if e - s + 1 > max_lines:
                spans.extend(_windows(lines, s, e, max_lines))
                loose = False
            elif loose and not is_def and e - spans[-1][0] + 1 <= max_lines // 2:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
                loose = not is_def
    if not spans:
        spans = _windows(lines, 1, len(lines), max_lines)
    out = []
    for s, e in spans:
        chunk = "".join(lines[s - 1 : e])
        if chunk.strip():
            out.append(TextChunk(path, s, e, chunk))
    return out


def tokenize(text: str) -> list[str]:
    """Lower-cased words plus identifier parts (`HttpClient` -> httpclient, http, client)."""
    out: list[str] = []
    for w in _WORDS.findall(text):
        low = w.lower()
        out.append(low)
        parts = split_identifier(w)
        if len(parts) > 1:
            out.extend(parts)
    return out


def bm25_rank(
    query: Sequence[str], docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
) -> list[tuple[int, float]]:
    """(doc index, score) for docs sharing a term with the query, best first (Okapi BM25)."""
    n = len(docs)
    if n == 0:
        return []
    avg = sum(len(d) for d in docs) / n or 1.0
    df: Bag[str] = Bag()
    for d in docs:
        df.update(set(d))
    bags = [Bag(d) for d in docs]
    scores: list[tuple[int, float]] = []
    terms = list(dict.fromkeys(query))
    for i, bag in enumerate(bags):
        s = 0.0
        for t in terms:
            tf = bag.get(t, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(docs[i]) / avg))
        if s > 0:
            scores.append((i, s))
    scores.sort(key=lambda t: -t[1])
    return scores


def search_open(
    question_words: Sequence[str], docs: Mapping[str, str], k: int = 10
) -> list[tuple[TextChunk, float]]:
    """BM25 over the chunks of the open documents."""
    chunks = [c for path, text in docs.items() for c in split_chunks(path, text)]
    ranked = bm25_rank(list(question_words), [tokenize(c.text) for c in chunks])
    return [(chunks[i], s) for i, s in ranked[:k]]
