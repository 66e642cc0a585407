"""The ring of recently edited or viewed chunks across open documents.

What the user just touched elsewhere is often what the next line needs (a function just
written in another file, a constant just looked at).  Like llama.vim's chunk ring, it keeps
the last N small chunks; edits and completion requests feed it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from attrs import frozen

from server.context.budget import overlap, same_path
from server.context.types import RECENT, Candidate

#: Lines in one ring chunk: small enough that several fit a completion budget.
CHUNK_LINES = 16


@frozen
class RingEntry:
    path: str
    start_line: int  # 1-based inclusive
    end_line: int
    text: str
    at: float  # time.monotonic() of the last touch


def chunk_around(lines: Sequence[str], line: int, size: int = CHUNK_LINES) -> tuple[int, int, str]:
    """The `size`-line chunk centred on 1-based `line`, clamped to the document."""
    n = len(lines)
    if n == 0:
        return (1, 1, "")
    line = min(max(1, line), n)
    start = max(1, line - size // 2)
    end = min(n, start + size - 1)
    start = max(1, end - size + 1)
    return (start, end, "".join(lines[start - 1 : end]))


class RecentRing:
    """Thread-safe, bounded, newest first; one entry per area of a file."""

    def __init__(self, capacity: int = 16, chunk_lines: int = CHUNK_LINES) -> None:
        self.capacity = capacity
        self.chunk_lines = chunk_lines
        self._entries: list[RingEntry] = []
        self._lock = threading.Lock()

    def touch(self, path: str, lines: Sequence[str], line: int) -> None:
        """Remember the chunk around `line` of `path` (whose current text is `lines`)."""
        if self.capacity <= 0:
            return
        start, end, text = chunk_around(lines, line, self.chunk_lines)
        if not text.strip():
            return
        entry = RingEntry(path, start, end, text, time.monotonic())
        with self._lock:
            self._entries = [
                e
                for e in self._entries
                if not (same_path(e.path, path) and overlap(e.start_line, e.end_line, start, end))
            ]
            self._entries.insert(0, entry)
            del self._entries[self.capacity :]

    def refresh(self, path: str, lines: Sequence[str]) -> None:
        """Re-read the chunks of `path` from its current text so they never show stale code."""
        with self._lock:
            fresh = []
            for e in self._entries:
                if same_path(e.path, path):
                    if e.start_line > len(lines):
                        continue
                    end = min(e.end_line, len(lines))
                    text = "".join(lines[e.start_line - 1 : end])
                    e = RingEntry(e.path, e.start_line, end, text, e.at)
                fresh.append(e)
            self._entries = fresh

    def forget(self, path: str) -> None:
        with self._lock:
            self._entries = [e for e in self._entries if not same_path(e.path, path)]

    def resize(self, capacity: int) -> None:
        with self._lock:
            self.capacity = capacity
            del self._entries[max(0, capacity) :]

    def entries(self) -> list[RingEntry]:
        with self._lock:
            return list(self._entries)

    def candidates(self) -> list[Candidate]:
        """Newest first, scored by recency rank."""
        return [
            Candidate(e.path, e.start_line, e.end_line, e.text, RECENT, 1.0 / (i + 1))
            for i, e in enumerate(self.entries())
        ]
