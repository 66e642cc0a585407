"""Escalation end to end: the real server over stdio, a real HTTP provider on loopback.

Every test that does not approve an escalation asserts the provider received nothing; the
approved ones assert it received exactly the manifest's payload, byte for byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.conftest import StartClient
from tests.fake_openai import FakeProvider

KEY = "sk-stead-test-0123456789abcdefghijKLMN"
AWS = "AKIAIOSFODNN7EXAMPLQ"
PREVIEW = "stead/escalate/preview"
SEND = "stead/escalate/send"


def options(fake: FakeProvider, workspace: Path, kind: str = "openai", **remote: Any) -> Any:
    url = fake.url if kind == "openai" else fake.base
    base = {
        "enabled": True,
        "allowedWorkspaces": [str(workspace)],
        "providers": {
            "fake": {"kind": kind, "url": url, "model": "fake-model", "apiKeyEnv": "STEAD_TEST_KEY"}
        },
    }
    base.update(remote)
    return {"remote": base}


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def files(workspace: Path) -> Path:
    (workspace / "app.py").write_text(
        "import os\n"
        f'AWS_KEY = "{AWS}"\n'
        "def handler(event):\n"
        "    return os.environ['X']\n"
        "# end\n"
    )
    (workspace / "util.py").write_text("def helper():\n    return 42\n")
    (workspace / ".env").write_text("DB_PASSWORD=hunter2hunter2\n")
    return workspace


async def start(start_client: StartClient, fake: FakeProvider, ws: Path, key: bool = True,
                **kw: Any) -> tuple[LanguageClient, list[Any]]:
    env = {"STEAD_TEST_KEY": KEY} if key else {}
    client = await start_client(init_options=options(fake, ws, **kw), env=env)
    chunks: list[Any] = []

    @client.feature("stead/escalate/chunk")
    def on_chunk(params: Any) -> None:
        chunks.append(params)

    return client, chunks


async def request(client: LanguageClient, method: str, params: Any) -> Any:
    return await client.protocol.send_request_async(method, params)


def audit(xdg: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_approved_send_is_the_manifest_byte_for_byte(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    client, chunks = await start(start_client, fake, files)
    m = await request(client, PREVIEW, {
        "question": "Why does handler fail?",
        "provider": "fake",
        "items": [{"path": "app.py", "startLine": 1, "endLine": 4}, {"path": ".env"}],
    })
    assert fake.requests == []  # a preview sends nothing
    assert [(i.path, i.start_line, i.end_line) for i in m.items] == [("app.py", 1, 4)]
    assert [(e.path, e.reason) for e in m.excluded] == [(".env", "never-send rule '.env*'")]
    assert AWS not in m.payload and "hunter2" not in m.payload
    secret = [r for r in m.redactions if r.where == "app.py:2"]
    assert len(secret) == 1
    placeholder = secret[0].placeholder
    assert placeholder in m.payload
    assert m.provider == "fake" and m.model == "fake-model" and m.reason == "user asked"
    assert m.url == fake.url + "/chat/completions"
    assert m.tokens > 10
    assert KEY not in m.payload

    fake.reply = f"Rotate {placeholder} now, then redeploy."
    result = await request(client, SEND, {"id": m.id, "dropped": []})
    assert len(fake.requests) == 1
    sent = fake.requests[0]
    assert sent.body == m.payload.encode("utf-8")  # exactly what was shown
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert result.outcome == "approved"
    assert result.text == f"Rotate {AWS} now, then redeploy."  # mapped back locally
    await asyncio.sleep(0.05)
    assert "".join(c.text for c in chunks) == result.text
    assert {c.id for c in chunks} == {m.id}

    records = audit(xdg)
    assert [r["outcome"] for r in records] == ["approved"]
    assert records[0]["manifest_sha256"] == m.sha256
    assert records[0]["payload_sha256"] == hashlib.sha256(sent.body).hexdigest()
    assert records[0]["items"] == ["app.py:1-4"]
    log_text = (Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl").read_text()
    assert KEY not in log_text and AWS not in log_text


async def test_dropped_items_never_leave(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    client, _ = await start(start_client, fake, files)
    m = await request(client, PREVIEW, {
        "question": "Explain",
        "provider": "fake",
        "items": [{"path": "app.py"}, {"path": "util.py"}],
    })
    result = await request(client, SEND, {"id": m.id, "dropped": [0]})
    assert len(fake.requests) == 1
    body = fake.requests[0].body
    assert body == result.manifest.payload.encode("utf-8")
    assert b"def helper" in body and b"handler" not in body
    assert result.outcome == "trimmed"
    records = audit(xdg)
    assert [(r["outcome"], r["items"], r["dropped"]) for r in records] == [
        ("trimmed", ["util.py:1-2"], ["app.py:1-5"])
    ]
    assert records[0]["manifest_sha256"] == result.manifest.sha256 != m.sha256


async def test_a_manifest_is_sent_once_and_unknown_ids_are_refused(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    client, _ = await start(start_client, fake, files)
    with pytest.raises(JsonRpcException, match="unknown manifest id"):
        await request(client, SEND, {"id": "made-up", "dropped": []})
    assert fake.requests == []
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake", "items": []})
    await request(client, SEND, {"id": m.id})
    with pytest.raises(JsonRpcException, match="already sent"):
        await request(client, SEND, {"id": m.id})
    assert len(fake.requests) == 1
    assert [r["outcome"] for r in audit(xdg)] == ["refused", "approved", "refused"]


async def test_declined_manifest_sends_nothing_and_cannot_be_sent_later(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    client, _ = await start(start_client, fake, files)
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake",
                                        "items": [{"path": "util.py"}]})
    result = await request(client, SEND, {"id": m.id, "approve": False})
    assert result.outcome == "refused"
    with pytest.raises(JsonRpcException, match="already declined"):
        await request(client, SEND, {"id": m.id})
    assert fake.requests == []
    records = audit(xdg)
    assert (records[0]["outcome"], records[0]["detail"]) == ("refused", "declined by the user")
    assert records[0]["manifest_sha256"] == m.sha256


async def test_misspelt_field_is_refused_and_the_manifest_stays_pending(
    start_client: StartClient, fake: FakeProvider, files: Path
) -> None:
    client, _ = await start(start_client, fake, files)
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake",
                                        "items": [{"path": "app.py"}]})
    with pytest.raises(JsonRpcException, match="droped"):
        await request(client, SEND, {"id": m.id, "droped": [0]})
    with pytest.raises(JsonRpcException, match=r"no such item"):
        await request(client, SEND, {"id": m.id, "dropped": [7]})
    assert fake.requests == []
    await request(client, SEND, {"id": m.id, "dropped": [0]})
    assert b"AWS_KEY" not in fake.requests[0].body


REFUSALS = [
    ({"enabled": False}, [], "remote escalation is disabled"),
    ({"allowedWorkspaces": []}, [], "not allowed for"),
    ({"allowedWorkspaces": ["/somewhere/else"]}, [], "not allowed for"),
    (
        {"providers": {"fake": {"kind": "openai", "url": "http://example.com/v1", "model": "m",
                                "apiKeyEnv": "STEAD_TEST_KEY"}}},
        [],
        "not https and not loopback",
    ),
    ({}, [{"path": "../outside.py"}], "outside the workspace roots"),
    ({}, [{"path": "/etc/hostname"}], "outside the workspace roots"),
    ({}, [{"path": "missing.py"}], "no such file"),
    ({}, [{"path": "app.py", "startLine": 99}], "starts at line 99"),
    ({}, [{"path": "app.py", "startLine": 3, "endLine": 2}], "bad line range"),
]


async def test_refused_previews_send_nothing(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    """One server, settings switched per case: each refusal is audited, nothing is sent."""
    client, _ = await start(start_client, fake, files)
    for n, (remote, items, message) in enumerate(REFUSALS, 1):
        opts = options(fake, files, **remote)
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"stead": opts})
        )
        with pytest.raises(JsonRpcException, match=message):
            await request(client, PREVIEW, {"question": "Q", "provider": "fake", "items": items})
        assert fake.requests == []
        assert [r["outcome"] for r in audit(xdg)] == ["refused"] * n
    with pytest.raises(JsonRpcException, match=r"unknown provider 'nope'.*configured: fake"):
        await request(client, PREVIEW, {"question": "Q", "provider": "nope"})
    with pytest.raises(JsonRpcException, match=r"unknown field.*questoin"):
        await request(client, PREVIEW, {"questoin": "Q", "provider": "fake"})
    assert fake.requests == []


async def test_missing_api_key_is_a_clear_refusal(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    client, _ = await start(start_client, fake, files, key=False)
    with pytest.raises(JsonRpcException, match=r"no API key for provider 'fake'.*STEAD_TEST_KEY"):
        await request(client, PREVIEW, {"question": "Q", "provider": "fake"})
    assert fake.requests == []
    assert [r["outcome"] for r in audit(xdg)] == ["refused"]


FAILURES = [
    ("garbage", "not a chat completion stream"),
    ("error", "HTTP 500.*failed on purpose"),
    ("drop", "stopped before the provider finished"),
    ("hang", "did not answer within 1 s"),
]


async def test_provider_failures_are_reported_and_audited(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    opts = options(fake, files)
    opts["remote"]["providers"]["fake"]["timeoutS"] = 1
    client = await start_client(init_options=opts, env={"STEAD_TEST_KEY": KEY})
    for n, (mode, message) in enumerate(FAILURES, 1):
        fake.mode = mode
        m = await request(client, PREVIEW, {"question": f"Q{n}", "provider": "fake",
                                            "items": [{"path": "util.py"}]})
        with pytest.raises(JsonRpcException, match=message):
            await request(client, SEND, {"id": m.id})
        assert fake.requests[-1].body == m.payload.encode()
        assert len(fake.requests) == n
        records = audit(xdg)
        assert [r["outcome"] for r in records[-2:]] == ["approved", "failed"]
        assert records[-1]["manifest_sha256"] == m.sha256
        assert KEY not in json.dumps(records)
    # The server is still there and still works.
    fake.mode = "ok"
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake"})
    result = await request(client, SEND, {"id": m.id})
    assert result.text == fake.reply


async def test_current_selection_of_an_unsaved_buffer(
    start_client: StartClient, fake: FakeProvider, files: Path
) -> None:
    client, _ = await start(start_client, fake, files)
    uri = (files / "util.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="python", version=1,
        text="def helper():\n    return 43  # unsaved\n\ndef other():\n    pass\n",
    )))
    m = await request(client, PREVIEW, {
        "question": "Q", "provider": "fake", "uri": uri,
        "selection": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}},
    })
    assert [(i.path, i.start_line, i.end_line) for i in m.items] == [("util.py", 1, 2)]
    assert m.items[0].text == "def helper():\n    return 43  # unsaved\n"
    assert fake.requests == []


async def test_anthropic_dialect(
    start_client: StartClient, fake: FakeProvider, files: Path
) -> None:
    client, _ = await start(start_client, fake, files, kind="anthropic")
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake",
                                        "items": [{"path": "util.py"}]})
    assert m.url == fake.base + "/v1/messages"
    result = await request(client, SEND, {"id": m.id})
    sent = fake.requests[0]
    assert sent.body == m.payload.encode()
    assert sent.headers["x-api-key"] == KEY and "Authorization" not in sent.headers
    assert result.text == fake.reply


async def test_key_never_reaches_logs_or_audit(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str],
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "server.log"
    client = await start_client(
        init_options=options(fake, files),
        env={"STEAD_TEST_KEY": KEY},
        args=("-vv", "--log-file", str(log_file)),
    )
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake",
                                        "items": [{"path": "app.py"}]})
    await request(client, SEND, {"id": m.id})
    fake.mode = "error"
    m2 = await request(client, PREVIEW, {"question": "Q", "provider": "fake"})
    with pytest.raises(JsonRpcException):
        await request(client, SEND, {"id": m2.id})
    verify = await request(client, "stead/audit/verify", {})
    assert verify.ok is True and verify.records == 3
    listed = await request(client, "stead/audit/list", {"limit": 2})
    assert [r.outcome for r in listed.records] == ["approved", "failed"]
    data = Path(xdg["XDG_DATA_HOME"])
    for path in [log_file, *data.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert log_file.stat().st_size > 0


async def test_private_history_never_leaves_and_the_send_is_kept_in_history(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    from server.history import Entry, HistoryStore

    db = Path(xdg["XDG_DATA_HOME"]) / "stead" / "history.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    with HistoryStore(db) as store:
        store.add(Entry(kind="chat", prompt="what does this read?\n    return os.environ['X']\n",
                        private=True))
        store.add(Entry(kind="chat", prompt="def handler(event):", private=False))
    client, _ = await start(start_client, fake, files)
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake",
                                        "items": [{"path": "app.py"}]})
    assert "os.environ['X']" not in m.payload
    assert "def handler(event):" in m.payload  # not private: stays
    assert [(r.kind, r.where) for r in m.redactions if r.kind == "private-history"] == [
        ("private-history", "app.py")]
    await request(client, SEND, {"id": m.id})
    assert fake.requests[0].body == m.payload.encode()
    with HistoryStore(db) as store:
        kept = [e for e in store.list(limit=10) if e.kind == "escalation"]
    assert len(kept) == 1
    assert kept[0].route == "remote:fake" and kept[0].outcome == "answered"
    assert kept[0].response == fake.reply
    assert [(f.path, f.start_line, f.end_line) for f in kept[0].files] == [("app.py", 1, 5)]
    assert AWS.encode() not in db.read_bytes() and KEY.encode() not in db.read_bytes()


async def test_cancelling_a_send_stops_it_and_is_audited(
    start_client: StartClient, fake: FakeProvider, files: Path, xdg: dict[str, str]
) -> None:
    fake.mode = "hang"
    client, _ = await start(start_client, fake, files)
    m = await request(client, PREVIEW, {"question": "Q", "provider": "fake"})
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(SEND, {"id": m.id}, msg_id="send-1")
    )
    for _ in range(500):
        if fake.requests:
            break
        await asyncio.sleep(0.02)
    assert len(fake.requests) == 1
    # while bytes may be leaving, the status bar's request says so
    status = await client.protocol.send_request_async("stead/status", {})
    assert status.route == "remote"
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="send-1"))
    with pytest.raises((JsonRpcException, asyncio.CancelledError)):
        await asyncio.wait_for(pending, 20)
    status = await client.protocol.send_request_async("stead/status", {})
    assert status.route == "local"
    for _ in range(250):
        records = audit(xdg)
        if len(records) == 2:
            break
        await asyncio.sleep(0.02)
    assert [(r["outcome"], r["detail"]) for r in records] == [
        ("approved", ""), ("failed", "cancelled by the client")]
