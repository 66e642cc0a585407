"""A local OpenAI-compatible server (Ollama, llama.cpp's server, LM Studio) on loopback.

Only loopback URLs are accepted: a non-loopback URL is a remote provider, which belongs to
the escalation flow (approval, redaction, audit), never to this layer.  Fill-in-the-middle
uses `/v1/completions` with the FIM prompt built here (the family is guessed from the model
name); chat uses `/v1/chat/completions`.  Both stream (server-sent events) so cancellation,
the timeout and stop strings act between chunks.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from server.backends.base import (
    ChatMessage,
    FimContext,
    Generation,
    ModelError,
    ModelInfo,
    OnText,
    StopReason,
)
from server.backends.counting import count_tokens
from server.models.families import fim_prompt, fim_stops, markers, sanitize, sanitize_context

log = logging.getLogger(__name__)


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guess_fim(model: str) -> str:
    m = model.lower()
    if "qwen" in m and "coder" in m:
        return "qwen"
    if "starcoder" in m:
        return "starcoder"
    if "deepseek" in m and "coder" in m:
        return "deepseek"
    if "codellama" in m or "code-llama" in m:
        return "codellama"
    return "plain"


class OpenAICompatBackend:
    def __init__(
        self, url: str, model: str, *, n_ctx: int = 2048, timeout_s: float = 10.0,
        chat_timeout_s: float | None = None,
    ) -> None:
        if not is_loopback_url(url):
            raise ModelError(
                f"{url}: model.url must be a loopback address (127.0.0.1, ::1 or localhost); "
                "sending code to another host is a remote escalation (stead escalate), "
                "not a local backend"
            )
        self.url = url.rstrip("/")
        self.model = model
        self.name = model or "local-server"
        self.context_length = n_ctx
        self.timeout_s = timeout_s
        #: Chat reads long prompts: it gets its own, longer deadline.
        self.chat_timeout_s = chat_timeout_s or timeout_s
        fim = guess_fim(model)
        self._info = ModelInfo(
            name=self.name, fim=fim, chat="server", context_length=n_ctx, stop=fim_stops(fim)
        )
        self._markers = markers(fim, "chatml")
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return self._info

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    timeout=max(self.timeout_s, self.chat_timeout_s), trust_env=False
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def count_tokens(self, text: str) -> int:
        return count_tokens(text)

    def fim(
        self,
        prefix: str,
        suffix: str,
        *,
        max_tokens: int,
        stop: Sequence[str],
        cancel: threading.Event,
        on_text: OnText | None = None,
        context: FimContext | None = None,
    ) -> Generation:
        prompt = self.fim_prompt(prefix, suffix, context)
        body = {"prompt": prompt, "temperature": 0}
        gen = self._run("/completions", body, prompt, max_tokens, (*self._info.stop, *stop),
                        cancel, on_text)
        return attrs.evolve(gen, prompt=prompt)

    def fim_prompt(self, prefix: str, suffix: str, context: FimContext | None) -> str:
        """The same assembled prompt the in-process backend would read (the server is
        asked for a raw completion of it, so its own template is not applied)."""
        return fim_prompt(
            self._info.fim, sanitize(prefix, self._markers), sanitize(suffix, self._markers),
            sanitize_context(context, self._markers),
        )

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        cancel: threading.Event,
        on_text: OnText | None = None,
    ) -> Generation:
        body = {"messages": [{"role": m.role, "content": m.content} for m in messages]}
        text = "\n".join(m.content for m in messages)
        return self._run("/chat/completions", body, text, max_tokens, tuple(stop), cancel,
                         on_text, timeout_s=self.chat_timeout_s)

    def _events(self, response: Any) -> Iterator[dict[str, Any]]:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                yield json.loads(data)
            except ValueError:
                log.debug("ignoring a malformed event from %s: %r", self.url, data[:80])

    def _run(
        self,
        path: str,
        body: dict[str, Any],
        prompt_text: str,
        max_tokens: int,
        stops: Sequence[str],
        cancel: threading.Event,
        on_text: OnText | None,
        timeout_s: float | None = None,
    ) -> Generation:
        import httpx

        started = time.perf_counter()
        deadline = started + (timeout_s or self.timeout_s)
        payload = {**body, "model": self.model, "max_tokens": max_tokens, "stream": True}
        if stops:
            payload["stop"] = list(stops)[:4]  # the OpenAI API takes at most four
        out: list[str] = []
        n = 0
        usage: dict[str, Any] = {}
        reason: StopReason = "eos"
        first: float | None = None
        if cancel.is_set():
            return Generation("", 0, 0, "cancelled", 0.0)
        try:
            with self._http().stream("POST", self.url + path, json=payload) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ModelError(
                        f"{self.url}{path}: the local server answered {response.status_code} "
                        f"({response.text[:200]!r}); check model.url and model.server_model"
                    )
                for event in self._events(response):
                    if cancel.is_set():
                        reason = "cancelled"
                        break
                    if time.perf_counter() > deadline:
                        reason = "timeout"
                        break
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        piece = choice.get("text")
                        if piece is None:
                            piece = (choice.get("delta") or {}).get("content") or ""
                        if piece:
                            first = first or time.perf_counter()
                            n += 1
                            joined = "".join(out) + piece
                            hit = min((joined.find(s) for s in stops if s and s in joined),
                                      default=-1)
                            if hit >= 0:
                                piece = joined[:hit][len("".join(out)):]
                                reason = "stop"
                            out.append(piece)
                            if on_text is not None and piece and not on_text(piece):
                                reason = "callback"
                        if choice.get("finish_reason") == "length":
                            reason = "max_tokens"
                        elif choice.get("finish_reason") == "stop" and reason == "eos":
                            reason = "eos"
                    if reason in ("stop", "callback") or n >= max_tokens:
                        reason = "max_tokens" if reason == "eos" else reason
                        break
        except httpx.TimeoutException:
            reason = "timeout"
        except httpx.HTTPError as exc:
            raise ModelError(
                f"{self.url}: cannot reach the local model server ({exc}); start it "
                "(e.g. `ollama serve`) or set model.backend = \"gpt4all\""
            ) from exc
        now = time.perf_counter()
        return Generation(
            text="".join(out),
            prompt_tokens=int(usage.get("prompt_tokens") or count_tokens(prompt_text)),
            completion_tokens=int(usage.get("completion_tokens") or n),
            stop_reason=reason,
            latency_ms=(now - started) * 1000,
            prompt_ms=((first or now) - started) * 1000,
        )
