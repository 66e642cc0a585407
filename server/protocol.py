"""stead's own LSP methods, namespaced `stead/`, and their parameter and result types.

Clients (VS Code, Neovim, the CLI's LSP mode) and the server agree on these names and
shapes; nothing else in the code spells a method string.  Params arrive as plain JSON and
are structured with `parse`, which turns bad input into a JSON-RPC InvalidParams error.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import cattrs
from attrs import define, field
from pygls.exceptions import JsonRpcInvalidParams

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
    route: str  # "local" always, unless an escalation is in flight
    remote_enabled: bool
    index: dict[str, Any] = field(factory=dict)


def as_dict(obj: Any) -> Any:
    return attrs.asdict(obj) if attrs.has(type(obj)) else obj


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
