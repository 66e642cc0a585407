"""The real gpt4all backend on tiny real GGUF models: stop rules, limits, cancellation,
context reuse and the error paths (missing, corrupt, unsupported files)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from server.backends.base import ChatMessage, ModelError
from server.backends.gpt4all_backend import Gpt4AllBackend

try:
    from tinymodel import DEFAULT_OUTPUT, build_tiny_gguf
except ImportError:  # pragma: no cover
    from tests.tinymodel import DEFAULT_OUTPUT, build_tiny_gguf


def backend(path: Path, **kw: object) -> Gpt4AllBackend:
    kw.setdefault("n_threads", 1)
    kw.setdefault("n_ctx", 512)
    return Gpt4AllBackend(path, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        "default": build_tiny_gguf(d / "tiny.gguf"),
        "fim": build_tiny_gguf(d / "tiny-fim.gguf", fim=True),
        "loop": build_tiny_gguf(d / "loop.gguf", end="loop"),
        "silent": build_tiny_gguf(d / "silent.gguf", pieces=()),
        "garbage": build_tiny_gguf(d / "garbage.gguf", pieces=("<0xFF>", "<0x00>", "<0xC3>")),
        "lines": build_tiny_gguf(d / "lines.gguf", pieces=("x", "<0x0A>", "y", "<0x3B>")),
    }


def test_fim_prompt_and_end_token(models: dict[str, Path]) -> None:
    b = backend(models["fim"])
    assert b.info.fim == "starcoder"
    gen = b.fim("def f():\n    ", "\n", max_tokens=32, stop=(), cancel=threading.Event())
    assert gen.text == DEFAULT_OUTPUT
    assert gen.stop_reason == "eos"
    assert gen.completion_tokens == 4
    assert gen.prompt_tokens > 0


def test_plain_model_continues_the_prefix(models: dict[str, Path]) -> None:
    b = backend(models["default"])
    assert b.info.fim == "plain"
    cancel = threading.Event()
    assert b.fim("x = a", "", max_tokens=8, stop=(), cancel=cancel).text == " + b"
    assert b.fim("y = ", "", max_tokens=8, stop=(), cancel=cancel).text == DEFAULT_OUTPUT


@pytest.mark.parametrize(
    ("stop", "max_tokens", "text", "reason"),
    [
        ((" +",), 32, "return a", "stop"),  # a stop string is cut, not shown
        (("a + b",), 32, "return ", "stop"),  # spans several tokens
        ((), 2, "return a", "max_tokens"),
        (("zzz",), 32, DEFAULT_OUTPUT, "eos"),  # a stop string that never comes
    ],
)
def test_stop_rules(
    models: dict[str, Path], stop: tuple[str, ...], max_tokens: int, text: str, reason: str
) -> None:
    gen = backend(models["default"]).fim(
        "q = ", "", max_tokens=max_tokens, stop=stop, cancel=threading.Event()
    )
    assert (gen.text, gen.stop_reason) == (text, reason)


def test_on_text_streams_and_can_stop(models: dict[str, Path]) -> None:
    pieces: list[str] = []

    def on_text(piece: str) -> bool:
        pieces.append(piece)
        return len(pieces) < 2

    gen = backend(models["default"]).fim(
        "q = ", "", max_tokens=32, stop=(), cancel=threading.Event(), on_text=on_text
    )
    assert pieces == ["return", " a"]
    assert gen.stop_reason == "callback"


def test_model_that_never_stops_hits_the_timeout(models: dict[str, Path]) -> None:
    b = backend(models["loop"], timeout_s=0.3)
    gen = b.fim("q = ", "", max_tokens=10_000_000, stop=(), cancel=threading.Event())
    assert gen.stop_reason == "timeout"
    assert gen.text.startswith(DEFAULT_OUTPUT + DEFAULT_OUTPUT)


def test_cancel_from_another_thread(models: dict[str, Path]) -> None:
    b = backend(models["loop"], timeout_s=60)
    cancel = threading.Event()
    seen = threading.Event()

    def on_text(piece: str) -> bool:
        seen.set()
        return True

    timer = threading.Thread(target=lambda: (seen.wait(10), cancel.set()))
    timer.start()
    gen = b.fim("q = ", "", max_tokens=10_000_000, stop=(), cancel=cancel, on_text=on_text)
    timer.join()
    assert gen.stop_reason == "cancelled"
    # already-cancelled requests do not run at all
    again = b.fim("q = ", "", max_tokens=5, stop=(), cancel=cancel)
    assert (again.text, again.stop_reason, again.prompt_tokens) == ("", "cancelled", 0)


def test_model_that_returns_nothing(models: dict[str, Path]) -> None:
    gen = backend(models["silent"]).fim("q = ", "", max_tokens=16, stop=(),
                                        cancel=threading.Event())
    assert (gen.text, gen.stop_reason, gen.completion_tokens) == ("", "eos", 0)


def test_garbage_bytes_decode_without_errors(models: dict[str, Path]) -> None:
    gen = backend(models["garbage"]).fim("q = ", "", max_tokens=16, stop=(),
                                         cancel=threading.Event())
    assert isinstance(gen.text, str) and gen.stop_reason == "eos"
    assert "\ufffd" in gen.text  # invalid UTF-8 becomes replacement characters


def test_empty_prompt_is_not_sent_to_the_model(models: dict[str, Path]) -> None:
    gen = backend(models["default"]).fim("", "", max_tokens=8, stop=(), cancel=threading.Event())
    assert gen.text == "" and gen.prompt_tokens == 0


def test_typing_forward_reuses_the_evaluated_prompt(models: dict[str, Path]) -> None:
    b = backend(models["fim"])
    cancel = threading.Event()
    body = "".join(f"line_{i} = {i}\n" for i in range(30))
    first = b.fim(body + "z", "\nprint(z)\n", max_tokens=4, stop=(), cancel=cancel)
    assert first.reused_tokens == 0
    second = b.fim(body + "ze", "\nprint(z)\n", max_tokens=4, stop=(), cancel=cancel)
    # everything up to the cursor line is reused; only the tail is read again
    assert second.reused_tokens >= len(body) - 2
    assert second.prompt_tokens < 20
    assert second.text == first.text == DEFAULT_OUTPUT
    # an unrelated prompt starts over
    third = b.fim("other = 1\n", "", max_tokens=4, stop=(), cancel=cancel)
    assert third.reused_tokens == 0 or third.reused_tokens < 3


def test_overlong_prompt_is_trimmed_not_failed(models: dict[str, Path]) -> None:
    b = backend(models["default"], n_ctx=256)
    gen = b.fim("x" * 5000 + "\n", "", max_tokens=8, stop=(), cancel=threading.Event())
    assert gen.text == DEFAULT_OUTPUT
    # the tokenizer ratio was learned: budgets now count this byte-level vocabulary
    assert b.count_tokens("abcdefgh" * 10) >= 60


def test_chat_uses_the_template(models: dict[str, Path]) -> None:
    b = backend(models["default"])
    gen = b.chat([ChatMessage("user", "hi")], max_tokens=8, cancel=threading.Event())
    assert gen.text == DEFAULT_OUTPUT


def test_special_marker_text_in_user_code_is_neutralised(models: dict[str, Path]) -> None:
    b = backend(models["fim"])
    gen = b.fim("s = '<fim_middle>'\nq = ", "", max_tokens=8, stop=(), cancel=threading.Event())
    assert gen.text == DEFAULT_OUTPUT


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.gguf", "model file not found"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "text.gguf", b"hello world, not a model"), "not a GGUF model file"),
        (lambda d: _write(d / "trunc.gguf", b"GGUF\x03\x00\x00\x00\x01"), "truncated or corrupt"),
        (lambda d: build_tiny_gguf(d / "gemma3.gguf", architecture="gemma3"),
         "architecture 'gemma3' is not supported"),
    ],
)
def test_unusable_files_name_the_file_and_the_fix(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ModelError) as err:
        backend(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "stead models" in str(err.value) or "model.path" in str(err.value) or (
        "backend" in str(err.value)
    )


def test_corrupt_tensor_data_fails_at_load_with_a_fix(tmp_path: Path) -> None:
    good = build_tiny_gguf(tmp_path / "ok.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    b = backend(cut)  # the header is intact, the weights are not
    with pytest.raises(ModelError) as err:
        b.fim("q = ", "", max_tokens=4, stop=(), cancel=threading.Event())
    assert str(cut) in str(err.value) and "stead models verify" in str(err.value)
    with pytest.raises(ModelError):  # the error is kept, not retried on every keystroke
        b.load()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
