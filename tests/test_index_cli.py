"""`stead index` and `stead search` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _stead(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], env=env, text=True,
                          capture_output=True, timeout=300)


def test_index_then_search_from_the_command_line(workspace: Path, xdg: dict[str, str]) -> None:
    env = {**os.environ, **xdg}
    (workspace / "client.py").write_text("class HttpClient:\n    def send_request(self):\n"
                                         "        return 1\n")
    (workspace / "notes.md").write_text("# Notes\n\nNothing about networking.\n")
    r = _stead("search", "client", "-C", str(workspace), env=env)
    assert r.returncode == 1 and "stead index" in r.stderr  # tells the user what to do

    r = _stead("index", str(workspace), "--embedder", "none", env=env)
    assert r.returncode == 0, r.stderr
    assert "2 files" in r.stdout and "2 added" in r.stdout
    assert "indexed 2/2 files" in r.stderr  # progress (a bar on a terminal)

    r = _stead("search", "http client", "-C", str(workspace), "--json", env=env)
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    assert hits[0]["path"] == "client.py" and hits[0]["symbol"] == "HttpClient"
    assert hits[0]["start_line"] == 1 and hits[0]["source"] == "fts"

    r = _stead("index", str(workspace / "missing"), env=env)
    assert r.returncode == 2 and "not a directory" in r.stderr


def test_role_options_become_weights() -> None:
    import pytest

    from server.cli.index import parse_roles

    assert parse_roles([]) is None
    assert parse_roles(["test=0.5", "docs=2"]) == {"test": 0.5, "docs": 2.0}
    only = parse_roles(["code", "test=0.5"])
    assert only == {"code": 1.0, "test": 0.0, "docs": 0.0, "config": 0.0, "generated": 0.0}
    with pytest.raises(ValueError, match="unknown role 'tests'"):
        parse_roles(["tests"])
    with pytest.raises(ValueError, match="must be a number"):
        parse_roles(["test=lots"])
