"""Inline and classic completion through the real server, gpt4all and a tiny real GGUF."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.conftest import StartClient

try:
    from tinymodel import DEFAULT_OUTPUT, build_tiny_gguf
except ImportError:  # pragma: no cover
    from tests.tinymodel import DEFAULT_OUTPUT, build_tiny_gguf

URI_NAME = "calc.py"
SOURCE = "def add(a, b):\n    \n\nprint(add(1, 2))\n"


def opts(model: Path, **completion: object) -> dict[str, object]:
    # the workspace index is not under test here: keep its background work out
    return {"model": {"path": str(model), "nThreads": 1}, "completion": completion,
            "index": {"enabled": False}}


async def open_doc(client, workspace: Path, text: str = SOURCE, name: str = URI_NAME) -> str:
    path = workspace / name
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    return uri


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(line, character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


async def test_inline_completion_from_tiny_model(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    client = await start_client(init_options=opts(tiny_model))
    caps = client.initialize_result.capabilities  # type: ignore[attr-defined]
    assert caps.inline_completion_provider is not None
    uri = await open_doc(client, workspace)
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert result is not None
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert [i.insert_text for i in items] == [DEFAULT_OUTPUT]
    assert items[0].range == types.Range(types.Position(1, 4), types.Position(1, 4))


async def test_classic_completion_same_engine(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    client = await start_client(init_options=opts(tiny_model))
    uri = await open_doc(client, workspace, "def add(a, b):\n    ret\n")
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(1, 7))
    )
    assert isinstance(result, types.CompletionList)
    (item,) = result.items
    assert item.text_edit is not None
    # the word before the cursor is part of the edit, so editors filter on it
    assert item.text_edit.new_text == "ret" + DEFAULT_OUTPUT
    assert item.text_edit.range.start == types.Position(1, 4)


@pytest.mark.parametrize(
    ("text", "line", "character"),
    [
        (SOURCE, 99, 0),  # line past the end
        (SOURCE, 1, 999),  # column past the end of the line
        (SOURCE, 1, 5),  # one past the end of "    "
        ("", 0, 0),  # empty file
    ],
)
async def test_bad_positions_give_empty_results(
    start_client: StartClient, workspace: Path, tiny_model: Path, text: str, line: int,
    character: int,
) -> None:
    client = await start_client(init_options=opts(tiny_model))
    uri = await open_doc(client, workspace, text)
    result = await client.text_document_inline_completion_async(
        inline_params(uri, line, character)
    )
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert not items
    # the server is still alive and serving
    ok = await client.text_document_inline_completion_async(inline_params(uri, 0, 0))
    assert ok is not None


async def test_unopened_document_and_huge_line(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    client = await start_client(init_options=opts(tiny_model))
    never = (workspace / "never.py").as_uri()
    result = await client.text_document_inline_completion_async(inline_params(never, 0, 0))
    assert result is not None and not result.items  # type: ignore[union-attr]
    big = "x = '" + "a" * 10_000_000 + "'\n"
    uri = await open_doc(client, workspace, big, "big.py")
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 0))
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert [i.insert_text for i in items] == [DEFAULT_OUTPUT]


async def test_model_errors_give_empty_results(
    start_client: StartClient, workspace: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 7)  # truncated header
    client = await start_client(
        init_options={"model": {"path": str(broken)}, "index": {"enabled": False}}
    )
    uri = await open_doc(client, workspace)
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert result is not None and not result.items  # type: ignore[union-attr]


async def test_model_that_never_stops_is_cut_by_the_rules(
    start_client: StartClient, workspace: Path, tmp_path: Path
) -> None:
    looping = build_tiny_gguf(tmp_path / "loop.gguf", end="loop")
    client = await start_client(init_options=opts(looping, maxTokens=2048, multiline="always"))
    uri = await open_doc(client, workspace, "def f():\n    \n")
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    # "return a + b" repeats without end: max tokens and the timeout bound it
    (item,) = items
    assert item.insert_text.startswith("return a + breturn a + b")


async def _endless_xy(start_client: StartClient, workspace: Path, tmp_path: Path, *,
                     timeout_s: int, n_ctx: int, max_tokens: int) -> tuple[Any, str]:
    """A server on a model that writes "x y" without end, and an open document."""
    looping = build_tiny_gguf(tmp_path / "loop.gguf", pieces=("x", "▁y"), end="loop")
    client = await start_client(
        init_options={
            "model": {"path": str(looping), "nThreads": 1, "timeoutS": timeout_s,
                      "nCtx": n_ctx},
            "completion": {"maxTokens": max_tokens, "multiline": "always"},
            "index": {"enabled": False},
        }
    )
    return client, await open_doc(client, workspace, "z = 1\n")


async def test_newer_request_cancels_older(
    start_client: StartClient, workspace: Path, tmp_path: Path
) -> None:
    client, uri = await _endless_xy(start_client, workspace, tmp_path, timeout_s=30,
                                    n_ctx=2048, max_tokens=1000)
    first = asyncio.ensure_future(
        client.text_document_inline_completion_async(inline_params(uri, 1, 0))
    )
    await asyncio.sleep(0.05)
    second = await client.text_document_inline_completion_async(inline_params(uri, 0, 5))
    older = await first
    # the older request was cancelled by the newer one: it shows nothing
    assert older is not None and not older.items  # type: ignore[union-attr]
    assert second is not None and second.items  # type: ignore[union-attr]
    assert second.items[0].insert_text.startswith("x yx y")  # type: ignore[union-attr]


async def test_completions_are_kept_in_history_with_their_outcome(
    start_client: StartClient, workspace: Path, tiny_model: Path, xdg: dict[str, str]
) -> None:
    from server.history import HistoryStore
    from server.paths import dirs

    client = await start_client(init_options=opts(tiny_model))
    uri = await open_doc(client, workspace)
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert [i.insert_text for i in result.items] == [DEFAULT_OUTPUT]  # type: ignore[union-attr]
    client.protocol.notify(
        "stead/completion/accepted", {"uri": uri, "text": DEFAULT_OUTPUT, "line": 1,
                                      "character": 4}
    )
    client.protocol.notify("stead/completion/rejected", {"bogus": [1, 2]})  # ignored
    # a request after the notifications: the server has handled them and is alive
    await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    await client.shutdown_session()
    with HistoryStore(dirs().history_db) as store:
        entries = [e for e in store.list(limit=10) if e.kind == "completion"]
    assert entries, "no completion entry was recorded"
    first = entries[-1]
    assert first.response == DEFAULT_OUTPUT and first.route == "local"
    assert first.model == "stead-tiny" and first.completion_tokens == 4
    assert first.outcome == "accepted"
    assert "def add(a, b):" in first.prompt


async def test_cancel_request_stops_a_running_completion(
    start_client: StartClient, workspace: Path, tmp_path: Path
) -> None:
    """`$/cancelRequest` from the client ends generation: nothing of it is shown."""
    client, uri = await _endless_xy(start_client, workspace, tmp_path, timeout_s=60,
                                    n_ctx=4096, max_tokens=2000)
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 1, 0), msg_id="cancel-me"
        )
    )
    await asyncio.sleep(0.3)
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="cancel-me"))
    try:
        result = await asyncio.wait_for(pending, 120)
    except Exception as exc:  # a RequestCancelled error is a fine answer too
        assert "cancel" in str(exc).lower() or "-32800" in str(exc)
    else:
        # without the cancel this model writes 2,000 tokens of "x y"
        assert result is None or not result.items, result
    # the model is free again for the next request
    again = await client.text_document_inline_completion_async(inline_params(uri, 0, 5))
    assert again is not None


async def _model_loaded(client) -> bool:  # type: ignore[no-untyped-def]
    from server import protocol

    st = protocol._plain(await client.protocol.send_request_async(protocol.STATUS, {}))
    return bool(st["model_loaded"])


async def test_model_preloads_when_the_first_document_opens(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    client = await start_client(init_options=opts(tiny_model))
    assert not await _model_loaded(client)  # nothing loads before a document is open
    await open_doc(client, workspace)
    for _ in range(200):  # bounded wait for the background load, no completion asked
        if await _model_loaded(client):
            break
        await asyncio.sleep(0.05)
    assert await _model_loaded(client)


async def test_no_preload_when_turned_off_or_not_installed(
    start_client: StartClient, workspace: Path, tiny_model: Path
) -> None:
    off = await start_client(init_options={**opts(tiny_model), "model": {
        "path": str(tiny_model), "nThreads": 1, "preload": False}})
    # the default model by name, not installed in this fresh data dir: never installed here
    absent = await start_client(init_options={"index": {"enabled": False}})
    for client in (off, absent):
        await open_doc(client, workspace)
    await asyncio.sleep(1.0)
    assert not await _model_loaded(off) and not await _model_loaded(absent)
    from server.paths import dirs

    assert not (dirs().data / "models").exists() or not any((dirs().data / "models").iterdir())
