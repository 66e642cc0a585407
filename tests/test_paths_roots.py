"""One roots rule for every method that takes a URI or path (server.paths.in_roots), as a
table, and over the real server: selectContext, chat's context, index and escalation refuse
what lies outside with the same error; a document the client opened is allowed and marked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from server.paths import InRoots, OutsideRoots, in_roots
from tests.conftest import StartClient


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("x = 1\n")
    (ws / "my file.py").write_text("y = 2\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "lib.py").write_text("z = 3\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s3cret\n")
    (ws / "escape.py").symlink_to(outside / "secret.txt")
    (ws / "escape_dir").symlink_to(outside)
    (ws / "inner_link.py").symlink_to(ws / "src" / "app.py")
    (tmp_path / "into_ws.py").symlink_to(ws / "src" / "app.py")
    (tmp_path / "ws_link").symlink_to(ws)
    return {"ws": ws, "other": other, "outside": outside, "tmp": tmp_path}


# (raw, roots, opened, expected): expected is (real relative to tmp, rel, opened) or an error
CASES: list[tuple[str, list[str], list[str], Any]] = [
    ("src/app.py", ["ws"], [], ("ws/src/app.py", "src/app.py", False)),
    ("{tmp}/ws/src/app.py", ["ws"], [], ("ws/src/app.py", "src/app.py", False)),
    ("file://{tmp}/ws/src/app.py", ["ws"], [], ("ws/src/app.py", "src/app.py", False)),
    ("file://{tmp}/ws/my%20file.py", ["ws"], [], ("ws/my file.py", "my file.py", False)),
    ("src/../src/app.py", ["ws"], [], ("ws/src/app.py", "src/app.py", False)),
    ("src/new.py", ["ws"], [], ("ws/src/new.py", "src/new.py", False)),  # not there yet
    ("lib.py", ["ws", "other"], [], ("other/lib.py", "lib.py", False)),  # second root
    ("inner_link.py", ["ws"], [], ("ws/src/app.py", "inner_link.py", False)),
    ("{tmp}/into_ws.py", ["ws"], [], ("ws/src/app.py", "src/app.py", False)),  # real path in
    ("src/app.py", ["ws_link"], [], ("ws/src/app.py", "src/app.py", False)),  # root a link
    ("{tmp}/ws_link/src/app.py", ["ws"], [], ("ws/src/app.py", "src/app.py", False)),
    ("../outside/secret.txt", ["ws"], [], "outside the workspace roots"),
    ("{tmp}/outside/secret.txt", ["ws"], [], "outside the workspace roots"),
    ("file:///etc/hostname", ["ws"], [], "outside the workspace roots"),
    ("/etc/passwd", ["ws"], [], "outside the workspace roots"),
    ("file://{tmp}/ws/../outside/secret.txt", ["ws"], [], "outside the workspace roots"),
    ("escape.py", ["ws"], [], "resolves outside the workspace roots"),
    ("escape_dir/secret.txt", ["ws"], [], "resolves outside the workspace roots"),
    ("{tmp}/ws/escape.py", ["ws"], [], "resolves outside the workspace roots"),
    ("src/app.py", [], [], "no workspace root is open"),
    ("", ["ws"], [], "not a file path"),
    ("src/app.py\x00", ["ws"], [], "not a file path"),
    ("untitled:Untitled-1", ["ws"], [], "not a file: URI"),
    ("https://example.com/x.py", ["ws"], [], "not a file: URI"),
    # documents the client opened itself: allowed wherever they are, and said so
    ("file://{tmp}/outside/secret.txt", ["ws"], ["file://{tmp}/outside/secret.txt"],
     ("outside/secret.txt", "{tmp}/outside/secret.txt", True)),
    ("{tmp}/outside/secret.txt", [], ["{tmp}/outside/secret.txt"],
     ("outside/secret.txt", "{tmp}/outside/secret.txt", True)),
    ("untitled:Untitled-1", ["ws"], ["untitled:Untitled-1"], (None, "untitled:Untitled-1", True)),
    # opening one file does not open its neighbours
    ("{tmp}/outside/other.txt", ["ws"], ["{tmp}/outside/secret.txt"],
     "outside the workspace roots"),
]


@pytest.mark.parametrize(("raw", "roots", "opened", "expected"), CASES)
def test_in_roots(tree: dict[str, Path], raw: str, roots: list[str], opened: list[str],
                  expected: Any) -> None:
    tmp = tree["tmp"]
    fill = lambda s: s.replace("{tmp}", str(tmp))  # noqa: E731
    root_paths = [tmp / r for r in roots]
    if isinstance(expected, str):
        with pytest.raises(OutsideRoots) as err:
            in_roots(fill(raw), root_paths, {fill(o) for o in opened})
        assert expected in str(err.value)
        assert str(err.value).endswith("; refused")
        return
    got = in_roots(fill(raw), root_paths, {fill(o) for o in opened})
    assert isinstance(got, InRoots)
    real, rel, was_opened = expected
    if real is not None:
        assert got.real == (tmp / real).resolve() if not was_opened else tmp / real
    assert got.rel == fill(rel)
    assert got.opened_by_client is was_opened
    assert (got.root is None) is was_opened


# -- over the real server ----------------------------------------------------------------
NO_INDEX = {"index": {"enabled": False}}


def plain(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def refused(client: Any, method: str, params: dict[str, Any]) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as err:
        await client.protocol.send_request_async(method, params)
    return err.value


async def test_select_context_refuses_unopened_files_outside_and_marks_opened_ones(
    start_client: StartClient, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "app.py").write_text("def load_config():\n    return 1\n")
    outside = tmp_path / "notes"
    outside.mkdir()
    secret = outside / "loader.py"
    secret.write_text("def load_config():\n    return 'from outside'\n")
    client = await start_client(init_options=NO_INDEX)
    for uri in ("file:///etc/hostname", secret.as_uri(), (workspace / "../notes/loader.py").as_posix()):
        exc = await refused(client, "stead/selectContext", {"question": "load_config?", "uri": uri})
        assert exc.code == -32803
        assert "outside the workspace roots; refused" in str(exc.message)
    exc = await refused(client, "stead/chat", {"question": "what?", "uri": "file:///etc/hostname"})
    assert "outside the workspace roots; refused" in str(exc.message)

    # the user opens it: now it is theirs to ask about, and the manifest says so
    text = secret.read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=secret.as_uri(), language_id="python", version=1, text=text)))
    result = plain(await client.protocol.send_request_async(
        "stead/selectContext",
        {"question": "where is load_config?", "uri": secret.as_uri(),
         "position": {"line": 1, "character": 0}}))
    items = [i for i in result["items"] if i["path"] == str(secret)]
    assert items, result
    assert all("opened by you" in i["reasons"] for i in items)
    assert all("opened by you" not in i["reasons"] for i in result["items"]
               if i["path"] != str(secret))


async def test_index_names_the_paths_it_refuses(
    start_client: StartClient, workspace: Path
) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    client = await start_client()
    for _ in range(100):
        status = plain(await client.protocol.send_request_async("stead/indexStatus", {}))
        if status["state"] not in ("off", "starting"):
            break
        await asyncio.sleep(0.1)
    exc = await refused(client, "stead/index", {"paths": ["a.py", "/etc/passwd"]})
    assert exc.code == -32803
    assert "/etc/passwd: outside the workspace roots; refused" in str(exc.message)
    ok = plain(await client.protocol.send_request_async("stead/index", {"paths": ["a.py"]}))
    assert ok["started"] is True
