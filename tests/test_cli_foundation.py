"""The `stead` command itself: usage errors, doctor, paths."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.doctor import Check, Report, lancedb_cpu_check, layers, render
from server.paths import dirs, workspace_key
from server.settings import Settings, load


def stead(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "argv", [("--bogus",), ("nosuch",), ("serve", "--tcp", "nope"), ("doctor", "--what"), ()]
)
def test_usage_errors_exit_2(argv: tuple[str, ...]) -> None:
    proc = stead(*argv)
    assert proc.returncode == 2
    assert "error" in proc.stderr
    assert proc.stdout == ""


def test_version() -> None:
    proc = stead("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("stead ")


def test_doctor_runs_and_explains(xdg: dict[str, str]) -> None:
    proc = stead("doctor", "--no-load", env=xdg)
    assert proc.returncode in (0, 1)
    out = proc.stdout
    for layer in ("model inference", "context assembly", "memory / history",
                  "embeddings / index", "telemetry", "sync"):
        assert layer in out
    assert "may leave: nothing" in out
    assert xdg["XDG_DATA_HOME"] in out  # data dirs are the isolated ones
    assert "lancedb" in out


def test_doctor_exit_code_follows_required_checks() -> None:
    good = Report(checks=[Check("a", True, "fine"), Check("b", False, "meh", required=False)])
    bad = Report(checks=[Check("a", False, "gone", "install it")])
    assert good.ok and not bad.ok
    assert "fix: install it" in render(bad)


@pytest.mark.parametrize(
    ("flags", "ok"), [({"avx2", "fma", "sse4_2"}, True), ({"sse4_2"}, False), ({"avx2"}, False)]
)
def test_lancedb_cpu_check(flags: set[str], ok: bool) -> None:
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the AVX2/FMA requirement applies to x86-64 only")
    check = lancedb_cpu_check(flags)
    assert check.ok is ok
    if not ok:
        assert "index.enabled" in check.fix


def test_layers_name_remote_providers_only_when_enabled() -> None:
    off = layers(Settings(), dirs())
    assert all("approve" not in layer.egress for layer in off[:1])
    on = load({"remote": {"enabled": True, "providers": {"oa": {"url": "https://x"}}}}).settings
    assert "oa" in layers(on, dirs())[0].egress


def test_dirs_follow_xdg(xdg: dict[str, str]) -> None:
    d = dirs()
    assert str(d.data).startswith(xdg["XDG_DATA_HOME"])
    assert str(d.config).startswith(xdg["XDG_CONFIG_HOME"])
    assert str(d.logs).startswith(xdg["XDG_STATE_HOME"])


def test_workspace_key_is_stable_and_distinct(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert workspace_key(a) == workspace_key(a)
    assert workspace_key(a) != workspace_key(b)
    assert "/" not in workspace_key(a)
    (tmp_path / "link").symlink_to(a)
    assert workspace_key(tmp_path / "link") == workspace_key(a)  # same place, same index


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "not found"), (b"not a gguf at all" * 10, "GGUF")],
)
def test_doctor_fails_with_fix_for_missing_or_corrupt_model(
    xdg: dict[str, str], tmp_path: Path, content: bytes | None, words: str
) -> None:
    model = tmp_path / "broken.gguf"
    if content is not None:
        model.write_bytes(content)
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(f'[model]\npath = "{model}"\n')
    proc = stead("doctor", env=xdg)
    assert proc.returncode == 1, proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if "configured model" in ln)
    assert line.lstrip().startswith("!!")
    assert str(model) in line
    assert words.lower() in line.lower()
    assert "fix:" in proc.stdout


def test_doctor_loads_the_tiny_model(xdg: dict[str, str], tiny_model: Path) -> None:
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(f'[model]\npath = "{tiny_model}"\n')
    proc = stead("doctor", env=xdg)
    line = next(ln for ln in proc.stdout.splitlines() if "configured model:" in ln)
    assert line.lstrip().startswith("ok"), proc.stdout
    assert re.search(r"loads in \d+ ms", line)  # how long loading took
