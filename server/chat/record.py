"""Every chat prompt goes to the local history (the history store redacts it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def record_turn(enabled: bool, db_path: Path, result: Any, route: str = "local") -> None:
    """Record one turn; history trouble is logged, never fails the answer."""
    if not enabled:
        return
    try:
        from server.history import Entry, record  # type: ignore[attr-defined]
    except ImportError:
        return
    try:
        prompt = "\n\n".join(f"[{m.role}]\n{m.content}" for m in result.messages)
        record(
            Entry(
                kind="chat",
                prompt=prompt,
                response=result.text,
                model=result.model,
                route=route,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_ms=result.latency_ms,
                outcome=result.stop_reason,
            ),
            db_path,
        )
    except Exception:
        log.exception("could not record the chat turn in history")
