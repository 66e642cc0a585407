"""Token ids to bytes from a GGUF vocabulary, so the gpt4all backend can tell which part of
its evaluated context a new prompt shares (gpt4all exposes token ids, not a tokenizer)."""

from __future__ import annotations

from collections.abc import Sequence

_CONTROL, _USER, _BYTE = 3, 4, 6


def _gpt2_byte_decoder() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


class TokenBytes:
    """Decodes ids the way llama.cpp renders them with special tokens shown."""

    def __init__(
        self, tokens: Sequence[str], types: Sequence[int], model: str, bos_id: int | None
    ) -> None:
        self.bos_id = bos_id
        self._table: list[bytes] = []
        dec = _gpt2_byte_decoder() if model == "gpt2" else {}
        for i, tok in enumerate(tokens):
            kind = types[i] if i < len(types) else 1
            if kind in (_CONTROL, _USER):
                self._table.append(tok.encode())
            elif model == "gpt2":
                try:
                    self._table.append(bytes(dec[c] for c in tok))
                except KeyError:
                    self._table.append(tok.encode())
            elif kind == _BYTE and tok.startswith("<0x") and tok.endswith(">"):
                self._table.append(bytes([int(tok[3:-1], 16)]))
            else:
                self._table.append(tok.replace("▁", " ").encode())

    def offsets(self, ids: Sequence[int]) -> tuple[list[int], bytes]:
        """End offset of each token in the concatenated bytes, and those bytes (a BOS at
        position 0 renders as nothing: the prompt text does not contain it)."""
        out = []
        parts = []
        pos = 0
        for i, t in enumerate(ids):
            piece = b"" if (i == 0 and t == self.bos_id) else (
                self._table[t] if 0 <= t < len(self._table) else b""
            )
            parts.append(piece)
            pos += len(piece)
            out.append(pos)
        return out, b"".join(parts)


def common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix of two byte strings (bisection on slices: fast in C)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
