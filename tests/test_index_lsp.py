"""The index in the real server over stdio: background indexing with $/progress, search,
status, refresh on save and on (debounced) edits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from server import protocol
from tests.conftest import StartClient

FILES = {
    "src/net/http_client.py": (
        "class HttpClient:\n    def fetch_page(self, url):\n        return url\n"),
    "src/util.py": "def parse_duration(text):\n    return int(text)\n",
    "docs/guide.md": "# Guide\n\nHow to configure retries.\n",
}


def _write(root: Path) -> None:
    for rel, text in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


async def _status(client: LanguageClient) -> dict[str, Any]:
    return protocol._plain(  # type: ignore[no-any-return]
        await client.protocol.send_request_async(protocol.INDEX_STATUS, {}))


async def _until(client: LanguageClient, check: Any, what: str, tries: int = 300) -> Any:
    """Poll until `check(status)` holds (a deadline, not a timing assertion)."""
    st: dict[str, Any] = {}
    for _ in range(tries):
        st = await _status(client)
        if check(st):
            return st
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached: {what}; last status {st}")


async def _search(client: LanguageClient, **params: Any) -> dict[str, Any]:
    return protocol._plain(  # type: ignore[no-any-return]
        await client.protocol.send_request_async(protocol.SEARCH, params))


async def test_background_index_progress_search_and_status(
        start_client: StartClient, workspace: Path) -> None:
    _write(workspace)
    client = await start_client(init_options={"index": {"embedder": "none"}})
    await _until(client, lambda s: s.get("files") == 3 and s["state"] == "ready", "indexed")
    # a progress bar was shown: begin ... end on one token
    assert client.progress_reports, "no $/progress"
    reports = next(iter(client.progress_reports.values()))
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert "3 files indexed" in (reports[-1].message or "")

    res = await _search(client, query="client", k=5)
    assert res["hits"][0]["path"] == "src/net/http_client.py"
    assert res["hits"][0]["uri"] == (workspace / "src/net/http_client.py").as_uri()
    assert res["hits"][0]["source"] == "fts" and res["search"] == "fts"
    assert len((await _search(client, query="src", limit=1))["hits"]) == 1  # limit = k
    only_md = await _search(client, query="configure retries", pathGlob="docs/*")
    assert [h["path"] for h in only_md["hits"]] == ["docs/guide.md"]
    # the lifecycle status carries the index state
    status = protocol._plain(await client.protocol.send_request_async(protocol.STATUS, {}))
    assert status["index"]["files"] == 3


async def test_bad_search_params_get_an_error_and_the_server_lives(
        start_client: StartClient, workspace: Path) -> None:
    _write(workspace)
    client = await start_client(init_options={"index": {"embedder": "none"}})
    for bad in ({}, {"query": "x", "mode": "nonsense"}, {"query": "x", "k": "y"}):
        try:
            await _search(client, **bad)
        except Exception as exc:
            assert "invalid params" in str(exc).lower() or "-32602" in str(exc)
        else:
            raise AssertionError(f"accepted {bad}")
    await _until(client, lambda s: s.get("files") == 3, "indexed")
    assert (await _search(client, query="((("))["hits"] == []


async def test_save_and_edits_refresh_only_that_file(
        start_client: StartClient, workspace: Path) -> None:
    _write(workspace)
    client = await start_client(init_options={"index": {"embedder": "none"}})
    await _until(client, lambda s: s.get("files") == 3 and s["state"] == "ready", "indexed")
    util = workspace / "src/util.py"
    uri = util.as_uri()
    # saved on disk, then a didSave: the new function becomes searchable
    util.write_text("def parse_interval(text):\n    return int(text)\n")
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="python", version=1,
                               text=util.read_text())))
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        types.TextDocumentIdentifier(uri=uri)))
    await _until(client, lambda s: (s.get("last_refresh") or {}).get("updated") == 1,
                 "save refreshed")
    st = await _status(client)
    assert st["last_refresh"]["unchanged"] == 0  # only the saved file was looked at
    hits = (await _search(client, query="interval", mode="fts"))["hits"]
    assert hits and hits[0]["path"] == "src/util.py"
    # unsaved edits are indexed after a pause in typing
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [types.TextDocumentContentChangeWholeDocument(
            text="def compute_checksum(data):\n    return 0\n")]))
    for _ in range(100):
        hits = (await _search(client, query="checksum", mode="fts"))["hits"]
        if hits:
            break
        await asyncio.sleep(0.1)
    assert hits and hits[0]["path"] == "src/util.py"
    # a watched-file deletion removes the file
    util.unlink()
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        [types.FileEvent(uri=uri, type=types.FileChangeType.Deleted)]))
    await _until(client, lambda s: s.get("files") == 2, "deletion seen")


async def test_index_disabled_reports_state(start_client: StartClient, workspace: Path) -> None:
    _write(workspace)
    client = await start_client(init_options={"index": {"enabled": False}})
    st = await _status(client)
    assert st["state"] == "disabled"
    res = await _search(client, query="client")
    assert res["hits"] == [] and res["state"] == "disabled"


async def test_settings_change_starts_and_stops_the_index(
        start_client: StartClient, workspace: Path) -> None:
    _write(workspace)
    client = await start_client(init_options={"index": {"enabled": False, "embedder": "none"}})
    assert (await _status(client))["state"] == "disabled"
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"stead": {"index": {"enabled": True}}}))
    await _until(client, lambda s: s.get("files") == 3 and s["state"] == "ready", "enabled")
    assert (await _search(client, query="client"))["hits"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"stead": {"index": {"enabled": False}}}))
    await _until(client, lambda s: s["state"] == "disabled", "disabled again")
    assert (await _search(client, query="client"))["hits"] == []


async def test_every_workspace_folder_is_indexed_and_folders_can_change(
        start_client: StartClient, tmp_path: Path) -> None:
    folders = [tmp_path / "one", tmp_path / "two", tmp_path / "three"]
    for i, f in enumerate(folders):
        (f / "pkg").mkdir(parents=True)
        (f / "pkg" / "mod.py").write_text(f"def shared_helper_{i}(x):\n    return x\n")
    client = await start_client(init_options={"index": {"embedder": "none"}},
                                root=folders[0], folders=folders[:2])
    await _until(client, lambda s: s.get("files") == 2 and s["state"] == "ready", "indexed")
    res = await _search(client, query="shared helper", k=5)
    assert {h["uri"] for h in res["hits"]} == {(f / "pkg/mod.py").as_uri()
                                             for f in folders[:2]}
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(
            added=[types.WorkspaceFolder(uri=folders[2].as_uri(), name="three")],
            removed=[types.WorkspaceFolder(uri=folders[0].as_uri(), name="one")])))
    st = await _until(client, lambda s: s.get("files") == 2 and s["state"] == "ready"
                      and {Path(r["root"]).name for r in s.get("roots", [])}
                      == {"two", "three"}, "reindexed")
    res = await _search(client, query="shared helper", k=5)
    assert {h["uri"] for h in res["hits"]} == {(f / "pkg/mod.py").as_uri()
                                             for f in folders[1:]}
    assert st["vectors"] == 0


async def test_a_workspace_over_max_files_tells_the_user_once(
        start_client: StartClient, workspace: Path) -> None:
    _write(workspace)
    client = await start_client(init_options={"index": {"embedder": "none", "maxFiles": 2}})
    st = await _until(client, lambda s: s.get("files") == 2 and s["state"] == "ready",
                      "indexed up to the cap")
    assert "index.max_files" in st["notice"]
    for _ in range(50):  # the warning is sent right after the refresh
        warned = [m.message for m in client.messages
                  if m.type == types.MessageType.Warning and "max_files" in m.message]
        if warned:
            break
        await asyncio.sleep(0.1)
    assert len(warned) == 1 and "more than 2 indexable files" in warned[0]
