"""The OpenAI-compatible backend against a real HTTP server on loopback speaking that API
(streamed server-sent events), as Ollama or llama.cpp's server would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from server.backends.base import ChatMessage, ModelError
from server.backends.openai_compat import OpenAICompatBackend, guess_fim, is_loopback_url


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.pieces = ["return", " a", " +", " b"]
        self.delay = 0.0
        self.forever = False
        self.status = 200


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, str]]:
    state = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append((self.path, body))
            if state.status != 200:
                self.send_response(state.status)
                self.end_headers()
                self.wfile.write(b'{"error": "no such model"}')
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chat = self.path.endswith("/chat/completions")
            try:
                i = 0
                while True:
                    piece = state.pieces[i % len(state.pieces)]
                    choice = {"delta": {"content": piece}} if chat else {"text": piece}
                    self.wfile.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(state.delay)
                    i += 1
                    if not state.forever and i >= len(state.pieces):
                        break
                    if i > 10_000:
                        break
                done = {"choices": [{"text": "", "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 7, "completion_tokens": i}}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_fim_streams_with_the_family_prompt(server: tuple[FakeServer, str]) -> None:
    state, url = server
    b = OpenAICompatBackend(url, "qwen2.5-coder:0.5b")
    got: list[str] = []
    gen = b.fim("def f():\n    ", "\n", max_tokens=16, stop=(), cancel=threading.Event(),
                on_text=lambda p: got.append(p) is None)
    assert gen.text == "return a + b" and got == ["return", " a", " +", " b"]
    assert (gen.prompt_tokens, gen.completion_tokens) == (7, 4)
    path, body = state.requests[-1]
    assert path == "/v1/completions"
    assert body["prompt"] == "<|fim_prefix|>def f():\n    <|fim_suffix|>\n<|fim_middle|>"
    assert body["model"] == "qwen2.5-coder:0.5b" and body["stream"] is True
    assert "<|endoftext|>" in body["stop"]
    b.close()


def test_chat_and_stop_strings(server: tuple[FakeServer, str]) -> None:
    state, url = server
    b = OpenAICompatBackend(url, "llama3")
    gen = b.chat([ChatMessage("user", "hi")], max_tokens=16, stop=(" +",),
                 cancel=threading.Event())
    assert gen.text == "return a" and gen.stop_reason == "stop"
    path, body = state.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_never_ending_stream_is_bounded(server: tuple[FakeServer, str]) -> None:
    state, url = server
    state.forever = True
    b = OpenAICompatBackend(url, "m")
    gen = b.fim("x", "", max_tokens=10, stop=(), cancel=threading.Event())
    assert gen.stop_reason == "max_tokens" and gen.completion_tokens == 10
    state.delay = 0.02
    slow = OpenAICompatBackend(url, "m", timeout_s=0.3)
    gen = slow.fim("x", "", max_tokens=100_000, stop=(), cancel=threading.Event())
    assert gen.stop_reason == "timeout"
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    gen = OpenAICompatBackend(url, "m", timeout_s=30).fim(
        "x", "", max_tokens=100_000, stop=(), cancel=cancel
    )
    assert gen.stop_reason == "cancelled"


def test_server_errors_and_unreachable(server: tuple[FakeServer, str]) -> None:
    state, url = server
    state.status = 404
    with pytest.raises(ModelError, match="answered 404"):
        OpenAICompatBackend(url, "m").fim("x", "", max_tokens=4, stop=(),
                                          cancel=threading.Event())
    with pytest.raises(ModelError, match="cannot reach"):
        OpenAICompatBackend("http://127.0.0.1:9/v1", "m").fim(
            "x", "", max_tokens=4, stop=(), cancel=threading.Event()
        )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:11434/v1", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080/v1", True),
        ("http://127.9.9.9/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:11434/v1", False),
        ("http://localhost.evil.com/v1", False),
        ("ftp://127.0.0.1/", False),
        ("not a url", False),
    ],
)
def test_loopback_only(url: str, ok: bool) -> None:
    assert is_loopback_url(url) is ok
    if not ok:
        with pytest.raises(ModelError, match="loopback"):
            OpenAICompatBackend(url, "m")


@pytest.mark.parametrize(
    ("model", "fim"),
    [
        ("qwen2.5-coder:1.5b", "qwen"),
        ("starcoder2:3b", "starcoder"),
        ("deepseek-coder:1.3b-base", "deepseek"),
        ("codellama:7b-code", "codellama"),
        ("llama3.2", "plain"),
    ],
)
def test_guess_fim(model: str, fim: str) -> None:
    assert guess_fim(model) == fim
