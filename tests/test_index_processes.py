"""Several real processes on one index, and kill -9 in the middle of indexing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from index.api import open_index
from index.chunking import chunk_text
from index.store import GONE_KIND
from server.paths import dirs
from server.settings import IndexSettings

NONE = IndexSettings(embedder="none")


def _source(i: int, version: int) -> str:
    return "".join(
        f"def func_{i}_{j}_v{version}(x):\n    total = x * {j}\n"
        + "".join(f"    total += {k} * x\n" for k in range(25))
        + "    return total\n\n\n" for j in range(3))


def _consistent(root: Path, data: Path) -> dict[str, str]:
    """Every indexed file's chunks are exactly those of its content on disk, no duplicates."""
    ix = open_index(root, data, NONE)
    saved = ix.store.saved_files()
    rows = ix.store.table.to_arrow().select(
        ["id", "path", "kind", "chunk_hash", "terms", "has_vec"]).to_pylist()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate rows"
    by_path: dict[str, list[str]] = {}
    for r in rows:
        if r["kind"] == GONE_KIND:  # a replaced chunk: searchable by nothing
            assert (r["terms"], r["has_vec"], r["chunk_hash"]) == ("", False, "")
        elif r["kind"] != "file":
            by_path.setdefault(r["path"], []).append(r["chunk_hash"])
    for path in saved:
        text = (root / path).read_text()
        expected = sorted(c.hash for c in chunk_text(path, text))
        assert sorted(by_path.get(path, [])) == expected, f"{path} partially written"
    assert set(by_path) <= set(saved), "chunks without their file marker"
    return {p: v[0] for p, v in saved.items()}


WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from index.api import open_index
    from server.paths import dirs
    from server.settings import IndexSettings
    root, group, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    ix = open_index(root, dirs().data, IndexSettings(embedder="none"))
    files = sorted(root.glob(f"{group}_*.py"))
    for version in range(1, rounds + 1):
        for f in files:
            f.write_text(f.read_text().replace(f"_v{version - 1}(", f"_v{version}("))
        ix.refresh(files)
        ix.refresh()  # full refresh too: sees the other process's files, must not undo them
    print("done", flush=True)
""")


@pytest.mark.slow
def test_two_processes_writing_one_index_lose_nothing(workspace: Path, xdg: dict[str, str]
                                                      ) -> None:
    for g in ("a", "b"):
        for i in range(15):
            (workspace / f"{g}_{i}.py").write_text(_source(i, 0))
    env = {**os.environ, **xdg}
    rounds = 4
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(workspace), g, str(rounds)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for g in ("a", "b")]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        assert "done" in out
    saved = _consistent(workspace, dirs().data)
    assert len(saved) == 30
    ix = open_index(workspace, dirs().data, NONE)
    for i in range(15):  # the last version of every file, from either writer
        hits = ix.lookup_symbol(f"func_{i}_1_v{rounds}")
        assert sorted(h.path for h in hits) == [f"a_{i}.py", f"b_{i}.py"]
        assert ix.lookup_symbol(f"func_{i}_1_v{rounds - 1}") == []
    stats = ix.refresh()
    assert (stats.added, stats.updated, stats.deleted, stats.unchanged) == (0, 0, 0, 30)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _nice(pid: int) -> int:
    try:
        return int((Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())[16])
    except (OSError, IndexError):
        return -100


@pytest.mark.slow
def test_kill_9_during_indexing_leaves_a_consistent_index_that_resumes(
        workspace: Path, xdg: dict[str, str]) -> None:
    n = 1500
    for i in range(n):
        d = workspace / f"pkg{i % 20}"
        d.mkdir(exist_ok=True)
        (d / f"mod_{i}.py").write_text(_source(i, 0))
    env = {**os.environ, **xdg}
    import lancedb  # noqa: F401  (imported before the race starts: polling begins at once)

    proc = subprocess.Popen([sys.executable, "-m", "server", "index", str(workspace),
                             "--embedder", "none"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = dirs().data
    index_dir = dirs().index_dir(workspace)
    committed = 0
    try:
        for _ in range(1200):  # wait (bounded) for the first commits, then kill mid-run
            if (index_dir / "meta.json").exists():
                ix = open_index(workspace, data, NONE)
                committed = ix.store.count("kind = 'file'")
                if committed > 0:
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        workers = _children(proc.pid)  # its parallel parse workers
        niceness = [_nice(w) for w in workers]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 0 < committed < n, f"could not catch the indexer mid-run ({committed} of {n})"
    # the workers of a killed indexer do not linger (bounded wait: they poll each second)
    assert workers, "the indexer ran no parse workers"
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert base == 19 or any(n > base for n in niceness), "parse workers at normal priority"
    for _ in range(100):
        if not any(Path(f"/proc/{w}").exists() for w in workers):
            break
        time.sleep(0.1)
    assert not any(Path(f"/proc/{w}").exists() for w in workers), "orphaned workers"
    saved = _consistent(workspace, data)
    assert 0 < len(saved) < n
    ix = open_index(workspace, data, NONE)
    stats = ix.refresh()
    # resumes: committed files cost nothing, the rest is added
    assert stats.unchanged == len(saved)
    assert stats.added == n - len(saved)
    assert len(_consistent(workspace, data)) == n
