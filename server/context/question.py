"""Reading a question for retrieval: which words name code, which are plain words.

Names the user typed (`parse_config`, `HttpClient`, `os.path.join`, anything in backticks)
are looked up as symbols; the rest feed full-text search.
"""

from __future__ import annotations

import re

from attrs import frozen

_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(\s*\()?")
_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")

STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto about as is
    are was were be been being do does did doing have has had having it its this that these
    those there here what which who whom whose why how when where i me my we our you your he
    she they them their can could should would will shall may might must not no nor so too
    very just only also than any all each every some such own same other more most few both
    between through during before after above below up down out over under again further
    once get gets got use used uses using make makes made work works way show tell explain
    please code file files function functions method class does mean means happen happens""".split()  # noqa: SIM905
)

#: At most this much of a question is used for retrieval queries; the rest is still asked.
QUERY_CHARS = 2000


@frozen
class Terms:
    symbols: tuple[str, ...]
    words: tuple[str, ...]


def split_identifier(name: str) -> list[str]:
    """`parseHTTPResponse_v2` -> parse, http, response, v2 (lower case)."""
    out: list[str] = []
    for part in re.split(r"[_\W]+", name):
        out.extend(p.lower() for p in _SPLIT.findall(part))
    return [p for p in out if p]


def looks_like_code(word: str, called: bool = False) -> bool:
    if called or "_" in word.strip("_") or "." in word:
        return True
    if re.search(r"[a-z][A-Z]", word):  # camelCase
        return True
    return bool(re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+", word))  # PascalCase


def terms(question: str) -> Terms:
    """Symbols (code-like names, dotted names also as their last part) and plain words."""
    q = question[:QUERY_CHARS]
    symbols: list[str] = []
    words: list[str] = []

    def add_symbol(name: str) -> None:
        parts = name.split(".")
        for n in (name, parts[-1], *(p for p in parts[:-1] if looks_like_code(p))):
            n = n.strip(".")
            if n and n not in symbols and re.fullmatch(r"[A-Za-z_][\w.]*", n):
                symbols.append(n)

    for m in _BACKTICK.finditer(q):
        for w in _DOTTED.finditer(m.group(1)):
            add_symbol(w.group().rstrip("( "))
    for m in _DOTTED.finditer(_BACKTICK.sub(lambda b: f" {b.group(1)} ", q)):
        word = m.group().rstrip("( ")
        if looks_like_code(word, called=bool(m.group(1))):
            add_symbol(word)
        for part in re.split(r"\.", word):
            for piece in [part.lower(), *split_identifier(part)]:
                if len(piece) >= 2 and piece not in STOPWORDS and piece not in words:
                    words.append(piece)
    return Terms(tuple(symbols), tuple(words))


def query_text(question: str) -> str:
    """The part of a question used as a search query (long pastes are cut)."""
    return question.strip()[:QUERY_CHARS]
