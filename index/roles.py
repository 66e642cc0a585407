"""What a chunk's file is for: implementation, test, docs, config or generated.

A question about how something works is answered by the code that does it, not by its
tests or changelog; a question about usage or tests wants the opposite.  The role comes from
the path alone (directory and file-name conventions across ecosystems), so it costs nothing
at query time and needs no column in the index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Final, Literal

Role = Literal["code", "test", "docs", "config", "generated"]
ROLES: Final[tuple[Role, ...]] = ("code", "test", "docs", "config", "generated")

_TEST_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "e2e", "testdata",
              "fixtures", "__fixtures__", "__mocks__"}
_TEST_NAME = re.compile(
    r"(^test_.*|.*_test\.[^.]+$|.*\.(test|spec)\.[^.]+$|^conftest\.py$|.*Tests?\.(java|cs|kt)$)"
)
_DOC_DIRS = {"doc", "docs", "documentation", "examples", "example"}
_DOC_EXT = {".md", ".rst", ".txt", ".adoc", ".markdown", ".html", ".ipynb"}
_DOC_NAME = re.compile(r"^(readme|changelog|changes|history|news|authors|contributing|license"
                       r"|copying|notice|security|code_of_conduct)(\.|$)", re.IGNORECASE)
_CONFIG_EXT = {".toml", ".yaml", ".yml", ".json", ".ini", ".cfg", ".lock", ".xml", ".conf",
               ".properties", ".gradle", ".mod", ".sum", ".editorconfig"}
_CONFIG_NAME = re.compile(r"^(makefile|dockerfile|\.gitignore|\.dockerignore|setup\.py|"
                          r"package\.json|tsconfig.*\.json|\..*rc(\.[a-z]+)?)$", re.IGNORECASE)
_GENERATED = re.compile(r"(\.min\.(js|css)$|_pb2(_grpc)?\.pyi?$|\.pb\.go$|\.generated\.|"
                        r"(^|/)(dist|build|vendor|node_modules|generated|gen)/|\.d\.ts$)")


def classify(path: str) -> Role:
    """The role of a workspace-relative (or absolute) posix path."""
    p = PurePosixPath(path)
    name = p.name
    low = str(p).lower()
    if _GENERATED.search(low):
        return "generated"
    parts = {part.lower() for part in p.parts[:-1]}
    if _TEST_NAME.match(name) or parts & _TEST_DIRS:
        return "test"
    if _DOC_NAME.match(name) or p.suffix.lower() in _DOC_EXT or parts & _DOC_DIRS:
        return "docs"
    if _CONFIG_NAME.match(name) or p.suffix.lower() in _CONFIG_EXT:
        return "config"
    return "code"


#: Multipliers a caller passes to `search(..., roles=...)`; a missing role counts 1.0.
RoleWeights = Mapping[str, float]


#: For a question in words, files that are not implementation count half: measured on
#: docstring and question queries over four public repositories (bench/retrieval.py
#: --modes hybrid,hybrid+roles), recall@5 0.628 -> 0.660 and 0.450 -> 0.500.
PROSE_WEIGHTS: Final[dict[str, float]] = {"test": 0.5, "docs": 0.5, "config": 0.5,
                                          "generated": 0.5}
#: A question that names a role wants it: "where is parse tested", "docs for retry".
_ROLE_WORDS: Final[dict[str, frozenset[str]]] = {
    "test": frozenset({"test", "tests", "tested", "testing", "spec", "specs", "fixture",
                       "fixtures"}),
    "docs": frozenset({"doc", "docs", "documentation", "documented", "readme", "example",
                       "examples", "changelog", "guide", "tutorial"}),
    "config": frozenset({"config", "configuration", "configured", "toml", "yaml", "json"}),
    "generated": frozenset({"generated", "vendored", "minified"}),
}
_WORDS = re.compile(r"[A-Za-z]+")


def default_roles(query: str) -> dict[str, float] | None:
    """Role weights for a search that asked for none: None for code-like queries (a call
    site or identifier names its definition wherever it is); for sentences, non-code files
    at half weight, except a role the question names, which counts double."""
    from index.fusion import is_code_like

    if not query.strip() or is_code_like(query):
        return None
    words = {w.lower() for w in _WORDS.findall(query)}
    weights = dict(PROSE_WEIGHTS)
    for role, names in _ROLE_WORDS.items():
        if words & names:
            weights[role] = 2.0
    return weights
