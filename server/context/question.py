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
    if re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+", word):  # PascalCase
        return True
    return bool(re.fullmatch(r"[A-Z]{2,}[a-z][A-Za-z0-9]*", word))  # HTTPError, URLPattern


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


# -- what the question is about: intent, named paths and languages -------------------------

#: What the asker wants, which decides whose files answer it: "how" (how X works: the code
#: that implements it), "usage" (how to use X: docs and examples count as much as code),
#: "test" (where/how X is tested) or "docs" (what the documentation says).
Intent = str
HOW, USAGE, TEST, DOCS = "how", "usage", "test", "docs"

#: Role weights per intent (`index.roles`): multipliers on a hit's rank score.  A "how"
#: question is answered by implementing code; its tests and changelog entries mention the
#: same words but explain nothing.
ROLE_WEIGHTS: dict[str, dict[str, float]] = {
    HOW: {"code": 1.0, "test": 0.25, "docs": 0.3, "config": 0.4, "generated": 0.1},
    USAGE: {"code": 1.0, "test": 0.6, "docs": 1.0, "config": 0.5, "generated": 0.1},
    TEST: {"code": 0.6, "test": 1.0, "docs": 0.2, "config": 0.3, "generated": 0.1},
    DOCS: {"code": 0.6, "test": 0.2, "docs": 1.0, "config": 0.4, "generated": 0.1},
}

_TEST_Q = re.compile(
    r"\b(tested|untested|tests?|test (case|suite)s?|unit tests?|specs?|coverage|asserts?)\b",
    re.IGNORECASE,
)
_DOCS_Q = re.compile(
    r"\b(documented|documentation|docs|readme|changelog|release notes?|docstrings?)\b",
    re.IGNORECASE,
)
_USAGE_Q = re.compile(
    r"\bhow (do|can|should|would|could) (i|you|we|one)\b|\bhow to\b|\bexamples?\b|"
    r"\busage\b|\bcan i\b|\bshould i\b|\bwhat is the (right|best|correct) way\b",
    re.IGNORECASE,
)
_EXTS = "py pyi go ts tsx js jsx mjs cjs rs java kt c h cc cpp hpp cs rb php swift scala lua sh md rst toml yaml yml json".split()  # noqa: SIM905, E501
_PATH = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+|[\w-]+(?:\.[\w-]+)*\.(?:" + "|".join(_EXTS) + r"))"
    r"(?::\d+)?(?![\w/])"
)
#: Language names a question may use for "the Go code", "in TypeScript" ...
LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi"),
    "go": (".go",),
    "golang": (".go",),
    "typescript": (".ts", ".tsx", ".mts"),
    "javascript": (".js", ".jsx", ".mjs", ".cjs"),
    "rust": (".rs",),
    "java": (".java",),
    "kotlin": (".kt",),
    "ruby": (".rb",),
    "c++": (".cc", ".cpp", ".hpp", ".hh"),
    "c#": (".cs",),
}
_LANG = re.compile(
    r"(?<![\w+#])(python|golang|typescript|javascript|rust|java|kotlin|ruby|c\+\+|c#)(?![\w+#])"
    r"|\b(?:in|the) go\b|\bgo (?:code|files?|source)\b",
    re.IGNORECASE,
)
_EXT_Q = re.compile(r"(?<![\w/])\*?\.(" + "|".join(_EXTS) + r")\b(?! ?\w+\()", re.IGNORECASE)


@frozen
class Reading:
    """A question as retrieval reads it."""

    intent: Intent
    symbols: tuple[str, ...]
    words: tuple[str, ...]
    #: File paths (or path tails) the question names: `server/settings.py`, `index.ts`.
    paths: tuple[str, ...] = ()
    #: File extensions the question names, directly (".ts files") or by language ("Go").
    extensions: tuple[str, ...] = ()

    @property
    def roles(self) -> dict[str, float]:
        return ROLE_WEIGHTS[self.intent]

    def search_text(self) -> str:
        """The full-text query: the names and content words, without the question's glue."""
        return " ".join(dict.fromkeys((*self.symbols, *self.words)))


def intent_of(question: str) -> Intent:
    """Tests first ("where is X tested" is about tests even when it says "how do I")."""
    q = question[:QUERY_CHARS]
    if _TEST_Q.search(q):
        return TEST
    if _DOCS_Q.search(q):
        return DOCS
    if _USAGE_Q.search(q):
        return USAGE
    return HOW


def named_paths(question: str) -> tuple[str, ...]:
    out: list[str] = []
    for m in _PATH.finditer(question[:QUERY_CHARS]):
        p = m.group(1).strip("./")
        # "os.path.join" is a dotted name, not a file: a path needs a slash or a known extension
        if "/" not in p and p.rsplit(".", 1)[-1] not in _EXTS:
            continue
        if p.startswith(("http:", "https:")) or "//" in p or not p:
            continue
        if p not in out:
            out.append(p)
    return tuple(out)


def named_extensions(question: str, paths: tuple[str, ...] = ()) -> tuple[str, ...]:
    q = question[:QUERY_CHARS]
    out: list[str] = []
    for m in _LANG.finditer(q):
        name = (m.group(1) or "go").lower()
        out.extend(LANGUAGES.get(name, ()))
    in_paths = {p.rsplit(".", 1)[-1].lower() for p in paths}
    for m in _EXT_Q.finditer(q):
        ext = m.group(1).lower()
        if ext not in in_paths:
            out.append("." + ext)
    return tuple(dict.fromkeys(out))


def read(question: str) -> Reading:
    """Intent, names, content words, paths and languages of a question."""
    t = terms(question)
    paths = named_paths(question)
    # a named file's parts are not symbols to look up ("settings.py" is not a name)
    path_bits = {b for p in paths for b in re.split(r"[/.]", p)} | set(paths)
    symbols = tuple(s for s in t.symbols if s not in path_bits and s.split(".")[0] not in
                    path_bits)
    exts = {p.rsplit(".", 1)[-1].lower() for p in paths}
    numbers = re.findall(r"(?<![\w.])\d{2,}(?![\w.])", question[:QUERY_CHARS])
    words = tuple(dict.fromkeys(w for w in (*t.words, *numbers) if w not in exts))
    return Reading(intent_of(question), symbols, words, paths, named_extensions(question, paths))
