"""`stead ask` and `stead chat` as real subprocesses with the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_context_lsp import CONFIG_PY

TINY_OUTPUT = "return a + b"


def stead(*args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_ask_prints_the_manifest_then_the_answer(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    (workspace / "config.py").write_text(CONFIG_PY)
    r = stead("ask", "How does", "`load_config`", "work?", "--model", str(tiny_model),
              "--file", "config.py:5", cwd=workspace)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    manifest_at = out.index("context: ")
    answer_at = out.index(TINY_OUTPUT)
    assert manifest_at < answer_at
    assert "config.py:4-8" in out and "current file" in out
    assert "Note: No workspace index yet" in out[answer_at:]


def test_ask_json_and_follow_up_in_the_same_conversation(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    r = stead("ask", "first?", "--json", "--model", str(tiny_model), cwd=workspace)
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    assert first["answer"].startswith(TINY_OUTPUT) and first["route"] == "local"
    r2 = stead("ask", "second?", "--json", "--model", str(tiny_model),
               "--conversation", first["conversation_id"], cwd=workspace)
    second = json.loads(r2.stdout)
    assert second["conversation_id"] == first["conversation_id"]
    assert second["prompt_tokens"] > first["prompt_tokens"]


def test_ask_reads_a_huge_question_from_stdin(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    r = stead("ask", "-", "--json", "--model", str(tiny_model), cwd=workspace, stdin="why? " + "x" * 100_000)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert any("question was cut" in n for n in result["notes"])


def test_ask_bad_input_and_missing_model(xdg: dict[str, str], workspace: Path, tmp_path: Path) -> None:
    empty = stead("ask", "  ", cwd=workspace)
    assert empty.returncode == 2 and "question is empty" in empty.stderr
    missing = stead("ask", "hello", "--model", str(tmp_path / "none.gguf"), cwd=workspace)
    assert missing.returncode == 1
    assert "none.gguf" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_chat_keeps_one_conversation_until_new(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    r = stead("chat", "--model", str(tiny_model), cwd=workspace, stdin="one?\ntwo?\n/new\nthree?\n/quit\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(TINY_OUTPUT) == 3
    assert r.stdout.count("context: ") == 3
    from server.chat.store import ChatStore

    store = ChatStore(Path(xdg["XDG_DATA_HOME"]) / "stead" / "chat.sqlite3")
    convs = store.list()
    assert sorted(c.turns for c in convs) == [1, 2]


def test_every_chat_prompt_is_recorded_in_history(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    (workspace / "config.py").write_text(CONFIG_PY)
    r = stead("ask", "what does `load_config` return?", "--json", "--model", str(tiny_model),
              "--file", "config.py:5", cwd=workspace)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    from server.history import HistoryStore

    with HistoryStore(Path(xdg["XDG_DATA_HOME"]) / "stead" / "history.sqlite3") as store:
        (entry,) = store.list(kind="chat")
    assert entry.conversation_id == result["conversation_id"]
    assert entry.route == "local" and entry.outcome == "answered"
    assert "what does `load_config` return?" in entry.prompt
    assert entry.response.startswith(TINY_OUTPUT)
    assert any(f.path.endswith("config.py") and f.start_line == 4 for f in entry.files)


def test_ask_uses_the_workspace_index(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    """With a built index (real LanceDB on disk), context comes from it: no open files needed."""
    from index.api import open_index
    from server.paths import dirs
    from server.settings import IndexSettings

    (workspace / "config.py").write_text(CONFIG_PY)
    (workspace / "app.py").write_text("from config import load_config\n\nload_config('a.toml')\n")
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "render.py").write_text("def render_page(cfg):\n    return str(cfg)\n")
    config = Path(xdg["XDG_CONFIG_HOME"]) / "stead" / "config.toml"
    with config.open("a") as f:  # keeps the harness's model
        f.write('[index]\nembedder = "none"\n')
    index = open_index(workspace, dirs().data, IndexSettings(embedder="none"))
    stats = index.refresh()
    assert stats.chunks_written > 0
    index.close()

    r = stead("ask", "which function does render_page call, and where is parse_settings?", "--json",
              "--model", str(tiny_model), cwd=workspace)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    items = result["manifest"]["items"]
    where = {(i["path"], r) for i in items for r in i["reasons"]}
    assert ("pkg/render.py", "symbol match") in where
    assert ("config.py", "symbol match") in where
    assert ("config.py", "full-text") in where or ("pkg/render.py", "full-text") in where
    assert not any("No workspace index" in n for n in result["notes"])


def test_ask_verbose_says_where_the_time_went(xdg: dict[str, str], workspace: Path, tiny_model: Path) -> None:
    (workspace / "config.py").write_text(CONFIG_PY)
    r = stead("ask", "How does `load_config` work?", "--verbose", "--model", str(tiny_model),
              "--file", "config.py:5", cwd=workspace)
    assert r.returncode == 0, r.stderr
    assert TINY_OUTPUT in r.stdout and "time:" not in r.stdout  # timings go to stderr
    err = r.stderr
    for step in ("load the model", "search and choose context", "read the prompt", "write the answer"):
        assert step in err, err
    assert "first token after" in err and "prompt tokens read" in err
    # the manifest says how the budget was chosen
    assert "context budget" in r.stdout and "model window" in r.stdout
