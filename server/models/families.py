"""Prompt formats per model family: fill-in-the-middle markers and chat templates.

A model's family is read from its own vocabulary (which FIM and chat marker tokens it has),
so a GGUF added by path works without being in the registry.  Marker strings found in user
text are removed before prompting, so a file that happens to contain `<|fim_prefix|>` cannot
steer the model.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import PurePath
from typing import Protocol

from attrs import frozen

from server.backends.base import FimContext, FimFile


@frozen
class FimFormat:
    name: str
    prefix: str
    suffix: str
    middle: str
    #: Strings (special tokens) that end a fill-in: end of text, file separators, markers.
    stop: tuple[str, ...]
    #: Repository-level markers the family was trained with ("" when it has none): context
    #: files are then laid out as `repo_name NAME file_sep PATH\nTEXT ...`.
    repo_name: str = ""
    file_sep: str = ""


FIM_FORMATS: dict[str, FimFormat] = {
    "qwen": FimFormat(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        ("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>", "<|im_end|>", "<|repo_name|>",
         "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        "<|repo_name|>",
        "<|file_sep|>",
    ),
    "starcoder": FimFormat(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        ("<|endoftext|>", "<file_sep>", "<fim_pad>", "<fim_prefix>", "<fim_suffix>",
         "<fim_middle>"),
        "<repo_name>",
        "<file_sep>",
    ),
    "deepseek": FimFormat(
        "deepseek",
        "<｜fim▁begin｜>",
        "<｜fim▁hole｜>",
        "<｜fim▁end｜>",
        ("<｜end▁of▁sentence｜>", "<|EOT|>", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    ),
    # CodeLlama's markers are the SentencePiece pieces "▁<PRE>" etc. in GGUF vocabularies.
    "codellama": FimFormat(
        "codellama",
        "▁<PRE>",
        "▁<SUF>",
        "▁<MID>",
        ("▁<EOT>", "<EOT>", "</s>", "▁<PRE>", "▁<SUF>", "▁<MID>"),
    ),
}

#: Families without FIM training continue the prefix ("plain").
PLAIN = "plain"

CHAT_STOPS: dict[str, tuple[str, ...]] = {
    "chatml": ("<|im_end|>", "<|im_start|>", "<|endoftext|>"),
    "llama3": ("<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>"),
    "deepseek": ("<｜end▁of▁sentence｜>", "<|EOT|>", "### Instruction:"),
    "phi3": ("<|end|>", "<|endoftext|>", "<|user|>"),
    "gemma": ("<end_of_turn>", "<start_of_turn>", "<eos>"),
    "plain": ("\nUser:", "\nuser:"),
}


class _Message(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...


def markers(fim: str, chat: str) -> tuple[str, ...]:
    fmt = FIM_FORMATS.get(fim)
    marks = (fmt.prefix, fmt.suffix, fmt.middle, *fmt.stop) if fmt else ()
    return tuple(dict.fromkeys(m for m in (*marks, *CHAT_STOPS.get(chat, ())) if m.startswith(
        ("<", "▁<")
    )))


def sanitize(text: str, marks: Sequence[str]) -> str:
    """Remove special-token strings from user text (they would be parsed as tokens)."""
    for m in marks:
        if m in text:
            text = text.replace(m, "")
    return text


_HASH = {".py", ".pyi", ".sh", ".rb", ".pl", ".r", ".toml", ".yaml", ".yml", ".cfg", ".ini",
         ".mk", ".bash", ".zsh", ".ps1", ".nim", ".jl", ".ex", ".exs", ".cmake"}
_DASH = {".sql", ".lua", ".hs", ".elm", ".ada", ".adb", ".ads"}
_PERCENT = {".tex", ".erl", ".m"}


def comment_leader(path: str) -> str:
    """The line-comment marker of a file's language (for path header lines)."""
    p = PurePath(path)
    suffix, name = p.suffix.lower(), p.name.lower()
    if suffix in _HASH or name in ("makefile", "dockerfile"):
        return "#"
    if suffix in _DASH:
        return "--"
    if suffix in _PERCENT:
        return "%"
    return "//"


