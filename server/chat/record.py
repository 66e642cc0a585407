"""Every chat prompt goes to the local history (the history store redacts it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def record_turn(
    enabled: bool, db_path: Path, result: Any, *, workspace: str = "", route: str = "local"
) -> int | None:
    """Record one turn with the files and line ranges it was shown; never fails the answer."""
    if not enabled:
        return None
    try:
        from server.history import Entry, FileRange, record
    except ImportError:
        return None
    try:
        prompt = "\n\n".join(f"[{m.role}]\n{m.content}" for m in result.messages)
        files = [
            FileRange(i.path, i.start_line, i.end_line) for i in result.selection.items
        ]
        stopped = result.stop_reason in ("cancelled", "callback", "timeout")
        outcome = "failed" if stopped else "answered"
        return record(
            Entry(
                kind="chat",
                prompt=prompt,
                response=result.text,
                model=result.model,
                route=route,
                workspace=workspace,
                files=files,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_ms=result.latency_ms,
                outcome=outcome,
                conversation_id=result.conversation_id,
            ),
            db_path,
        )
    except Exception:
        log.exception("could not record the chat turn in history")
        return None
