"""kill -9 while history is being written: every entry whose write returned survives, whole.

A real child process records entries as fast as it can and prints each id once `record`
has returned (committed); the parent kills it with SIGKILL mid-stream, several times over
the same database, then checks that every printed entry is there with its exact text and
that SQLite finds the file intact.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.history.store import HistoryStore
from tests.conftest import ROOT

WRITER = """
import sys
from pathlib import Path
from server.history import Entry, record
db, tag = Path(sys.argv[1]), sys.argv[2]
i = 0
while True:
    text = f"{tag} entry {i} " + "x" * (i % 50)
    entry_id = record(Entry(kind="completion", prompt=text, response="r" * (i % 7)), db)
    if entry_id is not None:
        print(entry_id, text, flush=True)
    i += 1
"""


@pytest.mark.slow
def test_kill_9_during_history_writes_loses_no_committed_entry(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    HistoryStore(db).close()
    committed: dict[int, str] = {}
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"r{round_}"],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while len(lines) < 30 + 10 * round_ and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        lines += rest.splitlines(keepends=True)
        assert len(lines) >= 30, "the writer never got going"
        for line in lines:
            if not line.endswith("\n"):
                continue  # cut off by the kill: its commit may or may not have happened
            entry_id, text = line.rstrip("\n").split(" ", 1)
            committed[int(entry_id)] = text
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = HistoryStore(db)
    for entry_id, text in committed.items():
        entry = store.get(entry_id)
        assert entry is not None, f"committed entry {entry_id} lost"
        assert entry.prompt == text
    assert store.count() >= len(committed)
    store.close()
