"""`stead demo`, the README's first command, on its sample project and the tiny test model
(the tiny model's answers are not right: here the steps and what they print are checked;
the README's own command proves the default model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server.cli.demo import SAMPLE, write_sample


def test_sample_cursor_is_where_the_marker_was(tmp_path: Path) -> None:
    where = write_sample(tmp_path)
    path, line, col = where.rsplit(":", 2)
    text = Path(path).read_text()
    assert "▮" not in text
    row = text.splitlines()[int(line) - 1]
    assert row[: int(col) - 1] == "    return " and Path(path).name == "report.py"
    assert set(p.name for p in tmp_path.iterdir()) == set(SAMPLE)


def test_demo_runs_every_step_locally(
    xdg: dict[str, str], tmp_path: Path, tiny_model: Path
) -> None:
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    (cfg / "config.toml").write_text(
        f'[model]\npath = "{tiny_model}"\n[index]\nembedder = "none"\n'
    )
    keep = tmp_path / "sample"
    proc = subprocess.run(
        [sys.executable, "-m", "server", "demo", "--dir", str(keep)], capture_output=True,
        text=True, timeout=300, env={**os.environ, **xdg}, stdin=subprocess.DEVNULL,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]
    for step in ("$ stead doctor", "$ stead index", "$ stead search", "$ stead complete",
                 "$ stead ask"):
        assert step in out
    assert f"$ stead complete {keep / 'report.py'}:9:12 --timeout" in out
    assert "report.py now reads:      return return a + b" in out  # the tiny model's words
    assert "expected (or equal):      return sum(to_meters(value, unit)" in out
    assert "All steps ran locally." in out
    assert "may leave: nothing (remote escalation is disabled)" in out
    assert (keep / "units.py").is_file()  # --dir keeps the project


def test_demo_without_a_model_names_the_install_command(xdg: dict[str, str]) -> None:
    (Path(xdg["XDG_CONFIG_HOME"]) / "stead" / "config.toml").unlink()  # the real default
    proc = subprocess.run(
        [sys.executable, "-m", "server", "demo"], capture_output=True, text=True, timeout=120,
        env={**os.environ, **xdg}, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert "stead models install qwen2.5-coder-0.5b" in proc.stdout
    assert "the install is not complete" in proc.stdout
