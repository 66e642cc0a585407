"""What one history entry is: the record callers build and the row the store returns."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from attrs import define, field, frozen

KINDS = ("completion", "chat", "escalation")
OUTCOMES = ("shown", "accepted", "rejected", "answered", "refused", "failed")


_FAILED = ("cancel", "error", "timeout", "abort", "fail")


def normalize_outcome(kind: str, outcome: str) -> str:
    """Callers sometimes pass a model's stop reason ("stop", "length", "cache", "cancelled");
    keep the entry with the outcome it means rather than losing it."""
    if outcome in OUTCOMES:
        return outcome
    low = (outcome or "").lower()
    if any(word in low for word in _FAILED):
        return "failed"
    if "refus" in low or "declin" in low:
        return "refused"
    return "shown" if kind == "completion" else "answered"


@frozen
class FileRange:
    """A file and the 1-based line range of it that went into the prompt (0, 0 = whole)."""

    path: str
    start_line: int = 0
    end_line: int = 0


@define
class Entry:
    """One prompt sent to a model, as the completion, chat and escalation paths record it.

    `prompt` and `response` may hold secrets when passed in; they are redacted before
    anything is written.  `route` is "local" or "remote:<provider>".
    """

    kind: str
    prompt: str
    response: str = ""
    model: str = ""
    route: str = "local"
    workspace: str = ""
    files: list[FileRange] = field(factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    outcome: str = "answered"
    conversation_id: str | None = None
    private: bool = False


@define
class StoredEntry(Entry):
    """An entry as kept: redacted text, its id, time, and what redaction replaced."""

    id: int = 0
    uid: str = ""
    ts: float = 0.0
    redactions: dict[str, int] = field(factory=dict)
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "ts": self.ts, "kind": self.kind, "workspace": self.workspace,
            "model": self.model, "route": self.route, "prompt": self.prompt,
            "response": self.response,
            "files": [{"path": f.path, "start_line": f.start_line, "end_line": f.end_line}
                      for f in self.files],
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms, "outcome": self.outcome,
            "conversation_id": self.conversation_id, "redactions": self.redactions,
            "truncated": self.truncated,
        }

    def summary(self, width: int = 72) -> str:
        first = " ".join(self.prompt.split())
        return first if len(first) <= width else first[: width - 1] + "…"

    @classmethod
    def from_json(cls, data: Any) -> StoredEntry:
        """Validate one imported line; raises ValueError naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")

        def text(name: str, default: str = "") -> str:
            value = data.get(name, default)
            if value is None:
                return default
            if not isinstance(value, str):
                raise ValueError(f"{name}: expected a string")
            return value

        def number(name: str, kind: type = float) -> Any:
            value = data.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name}: expected a number")
            return kind(value)

        kind = text("kind")
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        outcome = text("outcome", "answered")
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
        if "prompt" not in data:
            raise ValueError("prompt: missing")
        files_raw = data.get("files") or []
        if not isinstance(files_raw, list):
            raise ValueError("files: expected a list")
        files = []
        for f in files_raw:
            if not isinstance(f, dict) or not isinstance(f.get("path"), str):
                raise ValueError("files: each needs a path")
            files.append(FileRange(f["path"], int(f.get("start_line") or 0),
                                   int(f.get("end_line") or 0)))
        redactions = data.get("redactions") or {}
        if not isinstance(redactions, dict):
            raise ValueError("redactions: expected an object")
        conversation = data.get("conversation_id")
        ts = number("ts") if data.get("ts") is not None else time.time()
        return cls(
            kind=kind, prompt=text("prompt"), response=text("response"), model=text("model"),
            route=text("route", "local"), workspace=text("workspace"), files=files,
            prompt_tokens=number("prompt_tokens", int),
            completion_tokens=number("completion_tokens", int),
            latency_ms=number("latency_ms"), outcome=outcome,
            conversation_id=str(conversation) if conversation is not None else None,
            private=bool(data.get("private", False)),
            uid=text("uid") or _content_uid(kind, ts, text("prompt"), text("response")), ts=ts,
            redactions={str(k): int(v) for k, v in redactions.items()},
            truncated=bool(data.get("truncated", False)),
        )


def _content_uid(kind: str, ts: float, prompt: str, response: str) -> str:
    """Lines written by hand have no uid: derive one so importing twice adds nothing."""
    data = json.dumps([kind, ts, prompt, response]).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]


def entry_json(e: StoredEntry, *, full: bool = False) -> dict[str, Any]:
    """An entry for a client: summary fields always, the text only when asked."""
    out: dict[str, Any] = {
        "id": e.id, "ts": e.ts, "kind": e.kind, "workspace": e.workspace, "model": e.model,
        "route": e.route, "outcome": e.outcome, "private": e.private,
        "prompt_tokens": e.prompt_tokens, "completion_tokens": e.completion_tokens,
        "latency_ms": e.latency_ms, "conversation_id": e.conversation_id,
        "files": [{"path": f.path, "start_line": f.start_line, "end_line": f.end_line}
                  for f in e.files],
        "redactions": dict(e.redactions), "summary": e.summary(), "truncated": e.truncated,
    }
    if full:
        out["prompt"] = e.prompt
        out["response"] = e.response
    return out
