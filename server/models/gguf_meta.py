"""Read what stead needs from a GGUF file's header, fast, and say clearly what is wrong.

`gguf.GGUFReader` parses every tensor and merge entry (seconds for a 100 MB model); the
completion pipeline only needs the architecture, context length, special token ids and the
vocabulary, so this reads the key/value section alone and stops before the tensor table.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from attrs import field, frozen

from server.backends.base import ModelError

#: Architectures the llama.cpp inside gpt4all 2.8 runs (its KNOWN_ARCHES).
SUPPORTED_ARCHES = frozenset({
    "llama", "falcon", "gpt2", "gptneox", "mpt", "baichuan", "starcoder", "refact", "bert",
    "nomic-bert", "bloom", "stablelm", "qwen", "qwen2", "qwen2moe", "phi2", "phi3", "codeshell",
    "orion", "internlm2", "gemma", "gemma2", "starcoder2", "xverse", "command-r", "olmo",
    "openelm", "deepseek2", "chatglm", "jais",
})
#: Pre-tokenizer names newer than that llama.cpp, with the known same-regex replacement.
PRE_REWRITES = {"smollm": "refact"}

_SCALARS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_WANTED_ARRAYS = {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"}


@frozen
class GgufMeta:
    path: Path
    architecture: str
    name: str
    context_length: int
    tokenizer_model: str
    pre: str
    bos_id: int | None
    eos_id: int | None
    tokens: tuple[str, ...] = field(repr=False)
    token_types: tuple[int, ...] = field(repr=False)
    chat_template: str = field(default="", repr=False)
    #: Byte offset and length of the `tokenizer.ggml.pre` string value (for patching).
    pre_span: tuple[int, int] | None = None
    values: dict[str, Any] = field(factory=dict, repr=False)


class _Reader:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def read(self, n: int) -> bytes:
        b = self.f.read(n)
        if len(b) != n:
            raise EOFError
        return b

    def scalar(self, kind: int) -> Any:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        (n,) = struct.unpack("<Q", self.read(8))
        if n > 1 << 30:
            raise ValueError("string length out of range")
        return self.read(n).decode("utf-8", "replace")

    def skip_string(self) -> None:
        (n,) = struct.unpack("<Q", self.read(8))
        self.f.seek(n, 1)

    def value(self, kind: int, want: bool) -> Any:
        if kind in _SCALARS:
            return self.scalar(kind)
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = struct.unpack("<IQ", self.read(12))
            if count > 1 << 28:
                raise ValueError("array length out of range")
            if item == _STRING:
                if want:
                    return [self.string() for _ in range(count)]
                for _ in range(count):
                    self.skip_string()
                return None
            if item in _SCALARS:
                size = struct.calcsize(_SCALARS[item])
                data = self.read(size * count)
                if want:
                    return list(struct.unpack(f"<{count}{_SCALARS[item][1]}", data))
                return None
            raise ValueError(f"unknown array item type {item}")
        raise ValueError(f"unknown value type {kind}")


def read_meta(path: Path) -> GgufMeta:
    """Parse the header of a GGUF file; ModelError names the file and the fix."""
    path = Path(path)
    fix = "check the path in settings (model.path) or run `stead models list`"
    if not path.exists():
        raise ModelError(f"{path}: model file not found; {fix}")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a GGUF model file; {fix}")
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelError(
                    f"{path}: not a GGUF model file (corrupt or another format); "
                    "use a .gguf file, or re-copy it and run `stead models verify`"
                )
            r = _Reader(f)
            version = r.scalar(4)
            if version not in (2, 3):
                raise ModelError(f"{path}: GGUF version {version} is not supported (need 2 or 3)")
            _n_tensors, n_kv = struct.unpack("<QQ", r.read(16))
            values: dict[str, Any] = {}
            pre_span = None
            for _ in range(n_kv):
                key = r.string()
                (kind,) = struct.unpack("<I", r.read(4))
                if key == "tokenizer.ggml.pre" and kind == _STRING:
                    (n,) = struct.unpack("<Q", r.read(8))
                    pre_span = (f.tell(), n)
                    values[key] = r.read(n).decode("utf-8", "replace")
                    continue
                values[key] = r.value(kind, want=key in _WANTED_ARRAYS or kind != _ARRAY)
    except ModelError:
        raise
    except (EOFError, ValueError, struct.error, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{path}: the GGUF header is truncated or corrupt ({exc or 'unexpected end'}); "
            "re-copy or re-download the file and run `stead models verify`"
        ) from exc
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model file ({exc.strerror})") from exc

    arch = str(values.get("general.architecture", ""))
    if not arch:
        raise ModelError(f"{path}: GGUF file has no general.architecture; it is not a model")
    tokens = values.get("tokenizer.ggml.tokens") or []
    return GgufMeta(
        path=path,
        architecture=arch,
        name=str(values.get("general.name", path.stem)),
        context_length=int(values.get(f"{arch}.context_length", 2048) or 2048),
        tokenizer_model=str(values.get("tokenizer.ggml.model", "")),
        pre=str(values.get("tokenizer.ggml.pre", "")),
        bos_id=values.get("tokenizer.ggml.bos_token_id"),
        eos_id=values.get("tokenizer.ggml.eos_token_id"),
        tokens=tuple(tokens),
        token_types=tuple(values.get("tokenizer.ggml.token_type") or ()),
        chat_template=str(values.get("tokenizer.chat_template", "")),
        pre_span=pre_span,
        values={k: v for k, v in values.items() if not isinstance(v, list)},
    )


def check_runnable(meta: GgufMeta) -> None:
    """Refuse models the bundled llama.cpp cannot run, before it fails less clearly."""
    if meta.architecture not in SUPPORTED_ARCHES:
        raise ModelError(
            f"{meta.path}: architecture {meta.architecture!r} is not supported by the gpt4all "
            f"backend (supported: {', '.join(sorted(SUPPORTED_ARCHES))}); use another model or "
            "serve it with a local OpenAI-compatible server (model.backend = "
            "\"openai-compatible\")"
        )
    if meta.pre in PRE_REWRITES:
        raise ModelError(
            f"{meta.path}: tokenizer pre-type {meta.pre!r} is unknown to the gpt4all backend; "
            f"`stead models add {meta.path}` stores a copy patched to "
            f"{PRE_REWRITES[meta.pre]!r} (same pre-tokenizer), or use another model"
        )
    if not meta.tokens:
        raise ModelError(f"{meta.path}: GGUF file has no tokenizer vocabulary")


def patch_pre(path: Path, new: str) -> None:
    """Rewrite `tokenizer.ggml.pre` in place (same length only: the file layout is kept)."""
    meta = read_meta(path)
    if meta.pre_span is None:
        raise ModelError(f"{path}: has no tokenizer.ggml.pre to patch")
    offset, length = meta.pre_span
    data = new.encode()
    if len(data) != length:
        raise ModelError(f"{path}: cannot patch pre-tokenizer {meta.pre!r} to {new!r} in place")
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)
