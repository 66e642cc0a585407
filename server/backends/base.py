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
    #: The exact text the model was given (special tokens included), for `--explain`.
    prompt: str = ""


@frozen
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class ModelError(Exception):
    """A model that cannot be used; the message names the file (or URL) and the fix."""


@frozen
class FimFile:
    """A file (or the relevant part of one) the model reads before the file being completed."""

    #: Path relative to the repository root, with forward slashes.
    path: str
    text: str


@frozen
class FimContext:
    """Repository context for a fill-in, passed as data so each family renders it natively.

    Code models are trained on repositories laid out as "repo name, then file after file,
    each headed by its path" (Qwen2.5-Coder's `<|repo_name|>`/`<|file_sep|>`, StarCoder2's
    `<repo_name>`/`<file_sep>`, DeepSeek's path lines); the backend turns this into that
    layout.  `files` come first in the prompt, most stable first, so the evaluated prompt
    is reused from one keystroke to the next.
    """

    #: Repository (workspace folder) name.
    repo: str = ""
    #: The file being completed, relative to the repository root.
    path: str = ""
    files: tuple[FimFile, ...] = ()


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
        context: FimContext | None = None,
    ) -> Generation:
        """Fill in between `prefix` and `suffix` (plain continuation for non-FIM models),
        with `context` files laid out before them in the model family's own format."""
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
