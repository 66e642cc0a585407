"""Cross-file context for inline completion: definitions via imports, ring, deadline, window."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from server.context.budget import Window
from server.context.completion import CompletionInput, explain, gather, prompt_window
from server.context.ring import RecentRing
from server.context.types import IMPORT, RECENT, SIMILAR, SYMBOL

HTTP_PY = '''\
class HttpClient:
    """A tiny HTTP client."""

    def __init__(self, timeout):
        self.timeout = timeout

    def get(self, url):
        return ("GET", url, self.timeout)


def retry(fn, *args):
    return fn(*args)
'''

MAIN_PY = '''\
from util.http import HttpClient, retry


def fetch(url):
    client = HttpClient(timeout=3)
    return retry(client.get, url)
'''


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "util").mkdir()
    (tmp_path / "util" / "__init__.py").write_text("")
    (tmp_path / "util" / "http.py").write_text(HTTP_PY)
    (tmp_path / "main.py").write_text(MAIN_PY)
    return tmp_path


def request(ws: Path, line: int = 6) -> CompletionInput:
    path = str(ws / "main.py")
    lines = MAIN_PY.splitlines(keepends=True)
    return CompletionInput(path, lines, line, Window(path, 1, len(lines)), (ws,))


class Hit:
    def __init__(self, path: str, start: int, end: int, text: str, score: float = 1.0) -> None:
        self.path, self.start_line, self.end_line, self.text, self.score = path, start, end, text, score


class SlowIndex:
    """An index whose searches take longer than any deadline (released by the test)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def search(self, query: str, k: int = 10, mode: str = "hybrid") -> list[Any]:
        self.release.wait(10)
        return [Hit("other.py", 1, 3, "def other():\n    pass\n")]

    def lookup_symbol(self, name: str, k: int = 5) -> list[Any]:
        return [Hit("lib/defs.py", 10, 12, f"def {name}():\n    ...\n")] if name == "url" else []


def test_imported_definitions_come_first(ws: Path) -> None:
    sel = gather(request(ws), index=None, ring=[], open_docs={}, budget=400, deadline_s=2.0)
    got = [(Path(i.path).name, i.start_line, i.reasons[0], i.detail) for i in sel.items]
    assert ("http.py", 11, IMPORT, "retry") in got
    assert ("http.py", 1, IMPORT, "HttpClient") in got
    assert sel.notes == ()


def test_open_buffer_text_wins_over_the_disk(ws: Path) -> None:
    edited = HTTP_PY.replace("def retry(fn, *args):", "def retry(fn, *args, attempts=3):")
    sel = gather(request(ws), index=None, ring=[], open_docs={str(ws / "util" / "http.py"): edited},
                 budget=400, deadline_s=2.0)
    assert any("attempts=3" in i.text for i in sel.items)


def test_ring_items_outside_the_window_are_used(ws: Path) -> None:
    ring = RecentRing(4, chunk_lines=4)
    other = ["# notes\n", "LIMIT = 5\n", "def helper():\n", "    return LIMIT\n"]
    ring.touch(str(ws / "notes.py"), other, 2)
    ring.touch(str(ws / "main.py"), MAIN_PY.splitlines(keepends=True), 2)  # inside the window
    sel = gather(request(ws), index=None, ring=ring.candidates(), open_docs={}, budget=400, deadline_s=2.0)
    recent = [i for i in sel.items if i.reasons == (RECENT,)]
    assert [Path(i.path).name for i in recent] == ["notes.py"]
    assert any(d.why == "overlaps the cursor window" for d in sel.dropped)


def test_a_slow_source_is_skipped_not_waited_for(ws: Path) -> None:
    index = SlowIndex()
    try:
        sel = gather(request(ws), index=index, ring=[], open_docs={}, budget=400, deadline_s=0.05)
    finally:
        index.release.set()
    assert any(n.startswith("similar: skipped (deadline") for n in sel.notes)
    assert not any(SIMILAR in i.reasons for i in sel.items)
    # the fast source still contributed, with index lookups for names not imported
    reasons = {r for i in sel.items for r in i.reasons}
    assert IMPORT in reasons
    assert SYMBOL in reasons


@pytest.mark.parametrize("budget", [0, 10])
def test_budget_is_respected(ws: Path, budget: int) -> None:
    sel = gather(request(ws), index=None, ring=[], open_docs={}, budget=budget, deadline_s=2.0)
    assert sel.tokens <= budget


