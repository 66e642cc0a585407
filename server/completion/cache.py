"""Completions already computed: an LRU keyed by prompt, and typed-ahead reuse.

When the user types the first characters of a suggestion that was shown, the rest of it is
served from here without a model call (llama.vim looks back over recent suggestions the same
way).  Thread-safe: requests run on worker threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, deque

from attrs import frozen

#: Characters of the prefix before a suggestion that must still match when typing into it.
ANCHOR_CHARS = 256
#: Characters of the suffix that must be unchanged.
SUFFIX_CHARS = 256
#: Recent suggestions looked at for typed-ahead reuse.
RECENT = 32
#: Longest typed-ahead run followed (characters typed into one suggestion).
MAX_TYPED = 1024


@frozen
class Shown:
    model: str
    anchor: str  # the prefix tail at request time
    suffix_head: str
    text: str


def prompt_key(model: str, *parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(model.encode("utf-8", "surrogatepass"))
    for p in parts:
        h.update(b"\x00")
        h.update(p.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class CompletionCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lru: OrderedDict[str, str] = OrderedDict()
        self._recent: deque[Shown] = deque(maxlen=RECENT)
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            text = self._lru.get(key)
            if text is not None:
                self._lru.move_to_end(key)
            return text

    def put(self, key: str, text: str) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._lru[key] = text
            self._lru.move_to_end(key)
            while len(self._lru) > self.size:
                self._lru.popitem(last=False)

    def shown(self, model: str, prefix: str, suffix: str, text: str) -> None:
        """Remember a suggestion the user sees, for typed-ahead reuse."""
        if not text.strip() or self.size <= 0:
            return
        with self._lock:
            self._recent.append(
                Shown(model, prefix[-ANCHOR_CHARS:], suffix[:SUFFIX_CHARS], text)
            )

    def typed_ahead(self, model: str, prefix: str, suffix: str) -> str | None:
        """The rest of a shown suggestion whose beginning the user has typed, if any."""
        head = suffix[:SUFFIX_CHARS]
        last = prefix[-1:] if prefix else ""
        if not last:
            return None
        with self._lock:
            recent = list(self._recent)
        for s in reversed(recent):
            if s.model != model or s.suffix_head != head:
                continue
            text = s.text
            limit = min(len(text) - 1, MAX_TYPED)
            for t in range(1, limit + 1):
                if text[t - 1] != last or not prefix.endswith(text[:t]):
                    continue
                if prefix[: len(prefix) - t].endswith(s.anchor):
                    rest = text[t:]
                    if rest.strip():
                        return rest
        return None

    def forget_shown(self) -> None:
        with self._lock:
            self._recent.clear()
