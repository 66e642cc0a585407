"""Remote providers over HTTP: OpenAI-compatible chat completions and Anthropic Messages.

`stream` posts the manifest's exact body bytes and hands each piece of text to a callback
as it arrives.  The client follows no redirects and reads no proxy or .netrc settings from
the environment (only the CA settings SSL_CERT_FILE/DIR), so the payload goes to the URL
in the manifest and nowhere else, with no credentials but the provider's key.  Whatever
goes wrong (a timeout, an HTTP error, an answer that is not the API) becomes a
`ProviderError` with a sentence for the user, never containing the key.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import frozen

from server import __version__
from server.egress.keys import scrub

OnText = Callable[[str], Awaitable[None] | None]


class ProviderError(RuntimeError):
    pass


@frozen
class Answer:
    text: str
    finish_reason: str | None = None


def headers(kind: str, key: str) -> dict[str, str]:
    h = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "User-Agent": f"stead/{__version__}",
    }
    if kind == "anthropic":
        h["x-api-key"] = key
        h["anthropic-version"] = "2023-06-01"
    else:
        h["Authorization"] = f"Bearer {key}"
    return h


def _error_text(status: int, raw: bytes) -> str:
    message = ""
    try:
        data = json.loads(raw)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("type") or "")
        elif isinstance(err, str):
            message = err
    except ValueError:
        message = raw[:200].decode("utf-8", "replace").strip()
    hint = {401: " (the API key was rejected)", 403: " (forbidden)", 429: " (rate limited)"}
    return f"the provider answered HTTP {status}{hint.get(status, '')}: {message or 'no detail'}"


class _Parser:
    """Turns SSE lines (or one JSON body) of either dialect into text pieces."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.done = False
        self.seen_event = False
        self.finish: str | None = None
        self.garbage = ""

    def line(self, line: str) -> str | None:
        line = line.rstrip("\r")
        if not line or line.startswith(":"):
            return None
        if line.startswith("event:"):
            return None
        if not line.startswith("data:"):
            self.garbage = self.garbage or line[:120]
            return None
        data = line[5:].strip()
        if data == "[DONE]":
            self.done = True
            return None
        try:
            obj = json.loads(data)
        except ValueError:
            self.garbage = self.garbage or data[:120]
            return None
        if not isinstance(obj, dict):
            self.garbage = self.garbage or data[:120]
            return None
        self.seen_event = True
        return self.event(obj)

    def event(self, obj: dict[str, Any]) -> str | None:
        err = obj.get("error")
        if err:
            msg = err.get("message") if isinstance(err, dict) else err
            raise ProviderError(f"the provider reported an error: {msg}")
        if self.kind == "anthropic":
            kind = obj.get("type")
            if kind == "content_block_delta":
                delta = obj.get("delta") or {}
                return str(delta.get("text") or "") or None
            if kind == "message_delta":
                self.finish = (obj.get("delta") or {}).get("stop_reason") or self.finish
            if kind == "message_stop":
                self.done = True
            return None
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish = str(choice["finish_reason"])
        delta = choice.get("delta") or choice.get("message") or {}
        text = delta.get("content") if isinstance(delta, dict) else None
        return text if isinstance(text, str) and text else None

    def whole(self, obj: Any) -> str:
        """A non-streamed answer (a server that ignored `stream`)."""
        if not isinstance(obj, dict):
            raise ProviderError("the provider's answer is not a chat completion")
        if obj.get("error"):
            self.event(obj)
        self.done = True
        if self.kind == "anthropic":
            blocks = obj.get("content")
            if isinstance(blocks, list):
                self.finish = obj.get("stop_reason")
                return "".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict))
        else:
            choices = obj.get("choices")
            if isinstance(choices, list) and choices and isinstance(choices[0], dict):
                msg = choices[0].get("message") or {}
                self.finish = choices[0].get("finish_reason")
                if isinstance(msg, dict) and isinstance(msg.get("content"), str):
                    return str(msg["content"])
        raise ProviderError("the provider's answer is not a chat completion")


@functools.cache
def _tls() -> Any:
    """One TLS context per process (building it costs ~35 ms); honours SSL_CERT_FILE/DIR."""
    import httpx

    return httpx.create_ssl_context(trust_env=True)


async def stream(
    kind: str, url: str, body: bytes, key: str, timeout_s: float, on_text: OnText
) -> Answer:
    """POST exactly `body` to `url` and stream the answer's text to `on_text`."""
    import httpx

    parser = _Parser(kind)
    pieces: list[str] = []

    async def emit(text: str) -> None:
        pieces.append(text)
        result = on_text(text)
        if inspect.isawaitable(result):
            await result

    try:
        async with (
            httpx.AsyncClient(
                timeout=httpx.Timeout(timeout_s),
                verify=_tls(),
                trust_env=False,
                follow_redirects=False,
            ) as client,
            client.stream("POST", url, content=body, headers=headers(kind, key)) as response,
        ):
            if response.status_code >= 300:
                raw = await response.aread()
                raise ProviderError(scrub(_error_text(response.status_code, raw[:4096]), key))
            ctype = response.headers.get("content-type", "")
            if "application/json" in ctype:
                raw = await response.aread()
                try:
                    obj = json.loads(raw)
                except ValueError:
                    raise ProviderError("the provider's answer is not valid JSON") from None
                text = parser.whole(obj)
                if text:
                    await emit(text)
            else:
                async for line in response.aiter_lines():
                    piece = parser.line(line)
                    if piece:
                        await emit(piece)
                    if parser.done:
                        break
    except httpx.TimeoutException:
        raise ProviderError(f"the provider did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise ProviderError(scrub(f"cannot reach the provider: {exc}", key)) from None
    if not parser.done:
        if not parser.seen_event:
            sample = f": {parser.garbage!r}" if parser.garbage else ""
            raise ProviderError(f"the provider's answer is not a chat completion stream{sample}")
        raise ProviderError("the answer stopped before the provider finished it")
    return Answer("".join(pieces), parser.finish)
