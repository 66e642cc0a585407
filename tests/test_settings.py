"""Settings: defaults, layering, camelCase, and bad values falling back field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings, load, merge, read_config_file, resolve, to_dict


def test_defaults_are_complete_and_frozen() -> None:
    s = Settings()
    assert s.model.backend == "gpt4all"
    assert s.remote.enabled is False  # remote starts disabled
    with pytest.raises(AttributeError):
        s.completion.max_tokens = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "field", "expected", "problem"),
    [
        ({"completion": {"max_tokens": 12}}, "completion.max_tokens", 12, None),
        ({"completion": {"maxTokens": 12}}, "completion.max_tokens", 12, None),
        ({"completion": {"max_tokens": "12"}}, "completion.max_tokens", 64, "completion.max_tokens"),
        ({"completion": {"max_tokens": True}}, "completion.max_tokens", 64, "integer"),
        ({"completion": {"max_tokens": 0}}, "completion.max_tokens", 64, "must be >= 1"),
        ({"completion": {"multiline": "sometimes"}}, "completion.multiline", "auto", "not one of"),
        ({"model": {"backend": "cloud"}}, "model.backend", "gpt4all", "model.backend"),
        ({"model": {"timeoutS": 2.5}}, "model.timeout_s", 2.5, None),
        ({"model": {"timeout_s": 3}}, "model.timeout_s", 3.0, None),
        ({"model": {"timeout_s": -1}}, "model.timeout_s", 10.0, "must be > 0"),
        ({"index": {"exclude": ["*.min.js"]}}, "index.exclude", ("*.min.js",), None),
        ({"index": {"enabled": "yes"}}, "index.enabled", True, "true or false"),
        ({"mystery": 1}, "completion.max_tokens", 64, "mystery: unknown setting"),
        ({"completion": 5}, "completion.max_tokens", 64, "completion: expected a table"),
        ({"logLevel": "debug"}, "log_level", "debug", None),
        ({"remote": {"providers": {"myOpenAI": {"kind": "openai", "url": "https://x"}}}},
         "remote.providers", None, None),
    ],
)
def test_load_table(raw: dict[str, Any], field: str, expected: Any, problem: str | None) -> None:
    loaded = load(raw)
    value: Any = loaded.settings
    for part in field.split("."):
        value = getattr(value, part)
    if expected is not None:
        assert value == expected
    if problem is None:
        assert loaded.problems == ()
    else:
        assert any(problem in p for p in loaded.problems), loaded.problems


def test_provider_names_keep_their_case() -> None:
    loaded = load({"remote": {"providers": {"myOpenAI": {"kind": "openai", "apiKeyEnv": "K"}}}})
    assert "myOpenAI" in loaded.settings.remote.providers
    assert loaded.settings.remote.providers["myOpenAI"].api_key_env == "K"


def test_good_fields_survive_beside_bad_ones() -> None:
    loaded = load({"completion": {"max_tokens": "x", "prefix_tokens": 99}, "chat": {"max_tokens": 9}})
    assert loaded.settings.completion.prefix_tokens == 99
    assert loaded.settings.chat.max_tokens == 9
    assert len(loaded.problems) == 1


@pytest.mark.parametrize("raw", [None, {}, [], "text", 3])
def test_non_mapping_input_gives_defaults(raw: Any) -> None:
    loaded = load(raw)
    assert loaded.settings == Settings()


def test_merge_is_deep() -> None:
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4}) == {"a": {"b": 1, "c": 3}, "d": 4}


def test_config_file_layers(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text('[completion]\nmax_tokens = 20\n[model]\nbackend = "openai-compatible"\n')
    loaded = resolve({"completion": {"maxTokens": 30}}, None, file=f)
    assert loaded.settings.completion.max_tokens == 30
    assert loaded.settings.model.backend == "openai-compatible"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[completion\n", "malformed TOML"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_bad_config_files(tmp_path: Path, content: bytes, problem: str) -> None:
    f = tmp_path / "config.toml"
    f.write_bytes(content)
    raw, problems = read_config_file(f)
    assert raw == {}
    assert any(problem in p for p in problems)
    loaded = resolve(file=f)
    assert loaded.settings == Settings()


def test_unreadable_config_file(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.mkdir()  # a directory where the file should be: reading fails with an OSError
    _, problems = read_config_file(f)
    assert problems and "cannot read" in problems[0]


def test_missing_config_file_is_fine(tmp_path: Path) -> None:
    assert read_config_file(tmp_path / "nope.toml") == ({}, ())


def test_to_dict_round_trips() -> None:
    s = load({"completion": {"max_tokens": 5}, "index": {"exclude": ["a"]}}).settings
    assert load(to_dict(s)).settings == s


def test_settings_reference_is_current() -> None:
    """docs/settings.md is generated; regenerate with `python -m server.settings_doc`."""
    from server.settings_doc import render

    doc = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    assert doc == render(), "docs/settings.md is stale: python -m server.settings_doc > docs/settings.md"


def test_every_setting_is_documented() -> None:
    from server.settings_doc import render

    for line in render().splitlines():
        if line.startswith("| `"):
            assert not line.rstrip().endswith("|  |"), f"undocumented setting: {line}"
