"""Providers against the loopback fake, the streaming parser, keys, and the flow's guards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.egress import keys, payload, providers
from server.egress.audit import AuditLog
from server.egress.flow import EgressRefused, Escalations, Restorer
from server.egress.manifest import Item
from server.redact import Placeholders, redact
from server.settings import ProviderSettings, load
from tests.fake_openai import FakeProvider

KEY = "sk-provider-test-key-1234567890"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(reply="alpha beta gamma", chunk_chars=3) as provider:
        yield provider


def run_stream(kind: str, url: str, body: bytes, timeout: float = 5.0) -> tuple[Any, list[str]]:
    pieces: list[str] = []
    answer = asyncio.run(providers.stream(kind, url, body, KEY, timeout, pieces.append))
    return answer, pieces


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [True, False])
def test_both_dialects_stream_or_not(fake: FakeProvider, kind: str, stream: bool) -> None:
    url = fake.url + "/chat/completions" if kind == "openai" else fake.base + "/v1/messages"
    body = payload.body(kind, "m", "hi", 10, stream=stream)
    answer, pieces = run_stream(kind, url, body)
    assert answer.text == "alpha beta gamma" == "".join(pieces)
    assert len(pieces) == (6 if stream else 1)
    assert fake.requests[0].body == body
    assert answer.finish_reason in ("stop", "end_turn")


@pytest.mark.parametrize(
    ("kind", "lines", "expected", "done"),
    [
        ("openai", ['data: {"choices":[{"delta":{"content":"a"}}]}', "", "data: [DONE]"], ["a"],
         True),
        ("openai", [": keep-alive", 'data: {"choices":[{"delta":{}}]}'], [], False),
        ("openai", ['data: {"choices":[]}'], [], False),
        ("anthropic", ["event: content_block_delta",
                       'data: {"type":"content_block_delta","delta":{"text":"b"}}',
                       'data: {"type":"message_stop"}'], ["b"], True),
        ("openai", ["<html>", "data: not json"], [], False),
    ],
)
def test_sse_parser(kind: str, lines: list[str], expected: list[str], done: bool) -> None:
    parser = providers._Parser(kind)
    out = [p for line in lines if (p := parser.line(line))]
    assert out == expected and parser.done is done


def test_error_events_and_statuses_become_sentences() -> None:
    parser = providers._Parser("anthropic")
    with pytest.raises(providers.ProviderError, match="overloaded"):
        parser.line('data: {"type":"error","error":{"type":"x","message":"overloaded"}}')
    assert "the API key was rejected" in providers._error_text(401, b'{"error":{"message":"no"}}')
    assert "rate limited" in providers._error_text(429, b"slow down")


def test_unreachable_provider(tmp_path: Path) -> None:
    with pytest.raises(providers.ProviderError, match="cannot reach the provider"):
        run_stream("openai", "http://127.0.0.1:9/v1/chat/completions", b"{}", timeout=2)


def test_scrub_removes_the_key() -> None:
    assert keys.scrub(f"bad key {KEY}!", KEY) == "bad key [api key]!"
    assert keys.scrub("nothing", None) == "nothing"


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = ProviderSettings(api_key_env="STEAD_UNIT_KEY")
    monkeypatch.delenv("STEAD_UNIT_KEY", raising=False)
    assert keys.find("p", ps) is None  # keyring is not installed here
    monkeypatch.setenv("STEAD_UNIT_KEY", "   ")
    assert keys.find("p", ps) is None
    monkeypatch.setenv("STEAD_UNIT_KEY", " k-123 ")
    assert keys.find("p", ps) == "k-123"
    assert "STEAD_UNIT_KEY" in keys.missing_message("p", ps)


def _placeholders() -> tuple[Placeholders, str]:
    ph = Placeholders()
    red = redact("key AKIAIOSFODNN7EXAMPLQ", ph)
    return ph, red.findings[0].placeholder


@pytest.mark.parametrize("cut", [1, 3, 5, 8, 12, 15, 20])
def test_restorer_never_splits_a_placeholder(cut: int) -> None:
    ph, token = _placeholders()
    answer = f"Rotate {token} today.\nThen {token}"
    restorer = Restorer(ph)
    out = "".join(restorer.feed(answer[i : i + cut]) for i in range(0, len(answer), cut))
    out += restorer.end()
    assert out == "Rotate AKIAIOSFODNN7EXAMPLQ today.\nThen AKIAIOSFODNN7EXAMPLQ"


# -- the flow's guards, in process --------------------------------------------------------
def settings(fake: FakeProvider, ws: Path, **remote: Any) -> Any:
    base = {"enabled": True, "allowed_workspaces": [str(ws)],
            "providers": {"f": {"url": fake.url, "model": "m", "api_key_env": "STEAD_UNIT_KEY"}}}
    base.update(remote)
    return load({"remote": base}).settings


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STEAD_UNIT_KEY", KEY)
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("print('a')\n")
    return root


def test_settings_changed_after_preview_are_honoured(fake: FakeProvider, ws: Path,
                                                     tmp_path: Path) -> None:
    esc = Escalations(AuditLog(tmp_path / "audit.jsonl"))
    m = esc.preview("Q", [Item("a.py")], settings(fake, ws), provider="f", roots=[ws])
    with pytest.raises(EgressRefused, match="disabled"):
        asyncio.run(esc.send(m.id, [], settings(fake, ws, enabled=False), lambda t: None))
    assert fake.requests == []
    assert [r["outcome"] for r in esc.audit.records()] == ["refused"]


def test_a_provider_reconfigured_after_the_preview_is_refused(
    fake: FakeProvider, ws: Path, tmp_path: Path
) -> None:
    esc = Escalations(AuditLog(tmp_path / "audit.jsonl"))
    m = esc.preview("Q", [], settings(fake, ws), provider="f", roots=[ws])
    moved = settings(fake, ws, providers={"f": {"url": "https://elsewhere.example/v1",
                                                "model": "m", "api_key_env": "STEAD_UNIT_KEY"}})
    with pytest.raises(EgressRefused, match="reconfigured after the preview"):
        asyncio.run(esc.send(m.id, [], moved, lambda t: None))
    assert fake.requests == []


def test_expired_manifests_are_refused(fake: FakeProvider, ws: Path, tmp_path: Path) -> None:
    now = [0.0]
    esc = Escalations(AuditLog(tmp_path / "audit.jsonl"), ttl_s=60, clock=lambda: now[0])
    m = esc.preview("Q", [], settings(fake, ws), provider="f", roots=[ws])
    now[0] = 61.0
    with pytest.raises(EgressRefused, match="expired"):
        asyncio.run(esc.send(m.id, [], settings(fake, ws), lambda t: None))
    assert fake.requests == []


def test_no_audit_no_send(fake: FakeProvider, ws: Path, tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    esc = Escalations(log)
    m = esc.preview("Q", [], settings(fake, ws), provider="f", roots=[ws])
    log.append("refused", provider="f")
    log.path.write_text("")  # the chain's tail no longer matches its head
    with pytest.raises(EgressRefused, match="cannot write the audit log"):
        asyncio.run(esc.send(m.id, [], settings(fake, ws), lambda t: None))
    assert fake.requests == []


def test_key_is_read_at_send_time(fake: FakeProvider, ws: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    esc = Escalations(AuditLog(tmp_path / "audit.jsonl"))
    m = esc.preview("Q", [], settings(fake, ws), provider="f", roots=[ws])
    monkeypatch.delenv("STEAD_UNIT_KEY")
    with pytest.raises(EgressRefused, match="no API key"):
        asyncio.run(esc.send(m.id, [], settings(fake, ws), lambda t: None))
    assert fake.requests == []
    assert KEY not in json.dumps(esc.audit.records())
