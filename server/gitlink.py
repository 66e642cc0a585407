"""Link history entries to git commits, all locally: by file overlap and time window.

A post-commit hook (`stead hooks install`) runs `stead hooks run post-commit`, which reads
the new commit with plain `git` commands, scores the history entries made since the
previous commit, and stores the links with a confidence.  Nothing leaves the machine.

Scoring is a pure function (`score`) so that its policy is tested against a table:
- an entry whose context files were changed by the commit is linked, more confidently the
  more of its files changed, when its line ranges touch changed lines, and the closer it was
  to the commit;
- an entry without files (a chat about the workspace) links weakly on time alone;
- an entry whose suggestion was rejected, refused or failed counts half.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from attrs import frozen

from server.history.model import StoredEntry
from server.paths import uri_path

MIN_CONFIDENCE = 0.25
MAX_WINDOW_H = 12.0
MIN_WINDOW_MIN = 30.0


class GitError(Exception):
    pass


@frozen
class CommitInfo:
    sha: str
    repo: str
    time: float
    parent_time: float | None
    files: tuple[str, ...]
    #: New-side changed line ranges per file (1-based, inclusive).
    hunks: dict[str, tuple[tuple[int, int], ...]]


def git(*args: str, cwd: Path | str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "GIT_INDEX_FILE"}
    env["LC_ALL"] = "C"
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout.decode("utf-8", "surrogateescape")


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def parse_hunks(patch: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """`git diff -U0` output -> new-side line ranges per path (deletions touch one line)."""
    out: dict[str, list[tuple[int, int]]] = {}
    path: str | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            path = None if target == "/dev/null" else target.removeprefix("b/")
            if path is not None:
                out.setdefault(path, [])
        elif path is not None and (m := _HUNK.match(line)):
            start, count = int(m.group(1)), int(m.group(2) or "1")
            out[path].append((max(start, 1), max(start, 1) + max(count, 1) - 1))
    return {p: tuple(r) for p, r in out.items()}


def commit_info(rev: str = "HEAD", cwd: Path | str = ".") -> CommitInfo:
    repo = git("rev-parse", "--show-toplevel", cwd=cwd).strip()
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}", cwd=cwd).strip()
    ct, _, parents = git("show", "-s", "--format=%ct %P", sha, cwd=cwd).strip().partition(" ")
    parent = parents.split()[0] if parents.split() else None
    parent_time = None
    if parent:
        parent_time = float(git("show", "-s", "--format=%ct", parent, cwd=cwd).strip())
    names = git("diff-tree", "--no-commit-id", "--name-only", "-r", "-M", "--root", "-z", sha,
                cwd=cwd)
    files = tuple(sorted({n for n in names.split("\0") if n}))
    patch = git("diff-tree", "-p", "-U0", "--no-color", "--no-ext-diff", "-M", "--root",
                "--no-commit-id", sha, cwd=cwd)
    return CommitInfo(sha, repo, float(ct), parent_time, files, parse_hunks(patch))


def window(commit_time: float, parent_time: float | None, *, max_hours: float = MAX_WINDOW_H,
           min_minutes: float = MIN_WINDOW_MIN, slack_s: float = 120.0) -> tuple[float, float]:
    """Entries from the work since the previous commit (at most `max_hours`, at least
    `min_minutes` back), up to the commit plus a little clock slack."""
    start = commit_time - max_hours * 3600
    if parent_time is not None:
        start = max(start, parent_time)
    start = min(start, commit_time - min_minutes * 60)
    return start, commit_time + slack_s


def _real(path: str) -> str:
    return os.path.realpath(path)


def entry_paths(entry: StoredEntry, repo: str) -> dict[str, list[tuple[int, int]]]:
    """The entry's files as repo-relative paths (files outside the repo are left out)."""
    root = _real(repo)
    out: dict[str, list[tuple[int, int]]] = {}
    for f in entry.files:
        p = f.path
        if p.startswith("file://"):
            p = uri_path(p)
        if not os.path.isabs(p):
            p = os.path.join(entry.workspace or root, p)
        rel = os.path.relpath(_real(p), root)
        if rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
            continue
        rel = rel.replace(os.sep, "/")
        out.setdefault(rel, [])
        if f.start_line > 0 and f.end_line >= f.start_line:
            out[rel].append((f.start_line, f.end_line))
    return out


def _related(workspace: str, repo: str) -> bool:
    if not workspace:
        return False
    w, r = _real(workspace), _real(repo)
    return w == r or w.startswith(r + os.sep) or r.startswith(w + os.sep)


def score(entry: StoredEntry, info: CommitInfo, start: float) -> tuple[float, str] | None:
    """(confidence, reason) for linking `entry` to the commit, or None for no link."""
    if entry.ts > info.time + 300 or entry.ts < start:
        return None
    span = max(info.time - start, 1.0)
    closeness = min(1.0, max(0.0, 1.0 - (info.time - entry.ts) / span))
    minutes = max(0, round((info.time - entry.ts) / 60))
    when = f"{minutes} min before the commit"
    paths = entry_paths(entry, info.repo)
    if paths:
        changed = [p for p in paths if p in info.files]
        if not changed:
            return None
        overlap = len(changed) / len(paths)
        lines = any(
            a <= hi and lo <= b
            for p in changed for lo, hi in paths[p] for a, b in info.hunks.get(p, ())
        )
        conf = 0.45 + 0.3 * overlap + 0.15 * lines + 0.1 * closeness
        reason = f"{len(changed)}/{len(paths)} files changed" + (
            ", lines overlap" if lines else "") + f", {when}"
    elif _related(entry.workspace, info.repo):
        conf = 0.15 + 0.15 * closeness
        reason = f"same workspace, no files, {when}"
    else:
        return None
    if entry.outcome in ("rejected", "refused", "failed"):
        conf *= 0.5
        reason += f", {entry.outcome}"
    return round(min(conf, 1.0), 3), reason


