"""History through the real server over stdio and through the real `stead history` CLI."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from server import protocol
from server.cli.history import parse_when
from server.history import Entry, FileRange, HistoryStore
from tests.conftest import StartClient

AWS = "AKIA" + "ZXCVBNMASDFGHJKL"


def _db(xdg: dict[str, str]) -> Path:
    return Path(xdg["XDG_DATA_HOME"]) / "stead" / "history.sqlite3"


def _seed(xdg: dict[str, str]) -> tuple[int, int, int]:
    store = HistoryStore(_db(xdg))
    a = store.add(Entry(kind="chat", prompt=f"why is {AWS} rejected", response="rotate it",
                        workspace="/w", files=[FileRange("src/a.py", 3, 9)]), ts=1000)
    b = store.add(Entry(kind="completion", prompt="def parse_header(", workspace="/w"), ts=2000)
    c = store.add(Entry(kind="chat", prompt="confidential roadmap notes"), ts=3000)
    store.close()
    return a, b, c


async def test_lsp_list_show_search(start_client: StartClient, xdg: dict[str, str]) -> None:
    a, b, c = _seed(xdg)
    client = await start_client()
    listed = await client.protocol.send_request_async(protocol.HISTORY_LIST, {"limit": 10})
    assert [e.id for e in listed.entries] == [c, b, a]
    assert listed.entries[2].redactions.AWS_KEY == 1
    assert AWS not in json.dumps(protocol._plain(listed))
    chats = await client.protocol.send_request_async(protocol.HISTORY_LIST, {"kind": "chat"})
    assert [e.id for e in chats.entries] == [c, a]
    shown = await client.protocol.send_request_async(protocol.HISTORY_SHOW, {"id": a})
    assert shown.prompt == "why is <SECRET_AWS_KEY_1> rejected"
    assert shown.response == "rotate it"
    assert shown.files[0].path == "src/a.py" and shown.files[0].start_line == 3
    found = await client.protocol.send_request_async(protocol.HISTORY_SEARCH,
                                                     {"query": "parse"})
    assert [e.id for e in found.entries] == [b]


async def test_lsp_private_delete_export(
    start_client: StartClient, xdg: dict[str, str], tmp_path: Path
) -> None:
    a, b, c = _seed(xdg)
    client = await start_client()
    res = await client.protocol.send_request_async(protocol.HISTORY_PRIVATE, {"ids": [c]})
    assert res.updated == 1
    out = tmp_path / "export.jsonl"
    res = await client.protocol.send_request_async(protocol.HISTORY_EXPORT, {"path": str(out)})
    assert res.count == 2
    assert "roadmap" not in out.read_text()
    res = await client.protocol.send_request_async(protocol.HISTORY_DELETE, {"ids": [a]})
    assert res.deleted == 1
    listed = await client.protocol.send_request_async(protocol.HISTORY_LIST, {})
    assert [e.id for e in listed.entries] == [c, b]
    assert listed.entries[0].private is True


BAD_REQUESTS = [
    (protocol.HISTORY_SHOW, {"id": "seven"}, "HistoryShowParams"),
    (protocol.HISTORY_SHOW, {"id": 424242}, "no history entry"),
    (protocol.HISTORY_DELETE, {}, "say which entries"),
    (protocol.HISTORY_EXPORT, {"path": "relative.jsonl"}, "absolute path"),
    (protocol.HISTORY_SEARCH, {}, "HistorySearchParams"),
    (protocol.HISTORY_PRIVATE, {"ids": "all"}, "HistoryPrivateParams"),
]


async def test_lsp_bad_requests_get_clear_errors(
    start_client: StartClient, xdg: dict[str, str]
) -> None:
    _seed(xdg)
    client = await start_client()  # one server for the whole table: it must survive each
    for method, params, needle in BAD_REQUESTS:
        with pytest.raises(JsonRpcException) as err:
            await client.protocol.send_request_async(method, params)
        assert needle in str(err.value), (method, params, str(err.value))
    listed = await client.protocol.send_request_async(protocol.HISTORY_LIST, {})
    assert len(listed.entries) == 3


async def test_lsp_reports_a_recovered_database(
    start_client: StartClient, xdg: dict[str, str]
) -> None:
    db = _db(xdg)
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage, not sqlite" * 200)
    client = await start_client()
    listed = await client.protocol.send_request_async(protocol.HISTORY_LIST, {})
    assert listed.entries == []
    assert "kept at" in listed.recovered
    await asyncio.sleep(0.1)
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("damaged" in w for w in warnings), warnings


def _stead(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], env=dict(os.environ),
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_cli_list_show_search_json(xdg: dict[str, str]) -> None:
    a, b, c = _seed(xdg)
    out = _stead("history", "list", "--json")
    assert out.returncode == 0, out.stderr
    assert [e["id"] for e in json.loads(out.stdout)] == [c, b, a]
    shown = _stead("history", "show", str(a))
    assert "why is <SECRET_AWS_KEY_1> rejected" in shown.stdout
    assert "redacted: AWS_KEY x1" in shown.stdout and "src/a.py:3-9" in shown.stdout
    assert AWS not in shown.stdout
    found = _stead("history", "search", "roadmap")
    assert "confidential roadmap notes" in found.stdout and "parse_header" not in found.stdout
    missing = _stead("history", "show", "999")
    assert missing.returncode == 1 and "no entry 999" in missing.stderr


def test_cli_export_import_private_delete(xdg: dict[str, str], tmp_path: Path) -> None:
    *_, c = _seed(xdg)
    assert _stead("history", "private", str(c)).returncode == 0
    exported = _stead("history", "export")
    lines = exported.stdout.splitlines()
    assert len(lines) == 3 and "roadmap" not in exported.stdout  # header + 2
    refused = _stead("history", "delete", "--all")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert "deleted 3" in _stead("history", "delete", "--all", "--yes", "--vacuum").stdout
    dump = tmp_path / "h.jsonl"
    dump.write_text(exported.stdout + "{broken\n")
    imported = _stead("history", "import", str(dump))
    assert "imported 2" in imported.stdout and "bad lines 1" in imported.stdout
    assert "line 4" in imported.stderr and imported.returncode == 1
    again = _stead("history", "import", "-", stdin=exported.stdout)
    assert "imported 0, already present 2" in again.stdout
    assert len(json.loads(_stead("history", "list", "--json").stdout)) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7d", 1000.0 - 7 * 86400), ("12h", 1000.0 - 43200), ("30m", 1000.0 - 1800),
     ("1.5h", 1000.0 - 5400), ("123", 123.0)],
)
def test_parse_when(value: str, expected: float) -> None:
    assert parse_when(value, now=1000.0) == expected


def test_parse_when_rejects_nonsense() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_when("yesterdayish")
