"""Prompt formats per model family: fill-in-the-middle markers and chat templates.

A model's family is read from its own vocabulary (which FIM and chat marker tokens it has),
so a GGUF added by path works without being in the registry.  Marker strings found in user
text are removed before prompting, so a file that happens to contain `<|fim_prefix|>` cannot
steer the model.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from attrs import frozen


@frozen
class FimFormat:
    name: str
    prefix: str
    suffix: str
    middle: str
    #: Strings (special tokens) that end a fill-in: end of text, file separators, markers.
    stop: tuple[str, ...]


FIM_FORMATS: dict[str, FimFormat] = {
    "qwen": FimFormat(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        ("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>", "<|im_end|>", "<|repo_name|>",
         "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    ),
    "starcoder": FimFormat(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        ("<|endoftext|>", "<file_sep>", "<fim_pad>", "<fim_prefix>", "<fim_suffix>",
         "<fim_middle>"),
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


def fim_prompt(fim: str, prefix: str, suffix: str) -> str:
    """The prompt text for one fill-in; "plain" continues the prefix alone."""
    fmt = FIM_FORMATS.get(fim)
    if fmt is None:
        return prefix
    if fim == "codellama":
        return f"{fmt.prefix} {prefix}{fmt.suffix}{suffix}{fmt.middle}"
    return f"{fmt.prefix}{prefix}{fmt.suffix}{suffix}{fmt.middle}"


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
    lines = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


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
    elif fim == "deepseek":
        chat = "deepseek"
    else:
        chat = "plain"
    return fim, chat


def chat_stops(chat: str) -> tuple[str, ...]:
    return CHAT_STOPS.get(chat, CHAT_STOPS["plain"])