def plan_links(entries: Iterable[StoredEntry], info: CommitInfo, start: float,
               min_confidence: float = MIN_CONFIDENCE) -> list[tuple[int, float, str]]:
    out = []
    for e in entries:
        scored = score(e, info, start)
        if scored is not None and scored[0] >= min_confidence:
            out.append((e.id, scored[0], scored[1]))
    return sorted(out, key=lambda x: -x[1])


def link_commit(db_path: Path, rev: str = "HEAD", cwd: Path | str = ".") -> tuple[CommitInfo, int]:
    """Score and store the links of one commit; returns the commit and how many links."""
    from server.history import open_store

    info = commit_info(rev, cwd)
    start, end = window(info.time, info.parent_time)
    store = open_store(db_path)
    links = plan_links(store.candidates(start, end), info, start)
    store.add_links(info.sha, info.repo, links)
    return info, len(links)


# -- the post-commit hook ---------------------------------------------------------------
BEGIN = "# >>> stead post-commit >>>"
END = "# <<< stead post-commit <<<"
CHAINED = "post-commit.stead-chained"


def hook_block(python: str = sys.executable) -> str:
    return (
        f"{BEGIN}\n"
        "# Links this commit to stead's local prompt history; nothing leaves the machine.\n"
        f"{shlex.quote(python)} -m server hooks run post-commit >/dev/null 2>&1 || true\n"
        f"{END}\n"
    )


def _wrapper(python: str) -> str:
    return (
        "#!/bin/sh\n"
        f"# The hook that was here before stead is kept as {CHAINED} and runs first.\n"
        f'"$(dirname "$0")/{CHAINED}" "$@"\n'
        "status=$?\n"
        f"{hook_block(python)}"
        "exit $status\n"
    )


def hooks_dir(cwd: Path | str = ".") -> Path:
    """The hooks directory git uses (honours core.hooksPath and worktrees)."""
    raw = git("rev-parse", "--git-path", "hooks", cwd=cwd).strip()
    path = Path(raw)
    return path if path.is_absolute() else (Path(cwd) / path).resolve()


def _appendable(text: str) -> bool:
    """A shell script we can append to: sh-family shebang and no top-level exit/exec."""
    first = text.splitlines()[0] if text else ""
    if first.startswith("#!") and not re.search(r"\b(?:ba|da|z|k)?sh\b", first):
        return False
    return not re.search(r"^(?:exit|exec)\b", text, re.MULTILINE)


def install_hook(cwd: Path | str = ".", python: str = sys.executable) -> str:
    """Add stead's post-commit hook, chained with any existing one; returns what was done."""
    directory = hooks_dir(cwd)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "post-commit"
    block = hook_block(python)
    if hook.exists():
        text = hook.read_text("utf-8", errors="surrogateescape")
        if BEGIN in text:
            new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", lambda _: block,
                         text, flags=re.DOTALL)
            hook.write_text(new, "utf-8", errors="surrogateescape")
            return f"already installed in {hook} (updated)"
        if _appendable(text):
            sep = "" if text.endswith("\n") else "\n"
            hook.write_text(text + sep + "\n" + block, "utf-8", errors="surrogateescape")
            _make_executable(hook)
            return f"added to the existing hook {hook}"
        chained = directory / CHAINED
        if chained.exists():
            raise GitError(f"{chained} already exists; not touching either hook")
        os.replace(hook, chained)
        hook.write_text(_wrapper(python), "utf-8")
        _make_executable(hook)
        _make_executable(chained)
        return f"installed {hook}; the existing hook now runs first as {chained}"
    hook.write_text("#!/bin/sh\n" + block, "utf-8")
    _make_executable(hook)
    return f"installed {hook}"


def uninstall_hook(cwd: Path | str = ".") -> str:
    directory = hooks_dir(cwd)
    hook = directory / "post-commit"
    chained = directory / CHAINED
    if not hook.exists() or BEGIN not in hook.read_text("utf-8", errors="surrogateescape"):
        return "no stead hook installed"
    text = hook.read_text("utf-8", errors="surrogateescape")
    if CHAINED in text and chained.exists():
        os.replace(chained, hook)
        return f"removed; restored the previous hook at {hook}"
    rest = re.sub(r"\n?" + re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", "\n", text,
                  flags=re.DOTALL)
    if rest.strip() in ("", "#!/bin/sh"):
        hook.unlink()
        return f"removed {hook}"
    hook.write_text(rest.rstrip("\n") + "\n", "utf-8", errors="surrogateescape")
    return f"removed stead's lines from {hook}"


def _make_executable(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
