"""Git linking: the scoring table, and the real hook in a real repository."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.gitlink import (
    CHAINED,
    CommitInfo,
    install_hook,
    parse_hunks,
    plan_links,
    score,
    uninstall_hook,
    window,
)
from server.history import Entry, FileRange, HistoryStore, StoredEntry

ROOT = Path(__file__).resolve().parents[1]
T = 1_700_000_000.0
INFO = CommitInfo(
    sha="a" * 40, repo="/repo", time=T, parent_time=T - 3600,
    files=("src/app.py", "src/util.py"), hunks={"src/app.py": ((10, 20),)},
)


def _e(files: list[FileRange], ts: float = T - 600, outcome: str = "answered",
       workspace: str = "/repo", entry_id: int = 1) -> StoredEntry:
    return StoredEntry(kind="chat", prompt="p", files=files, ts=ts, outcome=outcome,
                       workspace=workspace, id=entry_id)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # all files changed, lines overlap, 10 min before: strong
        (_e([FileRange("src/app.py", 12, 14)]), (0.983, "1/1 files changed, lines overlap")),
        # file changed but elsewhere in it
        (_e([FileRange("src/app.py", 50, 60)]), (0.833, "1/1 files changed, 10 min")),
        # half the files changed
        (_e([FileRange("src/app.py"), FileRange("docs/x.md")]), (0.683, "1/2 files changed")),
        # absolute paths and file URIs resolve into the repo
        (_e([FileRange("file:///repo/src/util.py")]), (0.833, "1/1 files changed")),
        # nothing this commit touched: no link
        (_e([FileRange("other.py")]), None),
        # files outside the repo are ignored; no repo files and other workspace: no link
        (_e([FileRange("/elsewhere/a.py")], workspace="/elsewhere"), None),
        # no files, same workspace: weak, time only
        (_e([]), (0.275, "same workspace, no files")),
        # rejected suggestion counts half
        (_e([FileRange("src/app.py", 12, 14)], outcome="rejected"), (0.492, "rejected")),
        # before the window (previous commit's work) or after the commit: no link
        (_e([FileRange("src/app.py")], ts=T - 7200), None),
        (_e([FileRange("src/app.py")], ts=T + 3600), None),
    ],
)
def test_score_table(entry: StoredEntry, expected: tuple[float, str] | None) -> None:
    start, _ = window(INFO.time, INFO.parent_time)
    got = score(entry, INFO, start)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got[0] == expected[0]
        assert expected[1] in got[1]


@pytest.mark.parametrize(
    ("parent", "expected_start"),
    [
        (T - 3600, T - 3600),  # since the previous commit
        (T - 86400 * 3, T - 12 * 3600),  # capped at 12 hours
        (T - 60, T - 30 * 60),  # at least 30 minutes
        (None, T - 12 * 3600),  # first commit
    ],
)
def test_window_table(parent: float | None, expected_start: float) -> None:
    assert window(T, parent) == (expected_start, T + 120)


def test_plan_links_orders_and_filters() -> None:
    entries = [_e([FileRange("src/app.py", 12, 14)], entry_id=1), _e([FileRange("x.py")], entry_id=2),
               _e([], entry_id=3, ts=T - 3500)]
    start, _ = window(INFO.time, INFO.parent_time)
    links = plan_links(entries, INFO, start)
    assert [i for i, _, _ in links] == [1]  # the workspace-only one is below the threshold


def test_parse_hunks() -> None:
    patch = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,0 +2,3 @@\n+x\n"
        "@@ -9 +12 @@\n-y\n+z\n@@ -20,2 +22,0 @@\n-q\n"
        "diff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-r\n"
    )
    assert parse_hunks(patch) == {"a.py": ((2, 4), (12, 12), (22, 22))}


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", **(env or {})}
    return subprocess.run(["git", *args], cwd=repo, env=base, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    _git(r, "init", "-q", "-b", "main")
    (r / "app.py").write_text("def f():\n    return 1\n")
    _git(r, "add", ".")
    _git(r, "commit", "-q", "-m", "first")
    return r


def _stead(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


def test_hook_links_a_commit_and_history_commit_shows_it(
    repo: Path, xdg: dict[str, str]
) -> None:
    db = Path(xdg["XDG_DATA_HOME"]) / "stead" / "history.sqlite3"
    store = HistoryStore(db)
    related = store.add(Entry(kind="chat", prompt="make f return 2", workspace=str(repo),
                              files=[FileRange(str(repo / "app.py"), 1, 2)]))
    unrelated = store.add(Entry(kind="chat", prompt="elsewhere", workspace="/nowhere",
                                files=[FileRange("/nowhere/x.py", 1, 2)]))
    store.close()
    out = _stead("hooks", "install", cwd=repo)
    assert out.returncode == 0 and "installed" in out.stdout
    (repo / "app.py").write_text("def f():\n    return 2\n")
    _git(repo, "commit", "-qam", "return 2")
    sha = _git(repo, "rev-parse", "HEAD").strip()
    links = HistoryStore(db).links_for_commit(sha)
    assert [lk.entry.id for lk in links] == [related]
    assert links[0].confidence > 0.9 and "lines overlap" in links[0].reason
    shown = _stead("history", "--commit", sha[:8], cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert "make f return 2" in shown.stdout and "elsewhere" not in shown.stdout
    assert unrelated != related


def test_history_commit_links_on_demand_without_the_hook(repo: Path, xdg: dict[str, str]) -> None:
    db = Path(xdg["XDG_DATA_HOME"]) / "stead" / "history.sqlite3"
    HistoryStore(db).add(Entry(kind="completion", prompt="def g(", workspace=str(repo),
                               files=[FileRange("g.py", 1, 1)]), ts=time.time() - 60)
    (repo / "g.py").write_text("def g():\n    pass\n")
    _git(repo, "add", "g.py")
    _git(repo, "commit", "-qm", "g")
    shown = _stead("history", "--commit", "HEAD", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert "def g(" in shown.stdout
    bad = _stead("history", "--commit", "nosuchrev", cwd=repo)
    assert bad.returncode == 1 and "stead history:" in bad.stderr


def test_install_chains_an_existing_shell_hook(repo: Path, xdg: dict[str, str]) -> None:
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\necho mine >> \"$(git rev-parse --git-dir)/mine.log\"\n")
    hook.chmod(0o755)
    message = install_hook(repo)
    assert "existing hook" in message
    text = hook.read_text()
    assert text.startswith("#!/bin/sh\necho mine") and "stead post-commit" in text
    assert "already installed" in install_hook(repo)  # idempotent
    assert hook.read_text().count(">>> stead post-commit >>>") == 1
    _git(repo, "commit", "-q", "--allow-empty", "-m", "e")
    assert (repo / ".git" / "mine.log").read_text() == "mine\n"  # theirs still runs
    assert "removed" in uninstall_hook(repo)
    assert hook.read_text() == "#!/bin/sh\necho mine >> \"$(git rev-parse --git-dir)/mine.log\"\n"


def test_install_wraps_a_hook_it_cannot_append_to(repo: Path, xdg: dict[str, str]) -> None:
    hooks = repo / ".git" / "hooks"
    hook = hooks / "post-commit"
    original = f"#!{sys.executable}\nimport pathlib\npathlib.Path('py.log').write_text('ran')\n"
    hook.write_text(original)
    hook.chmod(0o755)
    message = install_hook(repo)
    assert CHAINED in message
    assert (hooks / CHAINED).read_text() == original
    _git(repo, "commit", "-q", "--allow-empty", "-m", "e")
    assert (repo / "py.log").read_text() == "ran"
    assert "restored" in uninstall_hook(repo)
    assert hook.read_text() == original and not (hooks / CHAINED).exists()


def test_install_honours_core_hookspath(repo: Path, xdg: dict[str, str]) -> None:
    _git(repo, "config", "core.hooksPath", "githooks")
    install_hook(repo)
    assert (repo / "githooks" / "post-commit").exists()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()


def test_install_outside_a_repository_fails_clearly(tmp_path: Path, xdg: dict[str, str]) -> None:
    out = _stead("hooks", "install", cwd=tmp_path)
    assert out.returncode == 1 and "stead hooks install:" in out.stderr
