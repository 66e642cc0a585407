"""One indexer per workspace across processes (index/lease.py), with real processes.

A second indexer waits and shows the first one's progress, then finds the work done; when
the first is killed with -9 it takes over and finishes; `ready` is never said before a full
pass completed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.api import open_index
from index.lease import IndexLease
from server.paths import dirs
from server.settings import IndexSettings

NONE = IndexSettings(embedder="none")


def _source(i: int) -> str:
    return "".join(
        f"def func_{i}_{j}(x):\n    total = x * {j}\n"
        + "".join(f"    total += {k} * x\n" for k in range(25))
        + "    return total\n\n\n" for j in range(3))


def _files(root: Path, n: int) -> None:
    for i in range(n):
        d = root / f"pkg{i % 20}"
        d.mkdir(exist_ok=True)
        (d / f"mod_{i}.py").write_text(_source(i))


def _indexer(root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "server", "index", str(root), "--embedder", "none", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_holder(lease: IndexLease, pid: int, committed_in: Path | None = None,
                     timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = lease.holder()
        if holder.get("pid") == pid and holder.get("done", 0) > 0:
            return
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} never published progress: {lease.holder()}")


# -- the lease itself ---------------------------------------------------------------------
def test_lease_is_exclusive_shares_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    a, b = IndexLease(tmp_path / "ix"), IndexLease(tmp_path / "ix")
    assert a.try_acquire() and a.held
    assert not b.try_acquire()  # a second holder, even in the same process, is refused
    a.progress(3, 10, "indexed 3/10 files")
    seen: list[dict[str, object]] = []
    cancel = threading.Event()
    threading.Timer(0.6, cancel.set).start()
    assert b.acquire(cancel, seen.append) is False  # cancelled while waiting
    assert seen and seen[-1]["done"] == 3 and seen[-1]["pid"] == os.getpid()
    assert not a.complete
    a.mark_complete()
    a.release()
    assert b.acquire(threading.Event()) is True
    assert b.complete  # remembered across holders
    b.release()


HOLD = """
import sys, time
from pathlib import Path
from index.lease import IndexLease
lease = IndexLease(Path(sys.argv[1]))
assert lease.try_acquire()
lease.progress(1, 2, "holding")
print("held", flush=True)
time.sleep(600)
"""


def test_kill_9_of_the_holder_frees_the_lease(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "ix")],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        lease = IndexLease(tmp_path / "ix")
        assert not lease.try_acquire()
        assert lease.holder()["pid"] == proc.pid
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        started = time.monotonic()
        assert lease.acquire(threading.Event())
        assert time.monotonic() - started < 2.0
        lease.release()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ready_only_after_a_full_pass(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    _files(root, 5)
    data = tmp_path / "data"
    ix = open_index(root, data, NONE)
    assert ix.status()["state"] == "incomplete"
    ix.refresh([root / "pkg0" / "mod_0.py"])  # some files: still not a whole pass
    assert ix.status()["state"] == "incomplete"
    ix.refresh()
    assert ix.status()["state"] == "ready" and ix.status()["files"] == 5
    assert open_index(root, data, NONE).status()["state"] == "ready"  # remembered


# -- real indexers --------------------------------------------------------------------------
@pytest.mark.slow
def test_two_indexers_started_together_do_the_work_once(
        workspace: Path, xdg: dict[str, str]) -> None:
    n = 1000
    _files(workspace, n)
    env = {**os.environ, **xdg}
    procs = [_indexer(workspace, env) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        results.append((json.loads(out), err))
    added = sorted(r["stats"]["added"] for r, _ in results)
    assert added == [0, n]  # one did the job, the other found it done
    waiter_out, waiter_err = next((r, e) for r, e in results if r["stats"]["added"] == 0)
    assert waiter_out["stats"]["unchanged"] == n
    assert "is indexing" in waiter_err  # while waiting it showed the other one's progress
    assert all(r["status"]["state"] == "ready" for r, _ in results)


@pytest.mark.slow
def test_waiting_indexer_takes_over_after_kill_9(workspace: Path, xdg: dict[str, str]) -> None:
    n = 1200
    _files(workspace, n)
    env = {**os.environ, **xdg}
    lease = IndexLease(dirs().index_dir(workspace))
    first = _indexer(workspace, env)
    _wait_for_holder(lease, first.pid)
    second = _indexer(workspace, env)
    time.sleep(0.5)  # the second is waiting now
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    out2, err2 = second.communicate(timeout=600)
    assert second.returncode == 0, err2[-2000:]
    s2 = json.loads(out2)["stats"]
    assert s2["added"] + s2["unchanged"] == n
    assert s2["unchanged"] > 0 and s2["added"] > 0, s2  # resumed, did not start over
    ix = open_index(workspace, dirs().data, NONE)
    assert ix.status()["files"] == n and ix.status()["state"] == "ready"


def test_a_rebuilt_index_keeps_the_lease_file(tmp_path: Path) -> None:
    """An index wiped for a schema change must not delete the lock a live indexer holds
    (a new file would let a second holder in) but does forget that a pass completed."""
    root = tmp_path / "ws"
    root.mkdir()
    _files(root, 2)
    data = tmp_path / "data"
    ix = open_index(root, data, NONE)
    ix.refresh()
    assert ix.status()["state"] == "ready"
    holder = IndexLease(ix.dir)
    assert holder.try_acquire()
    (ix.dir / "meta.json").write_text("{}")  # unusable: the next open rebuilds
    again = open_index(root, data, NONE)
    assert again.store.notice  # it was rebuilt
    assert (ix.dir / "indexer.lock").exists()
    assert not IndexLease(ix.dir).try_acquire()  # still held, same file
    assert again.status()["state"] == "incomplete"
    holder.release()
