"""A real HTTP server on loopback that speaks the OpenAI-compatible chat completions API.

It stands in for a remote provider in tests: nothing in the suite may reach a real one.  It
records every request byte for byte (method, path, headers, body), so a test can prove that
nothing was sent (`requests == []`) or that exactly the approved payload was.  It also speaks
the Anthropic Messages API (`POST /v1/messages`) for the Anthropic provider.

Usage::

    with FakeProvider(reply="hello") as fake:
        url = fake.url            # "http://127.0.0.1:PORT/v1"
        ...
        assert fake.requests == []

`mode` makes it misbehave on purpose: "ok", "garbage" (200 with a body that is not the API),
"error" (HTTP 500 with a JSON error), "hang" (accepts and never answers until closed), "drop"
(closes the connection mid-stream).  The pytest fixture `fake_provider` (import it into a
test module or a conftest) gives a started server that is closed after the test.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeProvider:
    reply: str = "Hello from the fake provider."
    mode: str = "ok"
    #: Split the streamed reply into pieces of this many characters.
    chunk_chars: int = 4
    model: str = "fake-model"
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _closing: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL as an OpenAI-compatible client expects it (ending in /v1)."""
        return f"{self.base}/v1"

    def start(self) -> FakeProvider:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._record(self, b"")
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": fake.model}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake._record(self, body)
                fake._answer(self, body)

            def _json(self, status: int, obj: Any) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------
    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.requests.append(
                Recorded(handler.command, handler.path, dict(handler.headers.items()), body)
            )

    def _pieces(self) -> list[str]:
        n = max(1, self.chunk_chars)
        return [self.reply[i : i + n] for i in range(0, len(self.reply), n)] or [""]

    def _answer(self, h: Any, body: bytes) -> None:
        if self.mode == "hang":
            self._closing.wait(30)
            return
        if self.mode == "error":
            h._json(500, {"error": {"message": "the fake provider failed on purpose"}})
            return
        if self.mode == "garbage":
            data = b"<html>this is not an API response</html>"
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        try:
            request = json.loads(body)
        except ValueError:
            h._json(400, {"error": {"message": "body is not JSON"}})
            return
        anthropic = h.path.rstrip("/").endswith("/messages")
        if not request.get("stream"):
            h._json(200, self._whole(anthropic))
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        events = self._anthropic_events() if anthropic else self._openai_events()
        for i, event in enumerate(events):
            if self.mode == "drop" and i == 2:
                h.wfile.flush()
                h.close_connection = True
                return
            h.wfile.write(event.encode())
            h.wfile.flush()
            time.sleep(0.001)
        h.close_connection = True

    def _whole(self, anthropic: bool) -> Any:
        if anthropic:
            return {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [{"type": "text", "text": self.reply}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 10, "output_tokens": 5},
            }
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def _openai_events(self) -> list[str]:
        out = []
        for i, piece in enumerate(self._pieces()):
            delta: dict[str, Any] = {"content": piece}
            if i == 0:
                delta["role"] = "assistant"
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
            out.append(f"data: {json.dumps(chunk)}\n\n")
        final = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        out.append(f"data: {json.dumps(final)}\n\n")
        out.append("data: [DONE]\n\n")
        return out

    def _anthropic_events(self) -> list[str]:
        def ev(name: str, data: Any) -> str:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n"

        out = [
            ev(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": self.model,
                        "content": [],
                        "usage": {"input_tokens": 10, "output_tokens": 0},
                    },
                },
            ),
            ev(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ev("ping", {"type": "ping"}),
        ]
        for piece in self._pieces():
            out.append(
                ev(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        out.append(ev("content_block_stop", {"type": "content_block_stop", "index": 0}))
        out.append(
            ev(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 5},
                },
            )
        )
        out.append(ev("message_stop", {"type": "message_stop"}))
        return out


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    fake = FakeProvider().start()
    try:
        yield fake
    finally:
        fake.close()
