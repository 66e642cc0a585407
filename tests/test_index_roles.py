"""Roles of files by path, and search re-ranked by role weights."""

from __future__ import annotations

import pytest

from index.api import Hit, reweigh
from index.roles import classify


@pytest.mark.parametrize(("path", "role"), [
    ("server/settings.py", "code"),
    ("src/cors/index.ts", "code"),
    ("cors/index.test.ts", "test"),
    ("pkg/router/router_test.go", "test"),
    ("tests/test_settings.py", "test"),
    ("src/__tests__/thing.js", "test"),
    ("conftest.py", "test"),
    ("src/main/java/FooTest.java", "test"),
    ("README.md", "docs"),
    ("CHANGELOG", "docs"),
    ("docs/settings.md", "docs"),
    ("editors/neovim/README.md", "docs"),
    ("pyproject.toml", "config"),
    ("package.json", "config"),
    ("tsconfig.build.json", "config"),
    ("api/v1/service.pb.go", "generated"),
    ("dist/bundle.min.js", "generated"),
    ("types/index.d.ts", "generated"),
    ("node_modules/x/index.js", "generated"),
])
def test_classify(path: str, role: str) -> None:
    assert classify(path) == role


def _hit(path: str) -> Hit:
    return Hit(path, 1, 2, "s", "function", "python", "x", 1.0, "fts", role=classify(path))


def test_reweigh_moves_tests_below_code_and_keeps_order_otherwise() -> None:
    hits = [_hit("t/test_a.py"), _hit("a.py"), _hit("README.md"), _hit("b.py")]
    out = reweigh(hits, {"test": 0.2, "docs": 0.2})
    assert [h.path for h in out] == ["a.py", "b.py", "t/test_a.py", "README.md"]
    assert [h.path for h in reweigh(hits, {})] == [h.path for h in hits]


@pytest.mark.parametrize(("query", "expected"), [
    ("compressor.SetEncoder(\"nop\", fn)", None),  # code names its definition anywhere
    ("HttpClient", None),
    ("", None),
    ("how does the retry delay work", {"test": 0.5, "docs": 0.5, "config": 0.5,
                                       "generated": 0.5}),
    ("where is the retry delay tested", {"test": 2.0, "docs": 0.5, "config": 0.5,
                                         "generated": 0.5}),
    ("examples of a sub-router", {"test": 0.5, "docs": 2.0, "config": 0.5,
                                  "generated": 0.5}),
])
def test_default_role_weights_follow_the_question(query: str,
                                                  expected: dict[str, float] | None) -> None:
    from index.roles import default_roles

    assert default_roles(query) == expected