@pytest.mark.parametrize(
    ("line", "prefix", "suffix", "span"),
    [
        (50, 10_000, 10_000, (1, 100)),
        (50, 12, 6, (47, 52)),  # 3 tokens a line: the cursor line + 3 before, 2 after
        (1, 0, 0, (1, 1)),
    ],
)
def test_prompt_window(line: int, prefix: int, suffix: int, span: tuple[int, int]) -> None:
    lines = [f"line {i:04d}\n" for i in range(1, 101)]  # 10 characters = 3 tokens each
    w = prompt_window("/a.py", lines, line, prefix, suffix)
    assert (w.start_line, w.end_line) == span


def test_explain_lists_chosen_dropped_and_notes(ws: Path) -> None:
    index = SlowIndex()
    try:
        sel = gather(request(ws), index=index, ring=[], open_docs={}, budget=60, deadline_s=0.05)
    finally:
        index.release.set()
    lines = explain(sel, ws)
    assert lines[0].startswith("context: ")
    assert any(line.startswith("  + util/http.py:") and "import (" in line for line in lines)
    assert any(line.startswith("  ! similar: skipped") for line in lines)


async def test_completion_prompt_gets_the_imported_definition(
    start_client: Any, workspace: Path, tiny_model: Path, tmp_path: Path
) -> None:
    """Over the real server: the completion handler asks this area for snippets."""
    from lsprotocol import types

    log_file = tmp_path / "server.log"
    (workspace / "util").mkdir()
    (workspace / "util" / "__init__.py").write_text("")
    (workspace / "util" / "http.py").write_text(HTTP_PY)
    client = await start_client(
        init_options={"model": {"path": str(tiny_model)}, "logLevel": "debug",
                      "index": {"enabled": False}},
        args=("-vv", "--log-file", str(log_file)),
    )
    uri = (workspace / "main.py").as_uri()
    text = MAIN_PY + "\n\ndef again(url):\n    c = HttpClient(1)\n    "
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(text.count("\n"), 4),
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        )
    )
    assert result is not None
    await client.shutdown_session()
    log = log_file.read_text()
    assert "completion " + str(workspace / "main.py") in log
    assert "+ util/http.py:1-" in log and "import (HttpClient)" in log


def test_stead_complete_explain_prints_the_snippets_and_why(
    xdg: dict[str, str], ws: Path, tiny_model: Path
) -> None:
    import os
    import subprocess
    import sys

    (ws / ".git").mkdir()  # the workspace root is the enclosing work tree
    r = subprocess.run(
        [sys.executable, "-m", "server", "complete", "main.py:6:5", "--explain", "--model", str(tiny_model)],
        cwd=ws, capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("context: ") and "snippet(s)" in lines[0]
    assert any(line.startswith("  + util/http.py:11-12  import (retry)") for line in lines)
    assert any(line.startswith("  + util/http.py:1-") and "import (HttpClient)" in line for line in lines)
    # then exactly what the model read: the files in the family's layout (this tiny model
    # has no FIM markers: path lines, then the code), and the suggestion last
    assert any(line.startswith("prompt: ") and "tokens read by the model" in line for line in lines)
    prompt = r.stdout.split("exactly:\n", 1)[1].rsplit("\nsuggestion:\n", 1)[0]
    assert prompt.startswith("# util/http.py\n")
    assert "def retry(fn, *args):\n    return fn(*args)\n" in prompt
    assert prompt.endswith("# main.py\n" + MAIN_PY[: MAIN_PY.index("return") ] )
    assert lines[-1] == "return a + b"  # the suggestion still follows


def test_symbol_lookups_run_together_and_are_remembered() -> None:
    from server.context.completion import lookup_many

    class Counting:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def search(self, query: str, k: int = 10, *, mode: str = "hybrid") -> list[Any]:
            return []

        def lookup_symbol(self, name: str, k: int = 5) -> list[Any]:
            self.calls.append(name)
            return [Hit(f"{name}.py", 1, 2, f"def {name}(): ...\n")] if name != "nothing" else []

    index = Counting()
    first = lookup_many(index, ["alpha", "nothing", "beta"])
    assert [[h.path for h in hits] for hits in first] == [["alpha.py"], [], ["beta.py"]]
    again = lookup_many(index, ["beta", "gamma"])
    assert [[h.path for h in hits] for hits in again] == [["beta.py"], ["gamma.py"]]
    assert sorted(index.calls) == ["alpha", "beta", "gamma", "nothing"]  # beta once only
