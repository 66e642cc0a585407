"""A tiny llama-architecture GGUF built at test time, so real tokens flow through gpt4all.

No model is downloaded in tests.  Instead this writes a ~1 MB GGUF with the `gguf` package
that the real gpt4all backend (llama.cpp) loads in milliseconds and runs at >1,000 tokens/s.

Its weights are set by hand so that greedy output is deterministic, printable and code-like:
the network is a "successor table".  The single transformer block has all-zero attention
and feed-forward output projections, so the residual stream is the one-hot embedding of the
last token; the output matrix maps each token to a large logit on its successor.  A chain of
`pieces` (multi-character vocabulary entries such as ``"return"`` or ``"▁a"``) is spelled
out after any other token, then the model emits end-of-sequence (``end="eos"``), starts the
chain again (``end="loop"``: a model that never stops), or a given token.

With the defaults, every prompt whose last token is not part of the chain completes to
``DEFAULT_OUTPUT`` (``"return a + b"``) and then stops.  A prompt ending in ``" a"`` continues
with ``" + b"`` (the chain resumes where the prompt left it).

The vocabulary is byte-level SentencePiece style: <unk>, <s>, </s>, "▁" (the space), the 256
byte tokens <0x00>..<0xFF>, then the chain's pieces and optional FIM control tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

DEFAULT_PIECES: tuple[str, ...] = ("return", "▁a", "▁+", "▁b")
DEFAULT_OUTPUT = "return a + b"

#: StarCoder2-style fill-in-the-middle control tokens (`fim=True` adds them).
FIM_TOKENS: tuple[str, ...] = ("<fim_prefix>", "<fim_suffix>", "<fim_middle>")

UNK, BOS, EOS, SPACE = 0, 1, 2, 3
_BYTE0 = 4
_TT_NORMAL, _TT_UNKNOWN, _TT_CONTROL, _TT_BYTE = 1, 2, 3, 6


def _base_vocab() -> tuple[list[str], list[int]]:
    tokens = ["<unk>", "<s>", "</s>", "▁"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [_TT_UNKNOWN, _TT_CONTROL, _TT_CONTROL, _TT_NORMAL] + [_TT_BYTE] * 256
    return tokens, types


def build_tiny_gguf(
    path: Path,
    *,
    pieces: Sequence[str] = DEFAULT_PIECES,
    end: Literal["eos", "loop"] | str = "eos",
    fim: bool = False,
    context_length: int = 2048,
    name: str = "stead-tiny",
    architecture: str = "llama",
) -> Path:
    """Write the tiny model to `path` and return it.

    `pieces` are vocabulary strings ("▁" stands for a space); an existing entry such as
    ``"<0x0A>"`` (newline) is reused, anything else becomes a new token.  A piece may occur
    once only (the successor of a token is a function of that token).  `end` is "eos",
    "loop" or the vocabulary string of the token that follows the last piece.
    `architecture` other than "llama" writes an otherwise identical file for error tests.
    """
    import gguf

    tokens, types = _base_vocab()
    index = {t: i for i, t in enumerate(tokens)}

    def token_id(piece: str) -> int:
        if piece not in index:
            index[piece] = len(tokens)
            tokens.append(piece)
            types.append(_TT_NORMAL)
        return index[piece]

    fim_ids: list[int] = []
    if fim:
        for t in FIM_TOKENS:
            index[t] = len(tokens)
            tokens.append(t)
            types.append(_TT_CONTROL)
            fim_ids.append(index[t])

    chain = [token_id(p) for p in pieces]
    if len(set(chain)) != len(chain):
        raise ValueError(f"each piece may occur once in the chain: {list(pieces)}")
    if end == "eos":
        after_last = EOS
    elif end == "loop":
        after_last = chain[0] if chain else EOS
    else:
        after_last = token_id(end)

    n_vocab = len(tokens)
    n_embd = -(-n_vocab // 32) * 32  # one-hot embeddings; a multiple of the head size
    n_head, n_ff, n_layer = n_embd // 32, 32, 1

    successor = np.full(n_vocab, chain[0] if chain else EOS, dtype=np.int64)
    for here, nxt in zip(chain, [*chain[1:], after_last], strict=False):
        successor[here] = nxt
    if end not in ("eos", "loop") and index[end] not in chain:
        successor[index[end]] = EOS

    embd = np.zeros((n_vocab, n_embd), dtype=np.float32)
    embd[np.arange(n_vocab), np.arange(n_vocab)] = 1.0
    # RMS norm turns the one-hot e_t into sqrt(n_embd) * e_t; the output row for the
    # successor gets a logit of 12, every other token 0: greedy and sampling agree.
    out = np.zeros((n_vocab, n_embd), dtype=np.float32)
    out[successor, np.arange(n_vocab)] = 12.0 / np.sqrt(n_embd)
    # Printable bytes get a slightly positive logit, control bytes a negative one, so that
    # even sampled (non-greedy) output stays printable.
    printable = [_BYTE0 + b for b in range(32, 127)]
    out[printable, :n_vocab] += 0.5 / np.sqrt(n_embd)

    w = gguf.GGUFWriter(str(path), architecture)
    w.add_name(name)
    w.add_context_length(context_length)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_file_type(0)  # all F32
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * 4 + [-1000.0] * 256 + [-1.0] * (n_vocab - 260))
    w.add_token_types(types)
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_unk_token_id(UNK)
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)

    zeros = np.zeros
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", out)
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(p + t + ".weight", zeros((n_embd, n_embd), dtype=np.float32))
        w.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", zeros((n_ff, n_embd), dtype=np.float32))
        w.add_tensor(p + "ffn_up.weight", zeros((n_ff, n_embd), dtype=np.float32))
        w.add_tensor(p + "ffn_down.weight", zeros((n_embd, n_ff), dtype=np.float32))

    path.parent.mkdir(parents=True, exist_ok=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