def _ends(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _header_files(ctx: FimContext) -> str:
    """Files in the layout of repository-level pretraining without markers (DeepSeek-Coder,
    CodeLlama, plain models): each file headed by a comment line holding its path."""
    if not ctx.files:
        return ""
    out = [f"{comment_leader(f.path)} {f.path}\n{_ends(f.text)}\n" for f in ctx.files]
    if ctx.path:
        out.append(f"{comment_leader(ctx.path)} {ctx.path}\n")
    return "".join(out)


def fim_prompt(
    fim: str,
    prefix: str,
    suffix: str,
    context: FimContext | None = None,
    *,
    repo_tokens: bool = True,
) -> str:
    """The prompt text for one fill-in, with repository context in the family's format.

    Context files always come before the prefix (and the prefix before the suffix), so a
    prompt typed one character further shares everything up to the cursor with the last
    one.  `repo_tokens` False: the vocabulary lacks the family's repository markers (e.g.
    StarCoder 1), so files get path header lines instead.  Without files, the bare FIM
    prompt.  "plain" continues the prefix alone.
    """
    fmt = FIM_FORMATS.get(fim)
    ctx = context if context is not None and context.files else None
    if fmt is None:
        return (_header_files(ctx) if ctx else "") + prefix
    if ctx is not None and fmt.repo_name and fmt.file_sep and repo_tokens:
        sep = fmt.file_sep
        if fim == "qwen":
            # Qwen2.5-Coder: <|repo_name|>R\n<|file_sep|>P\nTEXT\n...<|file_sep|>CUR\n<|fim_prefix|>
            head = f"{fmt.repo_name}{ctx.repo or 'repo'}\n"
            head += "".join(f"{sep}{f.path}\n{_ends(f.text)}" for f in ctx.files)
            head += f"{sep}{ctx.path or 'current'}\n"
            return f"{head}{fmt.prefix}{prefix}{fmt.suffix}{suffix}{fmt.middle}"
        # StarCoder2: <repo_name>R<file_sep>P\nTEXT<file_sep><fim_prefix>CUR\nPREFIX...
        head = f"{fmt.repo_name}{ctx.repo or 'repo'}"
        head += "".join(f"{sep}{f.path}\n{_ends(f.text)}" for f in ctx.files)
        cur = f"{ctx.path}\n" if ctx.path else ""
        return f"{head}{sep}{fmt.prefix}{cur}{prefix}{fmt.suffix}{suffix}{fmt.middle}"
    files = _header_files(ctx) if ctx else ""
    if fim == "codellama":
        return f"{fmt.prefix} {files}{prefix}{fmt.suffix}{suffix}{fmt.middle}"
    return f"{fmt.prefix}{files}{prefix}{fmt.suffix}{suffix}{fmt.middle}"


def sanitize_context(ctx: FimContext | None, marks: Sequence[str]) -> FimContext | None:
    """`sanitize` applied to every string of a FimContext."""
    if ctx is None:
        return None
    return FimContext(
        sanitize(ctx.repo, marks).replace("\n", " "),
        sanitize(ctx.path, marks).replace("\n", " "),
        tuple(
            FimFile(sanitize(f.path, marks).replace("\n", " "), sanitize(f.text, marks))
            for f in ctx.files
        ),
    )


def fim_stops(fim: str) -> tuple[str, ...]:
    fmt = FIM_FORMATS.get(fim)
    return fmt.stop if fmt else ()


def chat_prompt(template: str, messages: Sequence[_Message]) -> str:
    """Render a conversation and open the assistant's turn."""
    if template == "chatml":
        body = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
        return body + "<|im_start|>assistant\n"
    if template == "llama3":
        body = "".join(
            f"<|start_header_id|>{m.role}<|end_header_id|>\n\n{m.content}<|eot_id|>"
            for m in messages
        )
        return "<|begin_of_text|>" + body + "<|start_header_id|>assistant<|end_header_id|>\n\n"
    if template == "deepseek":
        parts = []
        for m in messages:
            if m.role == "system":
                parts.append(m.content + "\n")
            elif m.role == "user":
                parts.append(f"### Instruction:\n{m.content}\n")
            else:
                parts.append(f"### Response:\n{m.content}\n<|EOT|>\n")
        return "".join(parts) + "### Response:\n"
    if template == "phi3":
        body = "".join(f"<|{m.role}|>\n{m.content}<|end|>\n" for m in messages)
        return body + "<|assistant|>\n"
    if template == "gemma":
        # no system role: its text opens the first user turn
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        parts, pending = [], system
        for m in messages:
            if m.role == "system":
                continue
            role = "model" if m.role == "assistant" else "user"
            text = f"{pending}\n\n{m.content}" if pending and role == "user" else m.content
            if role == "user":
                pending = ""
            parts.append(f"<start_of_turn>{role}\n{text}<end_of_turn>\n")
        return "".join(parts) + "<start_of_turn>model\n"
    lines = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


#: Markers that identify a chat template's family in its Jinja source (GGUF
#: `tokenizer.chat_template`), most specific first.
_TEMPLATE_MARKERS = (
    ("<|im_start|>", "chatml"),
    ("<|start_header_id|>", "llama3"),
    ("<start_of_turn>", "gemma"),
    ("<|assistant|>", "phi3"),
    ("### Instruction", "deepseek"),
)


def template_family(chat_template: str) -> str | None:
    """The chat family a model's own template (GGUF `tokenizer.chat_template`) renders, or
    None when it is absent or none stead knows; the model's template is what it was tuned on,
    so it wins over a guess from the vocabulary."""
    for marker, family in _TEMPLATE_MARKERS:
        if marker in chat_template:
            return family
    return None


def detect(tokens: Collection[str]) -> tuple[str, str]:
    """(fim, chat) families from a vocabulary (a set of token strings)."""
    fim = PLAIN
    if "<|fim_prefix|>" in tokens and "<|fim_middle|>" in tokens:
        fim = "qwen"
    elif "<fim_prefix>" in tokens and "<fim_middle>" in tokens:
        fim = "starcoder"
    elif "<｜fim▁begin｜>" in tokens:
        fim = "deepseek"
    elif "▁<PRE>" in tokens and "▁<MID>" in tokens:
        fim = "codellama"
    if "<|im_start|>" in tokens:
        chat = "chatml"
    elif "<|start_header_id|>" in tokens:
        chat = "llama3"
    elif "<start_of_turn>" in tokens:
        chat = "gemma"
    elif "<|assistant|>" in tokens and "<|end|>" in tokens:
        chat = "phi3"
    elif fim == "deepseek":
        chat = "deepseek"
    else:
        chat = "plain"
    return fim, chat


def chat_stops(chat: str) -> tuple[str, ...]:
    return CHAT_STOPS.get(chat, CHAT_STOPS["plain"])
