"""The VS Code extension: its own unit tests and build, and real-editor end-to-end runs.

The end-to-end tests run a real VS Code (code-server 4.139, VS Code 1.139) with the
extension copied into a fresh extensions dir, driven by headless Debian Chromium through
playwright-core (editors/vscode/e2e/driver.mjs).  The extension starts the real
`stead serve` from this venv, with isolated XDG dirs, on the tiny test model; the remote
provider is the loopback fake from tests/fake_openai.py.  The driver reports what it saw as
JSON; the assertions are here.  On failure the driver leaves a screenshot and VS Code's
logs under artifacts/vscode/<test>/.

Prerequisites come from editors/vscode/scripts/e2e-setup.sh (apt chromium + libkrb5-dev,
Node 24 and code-server from npm, the extension's npm dependencies); without them these
tests skip and say so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"
SETUP = "editors/vscode/scripts/e2e-setup.sh"
ARTIFACTS = ROOT / "artifacts" / "vscode"
E2E_HOME = Path(
    os.environ.get("STEAD_E2E_HOME")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stead-e2e"
)
NODE = shutil.which("node")
NPM = shutil.which("npm")


def _code_server() -> str | None:
    if os.environ.get("STEAD_CODE_SERVER"):
        return os.environ["STEAD_CODE_SERVER"]
    launcher = E2E_HOME / "code-server"
    return str(launcher) if launcher.exists() else shutil.which("code-server")


CODE_SERVER = _code_server()
CHROMIUM = (
    os.environ.get("STEAD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
HAS_DEPS = NODE is not None and NPM is not None and (VSCODE / "node_modules").is_dir()

NPM_MISSING = f"the extension's npm dependencies are not installed: run {SETUP}"
EDITOR_MISSING = f"code-server and chromium are not installed: run {SETUP}"
# CI sets STEAD_REQUIRE_EDITORS=1: there missing prerequisites fail the tests instead of
# skipping them (a green run must have driven the real editor).
REQUIRED = bool(os.environ.get("STEAD_REQUIRE_EDITORS"))
HAS_EDITOR = HAS_DEPS and CODE_SERVER is not None and CHROMIUM is not None

requires_npm_deps = pytest.mark.skipif(not HAS_DEPS and not REQUIRED, reason=NPM_MISSING)
requires_editor = pytest.mark.skipif(not HAS_EDITOR and not REQUIRED, reason=EDITOR_MISSING)


def _npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, "--silent", *args],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
    )


# -- settings mirror (no Node needed) ------------------------------------------------------
def test_package_json_settings_mirror_the_server_settings() -> None:
    """Every server setting is declared in package.json with its type, default and bounds."""
    spec = importlib.util.spec_from_file_location(
        "sync_settings", VSCODE / "scripts" / "sync_settings.py"
    )
    assert spec is not None and spec.loader is not None
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    package = json.loads((VSCODE / "package.json").read_text())
    current = package["contributes"]["configuration"]["properties"]
    wanted = sync.updated(json.loads(json.dumps(package)))["contributes"]["configuration"][
        "properties"
    ]
    assert current == wanted, (
        "editors/vscode/package.json is out of date with server/settings.py: "
        "run python editors/vscode/scripts/sync_settings.py"
    )
    # Spot checks on the generated schema, from the real Settings tree.
    from server.settings import Settings, to_dict

    defaults = to_dict(Settings())
    assert current["stead.completion.maxTokens"]["default"] == defaults["completion"]["max_tokens"]
    assert current["stead.completion.maxTokens"]["minimum"] == 1
    assert current["stead.model.backend"]["enum"] == ["gpt4all", "openai-compatible"]
    # Settings that could send data away or run programs cannot come from a workspace; they
    # are read from User settings, in local and remote windows (code-server) alike.
    for key in ("stead.remote.providers", "stead.remote.enabled", "stead.model.path",
                "stead.server.path", "stead.server.pythonPath", "stead.server.args"):
        assert current[key]["scope"] == "application", key


# -- the extension's own checks ------------------------------------------------------------
@requires_npm_deps
def test_extension_typechecks_and_its_unit_tests_pass() -> None:
    if not HAS_DEPS:  # only reached under STEAD_REQUIRE_EDITORS
        pytest.fail(NPM_MISSING)
    typecheck = _npm("run", "typecheck")
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
    unit = _npm("test")
    out = unit.stdout + unit.stderr
    assert unit.returncode == 0, out[-6000:]
    assert "# fail 0" in out and "# pass " in out, out[-2000:]
    passed = int(out.split("# pass ", 1)[1].split()[0])
    assert passed >= 60, out[-2000:]


@requires_npm_deps
def test_one_command_packages_a_vsix(tmp_path: Path) -> None:
    """`npm run package` (documented in editors/vscode/README.md) builds an installable .vsix."""
    if not HAS_DEPS:  # only reached under STEAD_REQUIRE_EDITORS
        pytest.fail(NPM_MISSING)
    result = _npm("run", "package")
    assert result.returncode == 0, result.stdout + result.stderr
    vsix = VSCODE / "stead.vsix"
    assert vsix.exists()
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("extension/package.json"))
    assert {
        "extension/out/extension.js",
        "extension/out/webview/chat.js",
        "extension/out/webview/consent.js",
        "extension/media/stead.css",
        "extension.vsixmanifest",
    } <= names
    # Sources, tests and dependencies are bundled or left out; no source maps ship.
    assert not any(
        n.startswith(
            ("extension/src/", "extension/node_modules/", "extension/e2e/", "extension/out/test/")
        )
        for n in names
    ), sorted(names)
    assert not any(n.endswith(".map") for n in names)
    assert manifest["main"] == "./out/extension.js"
    if CODE_SERVER is not None:
        # A real VS Code accepts it.
        ext_dir = tmp_path / "extensions"
        installed = subprocess.run(
            [
                CODE_SERVER,
                "--extensions-dir",
                str(ext_dir),
                "--user-data-dir",
                str(tmp_path / "user"),
                "--install-extension",
                str(vsix),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                **os.environ,
                "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "XDG_DATA_HOME": str(tmp_path / "data"),
            },
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert (ext_dir / "stead.stead-0.1.0" / "out" / "extension.js").exists()


# -- real-editor scenarios -------------------------------------------------------------------
@pytest.fixture(scope="session")
def built_extension() -> Path:
    """Bundle the extension once per session (esbuild: about a second)."""
    if not HAS_DEPS:
        pytest.fail(NPM_MISSING)
    result = _npm("run", "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return VSCODE


VsRun = Callable[..., dict[str, Any]]


@pytest.fixture
def vscode_run(
    built_extension: Path, tmp_path: Path, xdg: dict[str, str], request: pytest.FixtureRequest
) -> VsRun:
    """Run one scenario of e2e/scenarios.mjs in code-server; return what the driver saw."""
    if not HAS_EDITOR:  # only reached under STEAD_REQUIRE_EDITORS
        pytest.fail(EDITOR_MISSING)

    def run(
        scenario: str,
        workspace: Path,
        settings: dict[str, Any],
        env: dict[str, str] | None = None,
        timeout: float = 150,
        **params: Any,
    ) -> dict[str, Any]:
        artifacts = ARTIFACTS / request.node.name
        shutil.rmtree(artifacts, ignore_errors=True)
        config = {
            "codeServer": CODE_SERVER,
            "chromium": CHROMIUM,
            "extensionDir": str(built_extension),
            "workspace": str(workspace),
            "scenario": scenario,
            "artifacts": str(artifacts),
            "timeoutMs": int((timeout - 15) * 1000),
            # STEAD_E2E_SCREENSHOTS=1 keeps a picture of every scenario, passed or not.
            "screenshotAlways": bool(os.environ.get("STEAD_E2E_SCREENSHOTS")),
            "settings": {
                "stead.server.pythonPath": sys.executable,
                # Full-text search only: no embedding model built in the background.
                "stead.index.embedder": "none",
                **settings,
            },
            # code-server, its extension host and so the stead server all see these.
            "env": {
                **xdg,
                "EXTENSIONS_GALLERY": json.dumps({"serviceUrl": "http://127.0.0.1:9/gallery"}),
                **(env or {}),
            },
            **params,
        }
        config_file = tmp_path / f"vscode-{scenario}.json"
        config_file.write_text(json.dumps(config))
        assert NODE is not None
        try:
            proc = subprocess.run(
                [NODE, str(built_extension / "e2e" / "driver.mjs"), str(config_file)],
                cwd=built_extension,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            pytest.fail(f"the {scenario} scenario hung past {timeout} s\n{stderr[-6000:]}")
        if proc.returncode != 0:
            pytest.fail(
                f"the {scenario} scenario failed (screenshot and logs in {artifacts})\n"
                f"{proc.stderr[-8000:]}"
            )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        assert lines, proc.stdout + proc.stderr[-4000:]
        result: dict[str, Any] = json.loads(lines[-1])
        result["_log"] = proc.stderr
        return result

    return run


def _source(workspace: Path, name: str = "calc.py", text: str = "") -> Path:
    file = workspace / name
    file.write_text(text)
    return file


@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_ghost_text_from_the_real_server_appears_and_tab_accepts_it(
    vscode_run: VsRun, workspace: Path, tiny_model: Path
) -> None:
    file = _source(workspace, text="def add(a, b):\n    \n")
    seen = vscode_run(
        "ghost",
        workspace,
        # One bad value: reported by name, its default used, everything else still works.
        {"stead.model.path": str(tiny_model), "stead.context.deadlineMs": "soon"},
        file="calc.py",
        line=2,
        expectToast="context.deadline_ms",
    )
    print(f"vscode: ghost text {seen['ghostMs']} ms after the keystroke")  # a figure (-s)
    assert "expected an integer" in seen["problem"] and "using the default" in seen["problem"]
    # The status bar names the model and the local route once the server answered.
    assert "stead-tiny" in seen["status"] and "local" in seen["status"]
    # The suggestion is the tiny model's greedy output, through the real gpt4all backend.
    assert seen["ghostText"].strip() == "return a + b"
    # Tab inserted it (and the driver saved the file).
    assert file.read_text() == "def add(a, b):\n    return a + b\n"
    # Escape on the first showing was reported as a rejection, Tab on the second as accepted
    from server.history import HistoryStore
    from server.paths import dirs

    outcomes: list[str] = []
    for _ in range(100):  # the server may still be writing its last outcome as it exits
        with HistoryStore(dirs().history_db) as store:
            outcomes = [e.outcome for e in store.list(limit=20) if e.kind == "completion"]
        if "rejected" in outcomes and "accepted" in outcomes:
            break
        time.sleep(0.1)
    assert "rejected" in outcomes and "accepted" in outcomes, outcomes


ESC_KEY = "sk-stead-test-0123456789abcdefghijKLMN"


def _remote_settings(url: str, workspace: Path) -> dict[str, Any]:
    return {
        "stead.remote.enabled": True,
        "stead.remote.allowedWorkspaces": [str(workspace)],
        "stead.remote.providers": {
            "fake": {
                "kind": "openai",
                "url": url,
                "model": "fake-model",
                "apiKeyEnv": "STEAD_TEST_KEY",
            }
        },
    }


def _ask_remote(vscode_run: VsRun, workspace: Path, scenario: str, reply: str
                ) -> tuple[dict[str, Any], list[Any]]:
    """Run a scenario that asks a remote model (a loopback fake) about a wrong `add`;
    returns what the scenario saw and the requests that reached the provider."""
    from tests.fake_openai import FakeProvider

    _source(workspace, text="def add(a, b):\n    return a - b  # wrong\n")
    with FakeProvider(reply=reply) as fake:
        seen = vscode_run(
            scenario,
            workspace,
            _remote_settings(fake.url, workspace),
            env={"STEAD_TEST_KEY": ESC_KEY},
            file="calc.py",
            question="why is add wrong?",
        )
        return seen, list(fake.requests)


@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_consent_dialog_shows_the_manifest_and_refusing_sends_nothing(
    vscode_run: VsRun, workspace: Path, xdg: dict[str, str]
) -> None:
    seen, requests = _ask_remote(vscode_run, workspace, "consent", reply="use +")
    assert requests == []  # nothing reached the provider
    dialog = seen["dialog"]
    assert dialog["provider"] == "fake" and dialog["model"] == "fake-model"
    assert int(dialog["tokens"]) > 0
    assert dialog["items"] and dialog["items"][0].startswith("calc.py:1-2")
    assert dialog["checkboxes"] == len(dialog["items"])  # each item can be dropped
    # The exact text that would be sent, and the whole request body, are in the dialog.
    assert "return a - b  # wrong" in dialog["itemTexts"][0]
    assert "why is add wrong?" in dialog["payload"] and "fake-model" in dialog["payload"]
    assert "nothing was sent" in seen["notification"]
    # The refusal is on the record; nothing was sent.
    audit = Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl"
    records = [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []
    assert [r["outcome"] for r in records] == ["refused"], records


# -- the first five minutes: default settings, User settings, no model -------------------------
@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_default_settings_ghost_text_shows_with_the_suggest_widget(
    vscode_run: VsRun, workspace: Path, tiny_model: Path
) -> None:
    # words for the word-based suggest widget; the cursor ends mid-identifier
    _source(workspace, text="def add(a, b):\n    \n\ntotal = add(1, 2)\n")
    seen = vscode_run(
        "firstrun",
        workspace,
        {
            # User settings only, as a user sets them: the server and the model path
            "stead.server.pythonPath": "",
            "stead.server.path": str(Path(sys.executable).parent / "stead"),
            "stead.model.path": str(tiny_model),
            "stead.trace.server": "verbose",
        },
        file="calc.py",
        line=2,
        type="tot",
        defaultEditor=True,
        userSettingsOnly=True,
    )
    print(f"vscode: suggest widget {seen['rows'][:2]} with ghost text {seen['ghostText']!r}")
    assert "stead-tiny" in seen["status"], seen["status"]  # model.path from User settings
    assert seen["both"], seen  # ghost text on screen while the suggest widget is open
    assert seen["rows"] and "total" in seen["rows"][0]
    assert seen["traceHasInline"], seen["trace"]  # stead.trace.server alone fills the trace


@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_missing_model_is_in_the_status_bar_and_said_once(
    vscode_run: VsRun, workspace: Path
) -> None:
    # stead is not on the editor's PATH nor in the settings: the workspace's .venv is used
    venv_bin = workspace / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "stead").symlink_to(Path(sys.executable).parent / "stead")
    _source(workspace, text="def add(a, b):\n    \n")
    seen = vscode_run(
        "modelerror",
        workspace,
        {"stead.server.pythonPath": "", "stead.model.name": "qwen2.5-coder-0.5b"},
        env={"PATH": "/usr/bin:/bin"},
        file="calc.py",
        line=2,
        defaultEditor=True,
        userSettingsOnly=True,
    )
    assert "model error" in seen["errorStatus"], seen
    assert "stead models install qwen2.5-coder-0.5b" in seen["message"]
    assert seen["count"] == 1, seen  # once, not per keystroke


# -- bad input: no server, a crashing server ---------------------------------------------------
@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_missing_server_gives_one_clear_message_with_the_fix(
    vscode_run: VsRun, workspace: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "stead"
    seen = vscode_run("notfound", workspace, {"stead.server.path": str(missing)})
    assert f"the server `{missing}` (stead.server.path) was not found" in seen["message"]
    # the fix: the one install path (a checkout; stead is not on PyPI), then the model
    assert "pip install /path/to/stead" in seen["message"]
    assert "stead models install qwen2.5-coder-0.5b" in seen["message"]
    assert "stead" in seen["status"]  # the status bar item stays, showing the error


@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_crashing_server_is_restarted_a_bounded_number_of_times(
    vscode_run: VsRun, workspace: Path, tmp_path: Path
) -> None:
    marker = str(tmp_path / "crash-marker.log")
    seen = vscode_run(
        "crash",
        workspace,
        {"stead.server.maxRestarts": 1, "stead.server.args": ["--log-file", marker]},
        marker=marker,
    )
    first, second = seen["messages"]
    assert "restarting it (1 of 1)" in first
    assert "crashed 2 times" in second and "will not be restarted" in second
    assert "Restart the Server" in second  # says how to get it back
    assert len(set(seen["killed"])) == 2  # the restart was a new process
    assert seen["alive"] == []  # and after the second crash none was started


@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_approving_sends_once_and_the_answer_shows_with_its_manifest(
    vscode_run: VsRun, workspace: Path, xdg: dict[str, str]
) -> None:
    seen, requests = _ask_remote(vscode_run, workspace, "approve", reply="Use a + b instead.")
    assert len(requests) == 1
    body = requests[0].body.decode()
    assert "return a - b  # wrong" in body and "why is add wrong?" in body
    assert "Use a + b instead." in seen["answer"]
    assert "fake" in seen["by"] and "remote" in seen["by"]
    assert seen["items"] and seen["items"][0].startswith("calc.py:1-2")
    audit = Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl"
    assert [json.loads(x)["outcome"] for x in audit.read_text().splitlines()] == ["approved"]


@pytest.mark.editor
@pytest.mark.slow
@requires_editor
def test_chat_view_search_history_and_audit(
    vscode_run: VsRun, workspace: Path, tiny_model: Path
) -> None:
    _source(workspace, text="def add(a, b):\n    return a + b\n")
    _source(
        workspace, "geometry.py", "def rectangle_area(width, height):\n    return width * height\n"
    )
    seen = vscode_run(
        "commands",
        workspace,
        {"stead.model.path": str(tiny_model)},
        file="calc.py",
        question="what does add do?",
        query="rectangle_area",
        expectFile="geometry.py",
    )
    assert "chunks" in seen["status"]  # the status bar shows the index
    # The chat view: the tiny model's answer, and under it the manifest of the context used
    # (the file beside the chat, with its line range and tokens).
    assert "return a + b" in seen["answer"]
    assert any(i.startswith("calc.py:1-2") for i in seen["items"]), seen["items"]
    assert "Context: " in seen["manifest"] and " tokens" in seen["manifest"]
    # Search found the function in the other file (and opened it).
    assert any(r.startswith("geometry.py:1") for r in seen["searchRows"]), seen["searchRows"]
    # The chat turn is in the local history, readable with its prompt and answer.
    assert any("chat" in r and "stead-tiny" in r for r in seen["historyRows"]), seen["historyRows"]
    page = seen["historyPage"]
    assert "# chat #" in page and "what does add do?" in page and "return a + b" in page
    assert "audit log is intact (0 records" in seen["audit"]
