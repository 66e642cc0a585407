"""Repository-level fill-in-the-middle prompts per model family (pure, table-driven), and
the backends sending exactly them: the tiny GGUF through gpt4all, a loopback server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from server.backends.base import FimContext, FimFile
from server.backends.gpt4all_backend import Gpt4AllBackend
from server.models.families import comment_leader, fim_prompt

try:
    from tinymodel import build_tiny_gguf
except ImportError:  # pragma: no cover
    from tests.tinymodel import build_tiny_gguf

CTX = FimContext(
    repo="shop",
    path="app/main.py",
    files=(FimFile("app/units.py", "def to_m(v):\n    return v\n"), FimFile("cfg.py", "N = 1")),
)


@pytest.mark.parametrize(
    ("fim", "repo_tokens", "expected"),
    [
        (
            "qwen", True,
            "<|repo_name|>shop\n"
            "<|file_sep|>app/units.py\ndef to_m(v):\n    return v\n"
            "<|file_sep|>cfg.py\nN = 1\n"
            "<|file_sep|>app/main.py\n"
            "<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>",
        ),
        (
            "starcoder", True,
            "<repo_name>shop"
            "<file_sep>app/units.py\ndef to_m(v):\n    return v\n"
            "<file_sep>cfg.py\nN = 1\n"
            "<file_sep><fim_prefix>app/main.py\nP<fim_suffix>S<fim_middle>",
        ),
        (  # StarCoder 1 has no repository markers: path header lines
            "starcoder", False,
            "<fim_prefix># app/units.py\ndef to_m(v):\n    return v\n\n# cfg.py\nN = 1\n\n"
            "# app/main.py\nP<fim_suffix>S<fim_middle>",
        ),
        (
            "deepseek", True,
            "<｜fim▁begin｜># app/units.py\ndef to_m(v):\n    return v\n\n# cfg.py\nN = 1\n\n"
            "# app/main.py\nP<｜fim▁hole｜>S<｜fim▁end｜>",
        ),
        (
            "codellama", True,
            "▁<PRE> # app/units.py\ndef to_m(v):\n    return v\n\n# cfg.py\nN = 1\n\n"
            "# app/main.py\nP▁<SUF>S▁<MID>",
        ),
        (
            "plain", True,
            "# app/units.py\ndef to_m(v):\n    return v\n\n# cfg.py\nN = 1\n\n# app/main.py\nP",
        ),
    ],
)
def test_repository_prompt(fim: str, repo_tokens: bool, expected: str) -> None:
    assert fim_prompt(fim, "P", "S", CTX, repo_tokens=repo_tokens) == expected


@pytest.mark.parametrize("fim", ["qwen", "starcoder", "deepseek", "codellama", "plain"])
def test_no_files_is_the_bare_prompt(fim: str) -> None:
    bare = fim_prompt(fim, "P", "S")
    assert fim_prompt(fim, "P", "S", FimContext("r", "a.py", ())) == bare
    assert "#" not in bare and "file_sep" not in bare


@pytest.mark.parametrize("fim", ["qwen", "starcoder", "deepseek", "codellama", "plain"])
def test_context_comes_before_the_cursor_and_stays_put(fim: str) -> None:
    """Typing one more character changes only the end: the evaluated part is reused."""
    one = fim_prompt(fim, "x = to_", "\nprint(x)\n", CTX)
    two = fim_prompt(fim, "x = to_m", "\nprint(x)\n", CTX)
    shared = len(one.split("x = to_")[0])
    assert one[:shared] == two[:shared]
    assert one.index("def to_m") < one.index("x = to_")


@pytest.mark.parametrize(
    ("path", "leader"),
    [("a.py", "#"), ("a.ts", "//"), ("q.sql", "--"), ("Makefile", "#"), ("a.go", "//"),
     ("x.tex", "%")],
)
def test_comment_leader(path: str, leader: str) -> None:
    assert comment_leader(path) == leader


def test_markers_in_context_files_are_removed(tmp_path: Path) -> None:
    path = build_tiny_gguf(tmp_path / "fim.gguf", fim=True)
    b = Gpt4AllBackend(path, n_threads=1, n_ctx=512)
    evil = FimContext("r", "m.py", (FimFile("<fim_middle>x.py", "s = '<fim_prefix>'\n"),))
    prompt = b.fim_prompt("q = ", "\n", evil)
    assert prompt.count("<fim_prefix>") == 1 and prompt.count("<fim_middle>") == 1
    assert "# x.py\ns = ''\n" in prompt  # no repository markers in this vocabulary
    gen = b.fim("q = ", "\n", max_tokens=4, stop=(), cancel=threading.Event(), context=evil)
    assert gen.prompt == prompt
    b.close()
