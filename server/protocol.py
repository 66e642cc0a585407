"""stead's own LSP methods, namespaced `stead/`, and their parameter and result types.

Clients (VS Code, Neovim, the CLI's LSP mode) and the server agree on these names and
shapes; nothing else in the code spells a method string.  Params arrive as plain JSON and
are structured with `parse`, which turns bad input into a JSON-RPC InvalidParams error.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import attrs
import cattrs
from attrs import define, field
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

# -- method names ----------------------------------------------------------------------
SETTINGS = "stead/settings"  # effective settings and the problems found in them
STATUS = "stead/status"  # model, route, index state: what a status bar shows

COMPLETION_ACCEPTED = "stead/completion/accepted"  # notification
COMPLETION_REJECTED = "stead/completion/rejected"  # notification

INDEX_STATUS = "stead/indexStatus"
INDEX_REBUILD = "stead/index"  # start or restart indexing of the workspace
SEARCH = "stead/search"

SELECT_CONTEXT = "stead/selectContext"
CHAT = "stead/chat"
CHAT_CHUNK = "stead/chat/chunk"  # notification server → client while an answer streams

HISTORY_LIST = "stead/history/list"
HISTORY_SHOW = "stead/history/show"
HISTORY_SEARCH = "stead/history/search"
HISTORY_PRIVATE = "stead/history/private"
HISTORY_DELETE = "stead/history/delete"
HISTORY_EXPORT = "stead/history/export"

ESCALATE_PREVIEW = "stead/escalate/preview"
ESCALATE_SEND = "stead/escalate/send"
AUDIT_LIST = "stead/audit/list"
AUDIT_VERIFY = "stead/audit/verify"

T = TypeVar("T")

_converter = cattrs.Converter(forbid_extra_keys=False)


def _strict(kind: type, accepts: tuple[type, ...]) -> None:
    """cattrs would turn `["a"]` into the string "['a']" and `True` into 1: refuse instead,
    so a wrong-typed param is a -32602 and not a silently different request."""

    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and bool not in accepts:
            raise TypeError(f"expected {kind.__name__}, got a boolean")
        if not isinstance(value, accepts):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return kind(value)

    _converter.register_structure_hook(kind, structure)


_strict(str, (str,))
_strict(int, (int,))
_strict(float, (int, float))
_strict(bool, (bool,))


class InvalidParams(JsonRpcInvalidParams):
    """Raised for params that do not fit a method's type; the server answers -32602."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


def _plain(value: Any) -> Any:
    """pygls hands custom params over as nested namedtuple-like objects or dicts."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")

#: LSP's RequestFailed: a valid request that could not be carried out (no model, refused...).
REQUEST_FAILED = -32803


class RequestFailed(JsonRpcException):
    """A valid request that could not be carried out; `data` tells clients what happened."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message=message, code=REQUEST_FAILED, data=data)


