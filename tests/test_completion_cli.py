"""`stead complete FILE:LINE:COL` prints what the editor would show, from the same engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli.complete import parse_where, split_at

try:
    from tinymodel import DEFAULT_OUTPUT
except ImportError:  # pragma: no cover
    from tests.tinymodel import DEFAULT_OUTPUT


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "complete", *args], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )


def test_complete_prints_the_suggestion(
    xdg: dict[str, str], tmp_path: Path, tiny_model: Path
) -> None:
    src = tmp_path / "calc.py"
    src.write_text("def add(a, b):\n    \n")
    out = run(f"{src}:2:5", "--model", str(tiny_model), env=xdg)
    assert out.returncode == 0, out.stderr
    assert out.stdout == DEFAULT_OUTPUT + "\n"
    js = run(f"{src}:2:5", "--model", str(tiny_model), "--json", env=xdg)
    data = json.loads(js.stdout)
    assert data["text"] == DEFAULT_OUTPUT and data["source"] == "model"
    assert data["multiline"] is True and data["completion_tokens"] == 4


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("calc.py", "expected FILE:LINE:COL"),
        ("calc.py:0:1", "start at 1"),
        ("calc.py:9:1", "past the end of the file"),
        ("calc.py:1:99", "past the end of line 1"),
        ("missing.py:1:1", "No such file"),
    ],
)
def test_complete_bad_input(
    xdg: dict[str, str], tmp_path: Path, tiny_model: Path, where: str, message: str
) -> None:
    (tmp_path / "calc.py").write_text("x = 1\n")
    out = subprocess.run(
        [sys.executable, "-m", "server", "complete", where, "--model", str(tiny_model)],
        capture_output=True, text=True, env={**os.environ, **xdg}, cwd=tmp_path, timeout=60,
    )
    assert out.returncode == 2 and message in out.stderr and out.stdout == ""


def test_complete_with_a_broken_model_says_why(xdg: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")
    bad = tmp_path / "bad.gguf"
    bad.write_text("nope")
    out = run(f"{src}:1:6", "--model", str(bad), env=xdg)
    assert out.returncode == 1 and str(bad) in out.stderr and "not a GGUF" in out.stderr


@pytest.mark.parametrize(
    ("text", "line", "col", "prefix"),
    [
        ("ab\ncd\n", 1, 1, ""),
        ("ab\ncd\n", 2, 2, "ab\nc"),
        ("ab\ncd\n", 3, 1, "ab\ncd\n"),  # the empty last line
        ("é€\n", 1, 3, "é€"),  # characters, not bytes
        ("a\r\nb\r\n", 2, 2, "a\r\nb"),
    ],
)
def test_split_at(text: str, line: int, col: int, prefix: str) -> None:
    p, s = split_at(text, line, col)
    assert p == prefix and p + s == text


def test_parse_where_keeps_colons_in_paths() -> None:
    assert parse_where("C:/x/y.py:3:4") == (Path("C:/x/y.py"), 3, 4)
