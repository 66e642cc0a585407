"""Plain data passed through the completion pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from attrs import frozen


@frozen
class Snippet:
    """Cross-file context for a completion (from the context engine): a range of a file."""

    path: str
    start_line: int
    end_line: int
    text: str
    reason: str = ""


@frozen
class CompletionRequest:
    #: Document text before and after the cursor.
    prefix: str
    suffix: str
    path: str = ""
    language_id: str = ""
    snippets: Sequence[Snippet] = ()
    #: The document's URI (LSP) or "" (CLI): in-flight requests are tracked per document.
    uri: str = ""
    #: The workspace folder holding `path` ("" when unknown): context file paths are shown
    #: to the model relative to it, and its name is the repository name.
    root: str = ""


Source = Literal["model", "cache", "typed", "empty", "error", "disabled"]


@frozen
class CompletionResult:
    text: str
    source: Source
    multiline: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reused_tokens: int = 0
    #: Milliseconds in the model call (0 for cache hits) and in everything else.
    model_ms: float = 0.0
    overhead_ms: float = 0.0
    stop_reason: str = ""
    model: str = ""
    error: str = ""
    #: The prompt sent (for history); empty for cache hits.
    prompt: str = ""