class OutsideRootsError(RequestFailed):
    """The one refusal for a URI or path outside the workspace roots (server.paths.in_roots),
    whichever method was given it; `data.kind` is "outside-roots"."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message, {"kind": "outside-roots", "path": path})


def snake_keys(value: Any) -> Any:
    """Clients may write params in camelCase: turn every key into snake_case, recursively."""
    value = _plain(value)
    if isinstance(value, dict):
        return {_CAMEL.sub(r"_\1", str(k)).lower(): snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def parse(params: Any, cls: type[T]) -> T:
    data = _plain(params)
    if data is None:
        data = {}
    try:
        return _converter.structure(data, cls)
    except Exception as exc:
        if isinstance(exc, cattrs.BaseValidationError):
            detail = "; ".join(cattrs.transform_error(exc))
        else:
            detail = str(exc)
        raise InvalidParams(f"invalid params for {cls.__name__}: {detail}") from exc


def dump(value: Any) -> Any:
    return _converter.unstructure(value)


# -- shared shapes ---------------------------------------------------------------------
@define
class Empty:
    pass


@define
class SettingsResult:
    settings: dict[str, Any]
    problems: list[str] = field(factory=list)


@define
class StatusResult:
    version: str
    model: str
    backend: str
    route: str  # "local", or "remote" while an approved escalation is being sent
    remote_enabled: bool
    index: dict[str, Any] = field(factory=dict)
    #: The in-process model is in memory (loaded by a completion or the preload).
    model_loaded: bool = False
    #: "loaded", "not loaded" (loads on first use) or "error" (see model_error).
    model_state: str = "not loaded"
    #: What is wrong with the model (missing, damaged, failed to load), and the command
    #: that fixes it; empty when nothing is known to be wrong.
    model_error: str = ""
    model_fix: str = ""


def as_dict(obj: Any) -> Any:
    return attrs.asdict(obj) if attrs.has(type(obj)) else obj


# -- escalation and audit (server/egress) ----------------------------------------------
# Params accept camelCase or snake_case keys; unknown keys are refused (a misspelt
# `dropped` must never send what the user meant to drop).  Results are snake_case.
ESCALATE_CHUNK = "stead/escalate/chunk"  # notification server → client: {id, text}


@define
class EscalatePosition:
    line: int  # 0-based, as in LSP
    character: int = 0


@define
class EscalateRange:
    start: EscalatePosition
    end: EscalatePosition


@define
class EscalateItem:
    path: str  # workspace-relative, absolute or a file:// URI; outside the roots is refused
    start_line: int = 1  # 1-based, inclusive
    end_line: int = 0  # inclusive; 0 = to the end of the file


@define
class EscalatePreviewParams:
    question: str
    provider: str
    #: Explicit excerpts; when absent, the current file (`uri`) or its `selection` is sent.
    items: list[EscalateItem] | None = None
    uri: str | None = None
    selection: EscalateRange | None = None
    #: "user asked" | "local model declined" | "context exceeds the local window"
    reason: str = "user asked"


@define
class EscalateSendParams:
    id: str
    #: Indexes of manifest items the user unticked.
    dropped: list[int] = field(factory=list)
    #: False records the user's refusal and forgets the manifest.
    approve: bool = True


@define
class AuditListParams:
    limit: int = 100


# -- context selection and chat (server/context, server/chat) ---------------------------
# Params accept camelCase or snake_case keys (`conversationId` or `conversation_id`);
# results are snake_case.  Positions are LSP's (0-based); manifest lines are 1-based and
# inclusive.
#
# Streaming: while `stead/chat` runs, the server sends `stead/chat/chunk` notifications
# {token, id, conversation_id, index, text}: `text` is the next piece of the answer (the
# last piece may be the notes, e.g. "Note: Context was cut ..."); `token` (and `id`, the
# same value) echo the request's `token` param, or the conversation id when none was given.
# The final result carries the whole answer, so a client that ignores chunks loses nothing.
# Cancelling the request ($/cancelRequest) stops generation.
CHAT_CONVERSATIONS = "stead/chat/conversations"  # list recent conversations
CHAT_HISTORY = "stead/chat/history"  # the turns of one conversation
CHAT_DELETE = "stead/chat/delete"


@define
class ContextPosition:
    line: int  # 0-based
    character: int = 0


@define
class SelectContextParams:
    question: str
    #: The file the user is in and where; adds the code around the cursor and its symbols.
    uri: str | None = None
    position: ContextPosition | None = None
    #: Token budget; defaults to `context.chat_budget`.
    budget: int | None = None


@define
class ChatParams:
    question: str
    #: Continue this conversation; absent starts a new one (its id is in the result).
    conversation_id: str | None = None
    uri: str | None = None
    position: ContextPosition | None = None
    #: Selected text (a string, or {start_line, end_line, text}); always put in context.
    selection: Any = None
    #: Echoed in every `stead/chat/chunk` so a client can route the stream.
    token: str | None = None
    budget: int | None = None
    max_tokens: int | None = None


@define
class ConversationParams:
    conversation_id: str


@define
class ManifestItem:
    path: str  # workspace-relative when inside a root, else absolute
    uri: str
    start_line: int
    end_line: int
    tokens: int
    reason: str  # "symbol match + full-text"
    reasons: list[str] = field(factory=list)
    detail: str = ""  # e.g. the symbol that matched
    score: float = 0.0


@define
class ManifestDropped:
    path: str
    start_line: int
    end_line: int
    tokens: int
    why: str  # "over budget", "duplicate", "overlaps the cursor window"


@define
class Manifest:
    items: list[ManifestItem] = field(factory=list)
    dropped: list[ManifestDropped] = field(factory=list)
    tokens: int = 0
    budget: int = 0
    cut: bool = False
    notes: list[str] = field(factory=list)
    #: How the budget was chosen (model window, setting, prompt-reading time).
    budget_why: str = ""


@define
class ChatResult:
    conversation_id: str
    answer: str  # the model's text followed by the notes
    manifest: Manifest
    model: str
    route: str = "local"
    notes: list[str] = field(factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stop_reason: str = ""
    latency_ms: float = 0.0
    #: Milliseconds: select, load, prompt, generate, first_token, total (and reused_tokens).
    timings: dict[str, float] = field(factory=dict)


# -- completion feedback (models and completion) --------------------------------------
@define
class CompletionFeedback:
    """Params of `stead/completion/accepted` and `/rejected`; every field is optional."""

    uri: str = ""
    #: The suggestion text as shown (or the part accepted).
    text: str = ""
    line: int = -1
    character: int = -1
    #: Characters accepted when only part was taken (word/line acceptance); -1 = all.
    accepted_chars: int = -1


# -- prompt history (server/history) ----------------------------------------------------
@define
class HistoryListParams:
    limit: int = 50
    offset: int = 0
    kind: str | None = None
    #: Only entries of this workspace (or below it); None lists every workspace.
    workspace: str | None = None
    #: Unix time: only entries at or after it.
    since: float | None = None
    private: bool | None = None
    conversation_id: str | None = None


@define
class HistorySearchParams:
    query: str
    limit: int = 50
    kind: str | None = None
    workspace: str | None = None


@define
class HistoryShowParams:
    id: int


@define
class HistoryPrivateParams:
    ids: list[int]
    private: bool = True


@define
class HistoryDeleteParams:
    """Delete by `ids`, by filter (kind/workspace/before/query), or `all`; never by nothing."""

    ids: list[int] | None = None
    all: bool = False
    kind: str | None = None
    workspace: str | None = None
    before: float | None = None
    query: str | None = None
    vacuum: bool = False


@define
class HistoryExportParams:
    #: A local file to write (JSONL); private entries are never written.
    path: str
    kind: str | None = None
    workspace: str | None = None
    since: float | None = None


# -- workspace index (index/, server/handlers/index.py) ----------------------------------
@define
class SearchParams:
    query: str
    k: int = 10
    mode: str = field(default="hybrid", validator=attrs.validators.in_(("hybrid", "fts", "vector")))
    path_glob: str | None = None  # e.g. "src/**/*.py"
    language: str | None = None  # e.g. "python"
    #: role -> weight (code, test, docs, config, generated; missing ones count 1.0, 0 leaves
    #: a role out), e.g. {"test": 0.5} for "how does X work", {"test": 2} for "where is X
    #: tested"
    roles: dict[str, float] | None = None


@define
class IndexRebuildParams:
    paths: list[str] | None = None  # only these files (absolute or workspace-relative)
