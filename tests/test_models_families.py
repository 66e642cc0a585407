"""Prompt formats per model family (pure, table-driven)."""

from __future__ import annotations

import pytest

from server.backends.base import ChatMessage
from server.models.families import chat_prompt, detect, fim_prompt, markers, sanitize


@pytest.mark.parametrize(
    ("fim", "expected"),
    [
        ("qwen", "<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>"),
        ("starcoder", "<fim_prefix>P<fim_suffix>S<fim_middle>"),
        ("deepseek", "<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>"),
        ("codellama", "▁<PRE> P▁<SUF>S▁<MID>"),
        ("plain", "P"),
        ("unknown", "P"),
    ],
)
def test_fim_prompt(fim: str, expected: str) -> None:
    assert fim_prompt(fim, "P", "S") == expected


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ({"<|fim_prefix|>", "<|fim_middle|>", "<|im_start|>"}, ("qwen", "chatml")),
        ({"<fim_prefix>", "<fim_middle>"}, ("starcoder", "plain")),
        ({"<｜fim▁begin｜>"}, ("deepseek", "deepseek")),
        ({"▁<PRE>", "▁<MID>"}, ("codellama", "plain")),
        ({"<|start_header_id|>"}, ("plain", "llama3")),
        ({"<|im_start|>", "<file_sep>"}, ("plain", "chatml")),  # SmolLM2-like
        (set(), ("plain", "plain")),
    ],
)
def test_detect(tokens: set[str], expected: tuple[str, str]) -> None:
    assert detect(tokens) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("chatml", "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                   "<|im_start|>assistant\n"),
        ("llama3", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n"),
        ("deepseek", "S\n### Instruction:\nU\n### Response:\n"),
        ("plain", "System: S\nUser: U\nAssistant:"),
    ],
)
def test_chat_prompt(template: str, expected: str) -> None:
    msgs = [ChatMessage("system", "S"), ChatMessage("user", "U")]
    assert chat_prompt(template, msgs) == expected


def test_sanitize_removes_markers_only() -> None:
    marks = markers("qwen", "chatml")
    text = "a = '<|fim_middle|>' # <|im_end|> <b>"
    assert sanitize(text, marks) == "a = '' #  <b>"
