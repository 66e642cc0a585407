"""`stead ask --remote` and `stead audit` as real subprocesses against the loopback provider."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_openai import FakeProvider
from tests.harness import TEST_CONFIG

KEY = "sk-stead-cli-test-ABCDEFGHIJKLMNOPQRSTUV"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(reply="The helper returns 42.") as provider:
        yield provider


@pytest.fixture
def setup(xdg: dict[str, str], workspace: Path, fake: FakeProvider) -> Path:
    cfg = Path(xdg["XDG_CONFIG_HOME"]) / "stead"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(
        TEST_CONFIG + "[remote]\nenabled = true\n"
        f"allowed_workspaces = [{json.dumps(str(workspace))}]\n"
        "[remote.providers.fake]\n"
        f'kind = "openai"\nurl = "{fake.url}"\nmodel = "fake-model"\n'
        'api_key_env = "STEAD_TEST_KEY"\ninput_cost_per_mtok = 3.0\n'
    )
    (workspace / "util.py").write_text("def helper():\n    return 42\n")
    (workspace / "other.py").write_text("SECRET_STUFF = 1\n")
    return workspace


def stead(*args: str, cwd: Path, stdin: int | None = subprocess.DEVNULL,
          key: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if key:
        env["STEAD_TEST_KEY"] = KEY
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=cwd, env=env, stdin=stdin,
        capture_output=True, text=True, timeout=120,
    )


def audit_records(xdg: dict[str, str]) -> list[dict[str, object]]:
    path = Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_ask_remote_yes_sends_the_manifest_and_prints_the_answer(
    setup: Path, fake: FakeProvider, xdg: dict[str, str]
) -> None:
    r = stead("ask", "--remote", "fake", "--yes", "--json", "--root", str(setup),
              "--include", "util.py:1-2", "What", "does", "helper", "return?", cwd=setup)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] == "The helper returns 42."
    assert len(fake.requests) == 1
    assert fake.requests[0].body == out["manifest"]["payload"].encode("utf-8")
    assert "util.py:1-2" in r.stderr and "Remote request to fake" in r.stderr
    assert "cost:" in r.stderr
    assert [x["outcome"] for x in audit_records(xdg)] == ["approved"]
    listed = stead("audit", "list", cwd=setup)
    assert "APPROVED" in listed.stdout and "util.py:1-2" in listed.stdout
    verified = stead("audit", "verify", cwd=setup)
    assert verified.returncode == 0 and "OK: 1 record" in verified.stdout


def test_ask_remote_refuses_without_a_terminal_or_yes(
    setup: Path, fake: FakeProvider, xdg: dict[str, str]
) -> None:
    r = stead("ask", "--remote", "fake", "--root", str(setup), "--include", "util.py", "Q",
              cwd=setup)
    assert r.returncode == 1
    assert "stdin is not a terminal" in r.stderr and "--yes" in r.stderr
    assert "util.py:1-2" in r.stderr  # the manifest was still shown
    assert fake.requests == []
    records = audit_records(xdg)
    assert [x["outcome"] for x in records] == ["refused"]
    assert "not a terminal" in str(records[0]["detail"])


def test_ask_remote_missing_key_and_disallowed_workspace(
    setup: Path, fake: FakeProvider, tmp_path: Path
) -> None:
    r = stead("ask", "--remote", "fake", "--yes", "--root", str(setup), "Q", cwd=setup,
              key=False)
    assert r.returncode == 1 and "no API key" in r.stderr and "STEAD_TEST_KEY" in r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = stead("ask", "--remote", "fake", "--yes", "--root", str(elsewhere), "Q", cwd=elsewhere)
    assert r.returncode == 1 and "not allowed for" in r.stderr
    assert fake.requests == []


def _interact(args: list[str], cwd: Path, answers: list[str]) -> tuple[int, str]:
    """Run with a pseudo-terminal as stdin, answering each prompt in turn."""
    master, slave = pty.openpty()
    env = dict(os.environ, STEAD_TEST_KEY=KEY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", *args], cwd=cwd, env=env, stdin=slave,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    os.close(slave)
    assert proc.stderr is not None
    err = ""
    deadline = time.monotonic() + 120
    pending = list(answers)
    os.set_blocking(proc.stderr.fileno(), False)
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            err += proc.stderr.read() or ""
        while pending and err.count("Send this to") > len(answers) - len(pending):
            os.write(master, (pending.pop(0) + "\n").encode())
    proc.wait(timeout=30)
    err += proc.stderr.read() or ""
    os.close(master)
    assert proc.stdout is not None
    return proc.returncode, proc.stdout.read() + "\n---\n" + err


def test_ask_remote_on_a_terminal_drops_then_approves(
    setup: Path, fake: FakeProvider, xdg: dict[str, str]
) -> None:
    code, out = _interact(
        ["ask", "--remote", "fake", "--root", str(setup), "--include", "util.py",
         "--include", "other.py", "Q"],
        setup, ["d 1", "y"],
    )
    assert code == 0, out
    assert "The helper returns 42." in out
    assert len(fake.requests) == 1
    body = fake.requests[0].body
    assert b"helper" in body and b"SECRET_STUFF" not in body
    records = audit_records(xdg)
    assert [(x["outcome"], x["dropped"]) for x in records] == [("trimmed", ["other.py:1-1"])]


def test_ask_remote_on_a_terminal_answering_no_sends_nothing(
    setup: Path, fake: FakeProvider, xdg: dict[str, str]
) -> None:
    code, out = _interact(
        ["ask", "--remote", "fake", "--root", str(setup), "--include", "util.py", "Q"],
        setup, ["n"],
    )
    assert code == 1, out
    assert fake.requests == []
    assert [x["outcome"] for x in audit_records(xdg)] == ["refused"]


def test_audit_verify_cli_detects_an_edit(setup: Path, xdg: dict[str, str]) -> None:
    for _ in range(2):
        stead("ask", "--remote", "fake", "--root", str(setup), "Q", cwd=setup)
    path = Path(xdg["XDG_DATA_HOME"]) / "stead" / "audit.jsonl"
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    lines[0] = lines[0].replace('"refused"', '"approved"')
    path.write_text("\n".join(lines) + "\n")
    r = stead("audit", "verify", cwd=setup)
    assert r.returncode == 1
    assert "line 1: record 1 was edited" in r.stderr
