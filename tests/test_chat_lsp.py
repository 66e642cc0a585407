"""stead/chat over the real server with the real gpt4all backend and a tiny GGUF."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conftest import StartClient
from tests.test_context_lsp import CONFIG_PY, as_dict, open_doc

TINY_OUTPUT = "return a + b"


async def chat_client(start_client: StartClient, tiny_model: Path, **model: Any) -> Any:
    client = await start_client(
        init_options={"model": {"path": str(tiny_model), **model}, "index": {"enabled": False}}
    )
    chunks: list[dict[str, Any]] = []

    @client.feature("stead/chat/chunk")
    def on_chunk(params: Any) -> None:
        chunks.append({**as_dict(params), "arrived": time.monotonic()})

    client.chunks = chunks
    return client


async def ask(client: Any, **params: Any) -> dict[str, Any]:
    return as_dict(await client.protocol.send_request_async("stead/chat", params))  # type: ignore[no-any-return]


async def test_chat_answers_streams_and_shows_the_manifest(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    client = await chat_client(start_client, tiny_model)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    result = await ask(client, question="How does `load_config` work?", token="t-1")
    assert result["answer"].startswith(TINY_OUTPUT)
    assert result["route"] == "local"
    assert result["model"]
    assert result["prompt_tokens"] > 0 and result["completion_tokens"] > 0
    manifest = result["manifest"]
    assert manifest["items"][0]["path"] == "config.py"
    assert "symbol match" in manifest["items"][0]["reasons"]
    # no index yet: the answer says where its context came from
    assert "No workspace index yet" in result["answer"]
    # the stream carried the same answer, in order, tagged with the request's token
    streamed = "".join(c["text"] for c in sorted(client.chunks, key=lambda c: c["index"]))
    assert streamed == result["answer"]
    assert {c["token"] for c in client.chunks} == {"t-1"}
    assert {c["conversation_id"] for c in client.chunks} == {result["conversation_id"]}


async def test_follow_up_turns_see_the_conversation(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    client = await chat_client(start_client, tiny_model)
    first = await ask(client, question="first question about parse_settings")
    cid = first["conversation_id"]
    second = await ask(client, question="and the follow-up?", conversationId=cid)
    assert second["conversation_id"] == cid
    turns = as_dict(await client.protocol.send_request_async("stead/chat/history", {"conversationId": cid}))
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0]["content"] == "first question about parse_settings"
    assert turns[1]["content"].startswith(TINY_OUTPUT)
    assert turns[0]["manifest"]["budget"] > 0
    convs = as_dict(await client.protocol.send_request_async("stead/chat/conversations", {}))
    assert convs[0]["id"] == cid and convs[0]["turns"] == 2
    # a follow-up's prompt holds the earlier turn: more prompt tokens than a fresh question
    fresh = await ask(client, question="and the follow-up?")
    assert second["prompt_tokens"] > fresh["prompt_tokens"]
    deleted = as_dict(await client.protocol.send_request_async("stead/chat/delete", {"conversationId": cid}))
    assert deleted == {"deleted": True}


async def test_context_cut_is_said_in_the_answer(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    client = await chat_client(start_client, tiny_model)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    result = await ask(client, question="load_config parse_settings", budget=20)
    assert result["manifest"]["cut"] is True
    assert "Context was cut" in result["answer"]
    assert result["manifest"]["tokens"] <= 20


async def test_huge_question_is_cut_and_answered(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    client = await chat_client(start_client, tiny_model)
    result = await ask(client, question="why? " + "trace line\n" * 10_000)  # 110,005 characters
    assert result["answer"].startswith(TINY_OUTPUT)
    assert "question was cut" in result["answer"]
    assert result["prompt_tokens"] <= 2048


async def test_missing_model_gives_the_fix(start_client: StartClient, tmp_path: Path) -> None:
    client = await start_client(
        init_options={"model": {"path": str(tmp_path / "nope.gguf")}, "index": {"enabled": False}}
    )
    with pytest.raises(JsonRpcException) as err:
        await ask(client, question="hello?")
    assert "nope.gguf" in str(err.value)
    # the server survives and still selects context
    ok = as_dict(await client.protocol.send_request_async("stead/selectContext", {"question": "hi"}))
    assert ok["budget"] == 1200


BAD_CHAT = [
    ({"question": ""}, "question is empty"),
    ({"question": "hi", "conversationId": "../../etc/passwd"}, "invalid conversation id"),
    ({"question": ["a"]}, "must be a string"),
    ({"question": "hi", "maxTokens": "many"}, "invalid params"),
]


async def test_chat_bad_input(start_client: StartClient, tiny_model: Path) -> None:
    client = await chat_client(start_client, tiny_model)  # one server for the whole table
    for params, message in BAD_CHAT:
        with pytest.raises(JsonRpcException) as err:
            await ask(client, **params)
        assert message in str(err.value), params
    assert (await ask(client, question="still fine?"))["answer"].startswith(TINY_OUTPUT)


async def test_selection_is_always_in_context(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    client = await chat_client(start_client, tiny_model)
    path = workspace / "config.py"
    await open_doc(client, path, CONFIG_PY)
    result = await ask(
        client,
        question="explain",
        uri=path.as_uri(),
        position={"line": 10, "character": 0},
        selection="def parse_settings(text, env):\n",
    )
    first = result["manifest"]["items"][0]
    assert first["reasons"] == ["selected by the user"]
    assert (first["start_line"], first["end_line"]) == (11, 11)
    assert types  # lsprotocol import kept for type clarity in helpers


async def test_cancelling_stops_the_answer_and_keeps_the_server(
    start_client: StartClient, tmp_path: Path, tiny_model: Path
) -> None:
    import asyncio

    from lsprotocol import types as lsp

    from tests.tinymodel import build_tiny_gguf

    # an endless answer whose period (150 words) is longer than the loop guard looks back
    words = tuple(f"▁w{i}" for i in range(150))
    looping = build_tiny_gguf(tmp_path / "loop.gguf", pieces=words, end="loop", context_length=32768)
    client = await start_client(
        init_options={
            "model": {"path": str(looping), "nCtx": 32768, "timeoutS": 120},
            "chat": {"maxTokens": 16000},
            "index": {"enabled": False},
        }
    )
    chunks: list[Any] = []

    @client.feature("stead/chat/chunk")
    def on_chunk(params: Any) -> None:
        chunks.append(params)

    request = asyncio.ensure_future(
        client.protocol.send_request_async("stead/chat", {"question": "go on forever"}, msg_id="chat-1")
    )
    for _ in range(600):
        if chunks:
            break
        await asyncio.sleep(0.02)
    assert chunks, "the answer never started streaming"
    client.protocol.notify("$/cancelRequest", lsp.CancelParams(id="chat-1"))
    with pytest.raises((JsonRpcException, asyncio.CancelledError)):
        await asyncio.wait_for(request, 60)
    cid = as_dict(chunks[0])["conversation_id"]
    for _ in range(600):  # the turn is still recorded, marked as cancelled
        turns = as_dict(await client.protocol.send_request_async("stead/chat/history", {"conversationId": cid}))
        if len(turns) == 2:
            break
        await asyncio.sleep(0.05)
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert "The answer was cancelled." in turns[0]["manifest"]["notes"]
    assert len(turns[1]["content"]) < 16000 * 3
    # the server still answers
    ok = as_dict(await client.protocol.send_request_async("stead/selectContext", {"question": "hi"}))
    assert ok["budget"] == 1200


async def test_context_that_overflows_the_model_is_planned_again(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    """The tiny model spends a token per byte, far more than the estimate: the context
    that fitted the estimate does not fit the model, and the turn is planned again."""
    client = await chat_client(start_client, tiny_model)
    big = "".join(
        f"def load_config_{i}(path):\n    data = read_settings(path, {i})\n    return data\n\n\n"
        for i in range(200)
    )
    await open_doc(client, workspace / "many.py", big)
    result = await ask(client, question="how do the load_config functions read settings?")
    assert result["answer"].startswith(TINY_OUTPUT)
    assert result["manifest"]["items"], "some context still fits"
    assert result["prompt_tokens"] <= 2048


async def endless_client(start_client: StartClient, tmp_path: Path) -> Any:
    """A tiny model that never stops: it writes one code line over and over."""
    from tests.tinymodel import build_tiny_gguf

    model = build_tiny_gguf(
        tmp_path / "endless.gguf", pieces=("return", "▁a", "▁+", "▁b", "<0x0A>"), end="loop"
    )
    return await chat_client(start_client, model)


async def test_streaming_delivers_partial_text_before_the_answer(
    start_client: StartClient, tmp_path: Path
) -> None:
    client = await endless_client(start_client, tmp_path)
    result = await ask(client, question="write it", token="s-1", maxTokens=400)
    done = time.monotonic()
    chunks = sorted(client.chunks, key=lambda c: c["index"])
    assert len(chunks) >= 2
    assert chunks[0]["arrived"] < done
    # the first piece is a proper beginning of the answer, not the whole of it
    assert result["answer"].startswith(chunks[0]["text"])
    assert len(chunks[0]["text"]) < len(result["answer"])
    assert "".join(c["text"] for c in chunks) == result["answer"]


async def test_an_answer_that_loops_is_stopped_and_says_so(
    start_client: StartClient, tmp_path: Path
) -> None:
    client = await endless_client(start_client, tmp_path)
    result = await ask(client, question="write it", maxTokens=400)
    assert result["stop_reason"] == "loop"
    assert result["completion_tokens"] < 400
    assert "started repeating itself" in result["answer"]
    assert result["answer"].split("\n\nNote:")[0].count("return a + b") <= 4
    assert result["timings"]["first_token"] > 0 and result["timings"]["total"] >= result["timings"]["first_token"]
    assert "context budget" in result["manifest"]["budget_why"]


async def test_an_answer_cut_at_the_token_cap_says_so(
    start_client: StartClient, tmp_path: Path
) -> None:
    client = await endless_client(start_client, tmp_path)
    result = await ask(client, question="write it", maxTokens=6)
    assert result["stop_reason"] == "max_tokens"
    assert "stopped at the 6-token limit" in result["answer"]


async def test_a_follow_up_keeps_the_earlier_context_first_and_reuses_the_read_prompt(
    start_client: StartClient, tiny_model: Path, workspace: Path
) -> None:
    client = await chat_client(start_client, tiny_model)
    await open_doc(client, workspace / "config.py", CONFIG_PY)
    first = await ask(client, question="How does `load_config` work?")
    second = await ask(client, question="and parse_settings?", conversationId=first["conversation_id"])
    before = [(i["path"], i["start_line"], i["end_line"]) for i in first["manifest"]["items"]]
    after = [(i["path"], i["start_line"], i["end_line"]) for i in second["manifest"]["items"]]
    assert before and after[: len(before)] == before
    assert all(i["detail"] == "earlier in this conversation" for i in second["manifest"]["items"][: len(before)])
    # the prompt begins as the last one did: the model reads only what is new
    assert second["timings"]["reused_tokens"] > 0
