"""stead/selectContext over the real server (stdio): ranking, reasons, budgets, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conftest import StartClient

CONFIG_PY = '''\
import os


def load_config(path):
    """Read the TOML settings file and apply environment overrides."""
    with open(path) as fh:
        data = fh.read()
    return parse_settings(data, os.environ)


def parse_settings(text, env):
    return {"text": text, "env": dict(env)}
'''

APP_PY = '''\
from config import load_config


def main():
    cfg = load_config("app.toml")
    print(render_page(cfg))


def render_page(cfg):
    return "<html>" + str(cfg) + "</html>"
'''


#: These tests are about answering without an index: keep the background indexer off.
NO_INDEX = {"index": {"enabled": False}}


def as_dict(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {k: as_dict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_dict(v) for v in value]
    return value


async def open_doc(client: Any, path: Path, text: str) -> None:
    path.write_text(text)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
        )
    )


async def select(client: Any, **params: Any) -> dict[str, Any]:
    return as_dict(await client.protocol.send_request_async("stead/selectContext", params))  # type: ignore[no-any-return]


async def test_select_from_open_files_without_index(start_client: StartClient, workspace: Path) -> None:
    client = await start_client(init_options=NO_INDEX)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    await open_doc(client, workspace / "app.py", APP_PY)
    result = await select(client, question="Where does `load_config` read the settings file?")
    items = result["items"]
    assert items, result
    top = items[0]
    assert top["path"] == "config.py"
    assert (top["start_line"], top["end_line"]) == (4, 8)
    assert "symbol match" in top["reasons"]
    assert top["detail"] == "load_config"
    assert top["uri"] == (workspace / "config.py").as_uri()
    assert top["tokens"] > 0 and result["tokens"] <= result["budget"] == 1200
    assert any("No workspace index yet" in n for n in result["notes"])


async def test_select_with_cursor_adds_the_current_code(start_client: StartClient, workspace: Path) -> None:
    client = await start_client(init_options=NO_INDEX)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    await open_doc(client, workspace / "app.py", APP_PY)
    result = await select(
        client,
        question="what does this do?",
        uri=(workspace / "app.py").as_uri(),
        position={"line": 4, "character": 8},
    )
    reasons = {(i["path"], r) for i in result["items"] for r in i["reasons"]}
    assert ("app.py", "current file") in reasons
    # `load_config` is used at the cursor: its definition comes along
    assert ("config.py", "symbol match") in reasons


async def test_small_budget_cuts_and_says_so(start_client: StartClient, workspace: Path) -> None:
    client = await start_client(init_options=NO_INDEX)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    await open_doc(client, workspace / "app.py", APP_PY)
    result = await select(client, question="load_config parse_settings render_page main", budget=30)
    assert result["tokens"] <= 30
    assert result["cut"] is True
    assert any("Context was cut" in n for n in result["notes"])
    assert any(d["why"] == "over budget" for d in result["dropped"])


async def test_recent_edits_are_offered(start_client: StartClient, workspace: Path) -> None:
    client = await start_client(init_options=NO_INDEX)
    await open_doc(client, workspace / "app.py", APP_PY)
    notes = workspace / "notes.py"
    await open_doc(client, notes, "x = 1\n")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=notes.as_uri(), version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(1, 0), types.Position(1, 0)),
                    text="def freshly_written():\n    return 42\n",
                )
            ],
        )
    )
    result = await select(client, question="zzz unrelated words")
    recent = [i for i in result["items"] if "recent edit" in i["reasons"]]
    assert recent and recent[0]["path"] == "notes.py"
    assert recent[0]["start_line"] == 1


BAD_SELECT = [
    ({"question": ""}, "question is empty"),
    ({"question": "   \n"}, "question is empty"),
    ({}, "invalid params"),
    ({"question": "x", "budget": -5}, "budget"),
    ({"question": 42}, "must be a string"),
    ({"question": "x", "position": {"line": "two"}}, "invalid params"),
]


async def test_bad_input_gets_a_clear_error(start_client: StartClient) -> None:
    client = await start_client(init_options=NO_INDEX)  # one server for the whole table
    for params, message in BAD_SELECT:
        with pytest.raises(JsonRpcException) as err:
            await client.protocol.send_request_async("stead/selectContext", params)
        assert message in str(err.value), params
        # the server is still alive and answers
        ok = await select(client, question="still there?")
        assert ok["budget"] == 1200


async def test_huge_question_is_handled(start_client: StartClient, workspace: Path) -> None:
    client = await start_client(init_options=NO_INDEX)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    question = "load_config " + "x" * 100_000
    result = await select(client, question=question)
    assert result["tokens"] <= result["budget"]
    assert result["items"][0]["path"] == "config.py"


async def test_select_uses_the_index_once_built(start_client: StartClient, workspace: Path) -> None:
    import asyncio

    (workspace / "config.py").write_text(CONFIG_PY)
    (workspace / "app.py").write_text(APP_PY)
    client = await start_client(init_options={"index": {"embedder": "none"}})
    for _ in range(300):  # the server indexes in the background after start-up
        status = as_dict(await client.protocol.send_request_async("stead/indexStatus", {}))
        if status.get("files") == 2 and status.get("chunks", 0) >= 2:  # both files are in
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"index not built: {status}")
    result = await select(client, question="how is the page rendered from the settings?")
    assert not any("No workspace index" in n for n in result["notes"])
    reasons = {(i["path"], r) for i in result["items"] for r in i["reasons"]}
    assert ("app.py", "full-text") in reasons
    named = await select(client, question="what does parse_settings return?")
    assert named["items"][0]["path"] == "config.py"
    assert "symbol match" in named["items"][0]["reasons"]
