"""The one interface every model backend offers, so completion and chat never know which runs.

Backends are a closed set chosen by `Settings.model.backend`: `gpt4all` (a GGUF file run
in-process) and `openai-compatible` (a local server such as Ollama or llama.cpp's server on
loopback).  All calls block: callers run them off the event loop and stop them through a
`threading.Event`, a deadline (the model timeout) or `on_text` returning False.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from attrs import frozen

#: Why generation ended: an end token ("eos"), a stop sequence or rule ("stop"), the token
#: limit ("max_tokens"), the caller's event ("cancelled"), the model timeout ("timeout"), or
#: `on_text` returning False ("callback").
StopReason = Literal["eos", "stop", "max_tokens", "cancelled", "timeout", "callback"]

#: Receives each decoded piece as it is produced; returning False stops generation.
OnText = Callable[[str], bool]


@frozen
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    stop_reason: StopReason
    latency_ms: float
    #: Prompt tokens whose evaluation was reused from the previous call (KV cache).
    reused_tokens: int = 0
    #: Milliseconds spent reading the prompt, before the first token was sampled.
    prompt_ms: float = 0.0


@frozen
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class ModelError(Exception):
    """A model that cannot be used; the message names the file (or URL) and the fix."""


@frozen
class ModelInfo:
    """What the completion pipeline needs to know about the loaded model."""

    name: str
    #: Fill-in-the-middle format ("qwen", "starcoder", "deepseek", "codellama") or "plain".
    fim: str = "plain"
    #: Chat template family ("chatml", "llama3", "plain", ...).
    chat: str = "chatml"
    context_length: int = 2048
    #: Extra strings that end generation (the family's end and file-separator tokens).
    stop: tuple[str, ...] = ()


@runtime_checkable
class Backend(Protocol):
    name: str
    context_length: int

    @property
    def info(self) -> ModelInfo: ...

    def fim(
        self,
        prefix: str,
        suffix: str,
        *,
        max_tokens: int,
        stop: Sequence[str],
        cancel: threading.Event,
        on_text: OnText | None = None,
    ) -> Generation:
        """Fill in between `prefix` and `suffix` (plain continuation for non-FIM models)."""
        ...

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        cancel: threading.Event,
        on_text: OnText | None = None,
    ) -> Generation:
        """Answer a conversation using the model's chat template."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def close(self) -> None: ...
