"""The model's own chat template decides how a conversation is rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.backends.base import ChatMessage
from server.models.families import chat_prompt, chat_stops, detect, template_family

QWEN_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- endif %}{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@pytest.mark.parametrize(
    ("template", "family"),
    [
        (QWEN_TEMPLATE, "chatml"),
        ("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}", "llama3"),
        ("{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}", "gemma"),
        ("{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + '<|end|>\\n'}}{{ '<|assistant|>\\n' }}", "phi3"),
        ("{{ '### Instruction:\\n' + message['content'] }}", "deepseek"),
        ("", None),
        ("{{ message['content'] }}", None),
    ],
)
def test_template_family(template: str, family: str | None) -> None:
    assert template_family(template) == family


MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi?"),
            ChatMessage("assistant", "Hello."), ChatMessage("user", "Where?")]


def test_chatml_renders_like_the_qwen_template() -> None:
    assert chat_prompt("chatml", MESSAGES) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nWhere?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert "<|im_end|>" in chat_stops("chatml")


def test_gemma_has_no_system_role_so_it_opens_the_first_user_turn() -> None:
    assert chat_prompt("gemma", MESSAGES) == (
        "<start_of_turn>user\nBe brief.\n\nHi?<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
        "<start_of_turn>user\nWhere?<end_of_turn>\n<start_of_turn>model\n"
    )
    assert "<end_of_turn>" in chat_stops("gemma")


def test_phi3() -> None:
    assert chat_prompt("phi3", MESSAGES[:2]) == (
        "<|system|>\nBe brief.<|end|>\n<|user|>\nHi?<|end|>\n<|assistant|>\n"
    )
    assert "<|end|>" in chat_stops("phi3")


@pytest.mark.parametrize(
    ("tokens", "chat"),
    [
        ({"<|im_start|>", "<|im_end|>"}, "chatml"),
        ({"<start_of_turn>", "<end_of_turn>"}, "gemma"),
        ({"<|assistant|>", "<|end|>", "<|user|>"}, "phi3"),
        ({"a", "b"}, "plain"),
    ],
)
def test_vocabulary_guess_when_there_is_no_template(tokens: set[str], chat: str) -> None:
    assert detect(tokens)[1] == chat


def test_the_backend_uses_the_template_of_the_gguf(tmp_path: Path) -> None:
    """A GGUF whose vocabulary says nothing but whose template is ChatML talks ChatML."""
    import gguf

    from server.backends.gpt4all_backend import Gpt4AllBackend
    from tests.tinymodel import build_tiny_gguf

    plain = build_tiny_gguf(tmp_path / "plain.gguf")
    assert Gpt4AllBackend(plain).info.chat == "plain"
    # the same model with a chat template in its metadata
    reader = gguf.GGUFReader(str(plain))
    writer = gguf.GGUFWriter(str(tmp_path / "templated.gguf"), arch="llama")
    for f in reader.fields.values():
        if f.name.startswith("GGUF.") or f.name == "general.architecture":
            continue
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_array(f.name, f.contents())
        else:
            writer.add_key_value(f.name, f.contents(), f.types[0])
    writer.add_chat_template(QWEN_TEMPLATE)
    for t in reader.tensors:
        writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert Gpt4AllBackend(tmp_path / "templated.gguf").info.chat == "chatml"
