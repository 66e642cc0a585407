"""Every request gets exactly one JSON-RPC answer; a broken stream ends the server loudly.

The real server over real stdio, fed raw frames, plus table tests of the pure parts of
server/jsonrpc.py (id salvage, depth, strict framing).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest

from server import jsonrpc
from tests.conftest import server_env

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}, "processId": None, "rootUri": None}}
INITIALIZED = {"jsonrpc": "2.0", "method": "initialized", "params": {}}
SHUTDOWN = {"jsonrpc": "2.0", "id": 9999, "method": "shutdown"}
EXIT = {"jsonrpc": "2.0", "method": "exit"}


def frame(body: bytes | dict[str, Any], delta: int = 0) -> bytes:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return b"Content-Length: %d\r\n\r\n" % (len(raw) + delta) + raw


def parse_frames(out: bytes) -> list[dict[str, Any]]:
    messages = []
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        messages.append(json.loads(rest[:length]))
        out = rest[length:]
    return messages


def run_server(xdg: dict[str, str], data: bytes) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run([sys.executable, "-m", "server", "serve"], input=data,
                          capture_output=True, env=server_env(xdg), timeout=90)
    return proc.returncode, parse_frames(proc.stdout), proc.stderr.decode(errors="replace")


def answers(messages: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for m in messages:
        if "method" not in m:
            out.setdefault(m.get("id"), []).append(m)
    return out


DEEP = b'{"jsonrpc":"2.0","id":504,"method":"stead/search","params":' + \
    b"[" * 100_000 + b"]" * 100_000 + b"}"

#: (id, body, expected error code or None for a result)
CASES: list[tuple[int, bytes | dict[str, Any], int | None]] = [
    (501, {"jsonrpc": "2.0", "id": 501, "method": "stead/status"}, None),  # no params
    (502, {"jsonrpc": "2.0", "id": 502, "method": "textDocument/inlineCompletion",
           "params": {"textDocument": {"uri": 3}}}, -32602),
    (503, {"jsonrpc": "2.0", "id": 503, "method": "textDocument/completion",
           "params": {"position": "x"}}, -32602),
    (504, DEEP, -32602),
    (505, b'{"jsonrpc":"2.0","id":505,"method":"stead/sea', -32700),  # truncated
    (506, {"jsonrpc": "2.0", "id": 506, "method": "stead/status", "params": 3}, -32602),
    (507, {"jsonrpc": "1.0", "id": 507, "method": "stead/status"}, -32600),
    (508, {"jsonrpc": "2.0", "id": 508, "method": 12}, -32600),
    (509, {"jsonrpc": "2.0", "id": 509, "method": "stead/noSuchThing"}, -32601),
    (510, {"jsonrpc": "2.0", "id": 510, "method": "stead/search",
           "params": {"query": ["not", "a", "string"]}}, -32602),
    # a notification's method sent with an id: answered, not silently run as a notification
    (512, {"jsonrpc": "2.0", "id": 512, "method": "textDocument/didClose",
           "params": {"textDocument": {"uri": "file:///x.py"}}}, -32600),
    # parses, but deeper than the server walks (a handler would recurse on it)
    (511, {"jsonrpc": "2.0", "id": 511, "method": "stead/settings",
           "params": {"a": json.loads("[" * 150 + "]" * 150)}}, -32602),
]


def test_every_bad_request_is_answered_once_and_the_server_lives(xdg: dict[str, str]) -> None:
    early = [frame({"jsonrpc": "2.0", "id": 100, "method": "stead/status", "params": {}}),
             frame({"jsonrpc": "2.0", "id": 101, "method": "stead/search",
                    "params": {"query": "x"}}),
             frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {}})]
    body = b"".join(early) + frame(INIT) + frame(INITIALIZED)
    body += b"".join(frame(b) for _, b, _ in CASES)
    body += frame(b"[1, 2]") + frame(b"\xff\xfe not utf-8")
    body += frame({"jsonrpc": "2.0", "id": 600, "method": "stead/settings", "params": {}})
    body += frame(SHUTDOWN)
    body += frame({"jsonrpc": "2.0", "id": 601, "method": "stead/status", "params": {}})
    body += frame(EXIT)
    rc, messages, err = run_server(xdg, body)
    got = answers(messages)
    assert rc == 0, err[-2000:]
    for mid in (100, 101):  # before initialize: refused, not served
        assert [a["error"]["code"] for a in got[mid]] == [-32002]
    for mid, _, code in CASES:
        assert len(got.get(mid, [])) == 1, (mid, got.get(mid))
        (a,) = got[mid]
        if code is None:
            assert "result" in a, a
        else:
            assert a["error"]["code"] == code, (mid, a)
    assert sorted(a["error"]["code"] for a in got[None]) == [-32700, -32600]
    assert "result" in got[600][0]  # still answering after all that
    assert got[9999][0]["result"] is None
    assert got[601][0]["error"]["code"] == -32600  # after shutdown: refused, not dropped


@pytest.mark.parametrize("delta", [-10, 40])
def test_wrong_content_length_ends_the_server_with_a_clear_error(
    xdg: dict[str, str], delta: int
) -> None:
    body = frame(INIT) + frame(INITIALIZED)
    body += frame({"jsonrpc": "2.0", "id": 7, "method": "stead/status", "params": {}}, delta)
    body += frame(SHUTDOWN) + frame(EXIT)
    rc, messages, err = run_server(xdg, body)
    assert rc == jsonrpc.FRAMING_EXIT
    assert "out of step" in err and "restart" in err
    got = answers(messages)
    assert [a["error"]["code"] for a in got[7]] == [-32700]


def test_input_ending_mid_body_is_a_framing_error(xdg: dict[str, str]) -> None:
    body = frame(INIT) + b"Content-Length: 500\r\n\r\n{\"jsonrpc\""
    rc, _, err = run_server(xdg, body)
    assert rc == jsonrpc.FRAMING_EXIT
    assert "bytes into a 500-byte message body" in err


def test_exit_without_shutdown_is_status_1(xdg: dict[str, str]) -> None:
    rc, _, _ = run_server(xdg, frame(INIT) + frame(EXIT))
    assert rc == 1


@pytest.mark.parametrize(("body", "expected"), [
    ('{"jsonrpc":"2.0","id":7,"method":"x","params":[[[[', 7),
    ('{"id": "abc", "params": {"id": 9}}', "abc"),
    ('{"params": {"id": 9}, "id":-3', -3),
    ('{"params": {"id": 9}}', None),  # only the top level counts
    ('{"method": "id", "x": 1}', None),  # a string value "id" is not the key
    ('{"id": 1.5}', None),
    ('{"id": [1]}', None),
    ('{"a": "\\"id\\": 4", "id": 5}', 5),  # escaped quotes inside strings
    ('[{"id": 3}]', None),
    ('{"id": true}', None),
    ("", None),
    ('{"id": "unterminated', None),
])
def test_salvage_id(body: str, expected: Any) -> None:
    assert jsonrpc.salvage_id(body) == expected


@pytest.mark.parametrize(("value", "depth"), [
    (None, 0), (1, 0), ({}, 1), ([[]], 2), ({"a": [{"b": 1}]}, 3),
    ([[[[[[]]]]]], 6),
])
def test_depth_of(value: Any, depth: int) -> None:
    assert jsonrpc.depth_of(value) == depth


def test_depth_of_stops_early_past_the_limit() -> None:
    value: Any = []
    for _ in range(5000):
        value = [value]
    assert jsonrpc.MAX_DEPTH < jsonrpc.depth_of(value) <= jsonrpc.MAX_DEPTH + 1


async def _frames(data: bytes) -> list[bytes | Exception]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    out: list[bytes | Exception] = []
    while True:
        try:
            body = await jsonrpc.read_frame(reader)
        except jsonrpc.FramingError as exc:
            out.append(exc)
            return out
        if body is None:
            return out
        out.append(body)


@pytest.mark.parametrize(("data", "expected"), [
    (b"Content-Length: 2\r\n\r\n{}", [b"{}"]),
    (b"content-length:2\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n{}", [b"{}"]),
    (b"\r\nContent-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n[1]", [b"{}", b"[1]"]),
    (b"Content-Length: 2\n\n{}", [b"{}"]),  # bare newlines are tolerated
    (b"", []),
    (b"Content-Length: 1\r\n\r\n{}", [b"{", "expected a header line"]),
    (b"Content-Type: x\r\n\r\n{}", ["without a valid Content-Length"]),
    (b"Content-Length: -1\r\n\r\n{}", ["without a valid Content-Length"]),
    (b"Content-Length: 9\r\n\r\n{}", ["input ended 7 bytes into a 9-byte"]),
    (b"Content-Length: 2\r\n", ["input ended inside a message header"]),
    (b"{\"jsonrpc\": \"2.0\"}\r\n", ["expected a header line"]),
    (b"Content-Length: 99999999999\r\n\r\n", ["beyond"]),
])
async def test_read_frame(data: bytes, expected: list[bytes | str]) -> None:
    got = await _frames(data)
    assert len(got) == len(expected), got
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, bytes):
            assert g == e
        else:
            assert isinstance(g, jsonrpc.FramingError) and e in str(g), g
