"""`stead demo`, the README's first command, on a small workspace and the tiny test model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_every_step_locally(
    xdg: dict[str, str], workspace: Path, tiny_model: Path
) -> None:
    (workspace / "server").mkdir()
    (workspace / "server" / "paths.py").write_text(
        "import os\n\n\ndef data_dir(name):\n    return os.path.join('/tmp', name)\n"
    )
    (workspace / "README.md").write_text("# sample\nA settings file decides.\n")
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(
        f'[model]\npath = "{tiny_model}"\n[index]\nembedder = "none"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "server", "demo", str(workspace)], capture_output=True,
        text=True, timeout=300, env={**os.environ, **xdg}, stdin=subprocess.DEVNULL,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]
    for step in ("$ stead doctor", "$ stead index", "$ stead search", "$ stead complete",
                 "$ stead ask"):
        assert step in out
    assert "server/paths.py:5:" in out  # the cursor is inside the workspace's function
    assert "All steps ran locally." in out
    assert "may leave: nothing (remote escalation is disabled)" in out
