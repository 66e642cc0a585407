"""The first index a new user waits for: how soon full-text search answers, how soon the
status says so, and when the vectors are complete.

A fresh data dir (nothing indexed, no embedding model built yet) indexes a workspace
through the real WorkspaceIndex while a second thread polls every 100 ms the way an editor
would: `status()` (what `stead/indexStatus` reports) and a full-text search for a word the
workspace contains.  Prints the seconds until each of:

    status counts chunks       indexStatus stops saying files 0 / chunks 0
    full-text search answers   a real query returns hits
    status says search ready   search_ready == "full text" (what the editors show)
    refresh returned           vectors complete (or the embedder's reason they are not)

plus the time spent in each index state (scanning, indexing, embedding, optimizing), which
says what limits the vector time.

Usage: python bench/first_index.py [WORKSPACE] [--embedder default] [--query WORD]
       (default WORKSPACE: this repository; copied to a temp dir first)

Measured here in one run (2 cores, another job installing packages beside it; this
repository at f50f90a4, 255 files / 1.9 MB / 1,843 chunks; fresh data dir, default
embedder static-code, shipped in the package, so there is no first-run model build):

    open the index               1.24 s  (importing LanceDB and opening the table)
    status counts chunks         1.77 s  (while indexing 200/255 files)
    full-text search answers     1.95 s
    status says search ready     1.77 s
    refresh returned (vectors)   3.49 s  (embedding 0.7 s, indexing 1.1 s)

What limits the vector time is LanceDB's import and table writes, not the embedder.  With
`--embedder static` (the older distilled table) the first run spends ~49 s building it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workspace", nargs="?", default=str(ROOT))
    ap.add_argument("--embedder", default="default")
    ap.add_argument("--query", default="settings")
    args = ap.parse_args()

    from index.api import open_index
    from server.handlers.index import index_summary, search_ready
    from server.settings import IndexSettings

    src = Path(args.workspace).resolve()
    commit = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="stead-first-index-") as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(src, ws, ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
            ".pytest_cache", "out", "artifacts"))
        data = Path(tmp) / "data"
        started = time.perf_counter()
        ix = open_index(ws, data, IndexSettings(embedder=args.embedder))
        opened = time.perf_counter() - started
        marks: dict[str, float] = {}
        states: dict[str, float] = {}
        stop = threading.Event()

        def poll() -> None:
            last_state, last_t = "", time.perf_counter()
            while True:
                final = stop.is_set()  # one last look after refresh returned
                now = time.perf_counter()
                st = ix.status()
                st["eta_s"] = None
                st["percent"] = None
                state = str(st["state"])
                states[last_state] = states.get(last_state, 0.0) + (now - last_t)
                last_state, last_t = state, now
                t = now - started
                if st.get("chunks") and "counts" not in marks:
                    marks["counts"] = t
                if search_ready(st) and "ready" not in marks:
                    marks["ready"] = t
                    marks["summary_at_ready"] = index_summary(st)  # type: ignore[assignment]
                if "fts" not in marks:
                    try:
                        if ix.search(args.query, 3, mode="fts"):
                            marks["fts"] = time.perf_counter() - started
                    except Exception:
                        pass  # no full-text index yet
                if final:
                    break
                stop.wait(0.1)
            states.pop("", None)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        stats = ix.refresh()
        done = time.perf_counter() - started
        stop.set()
        watcher.join()
        st = ix.status()
        ix.close()

    print(f"workspace {src} @ {commit or '(not a git checkout)'}; embedder {args.embedder}")
    print(f"  {stats.files} files, {st['chunks']} chunks, {st['vectors']} vectors "
          f"({stats.bytes_read / 1e6:.1f} MB read)")
    print(f"  open the index               {opened:6.2f} s")
    for key, label in (("counts", "status counts chunks"), ("fts", "full-text search answers"),
                       ("ready", "status says search ready")):
        value = marks.get(key)
        print(f"  {label:<28} {value:6.2f} s" if value is not None else f"  {label:<28} never")
    print(f"  refresh returned (vectors)   {done:6.2f} s")
    if st.get("embedder_error"):
        print(f"  vectors off: {st['embedder_error']}")
    print("  time per index state: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in sorted(states.items(), key=lambda kv: -kv[1])))
    if "summary_at_ready" in marks:
        print(f"  status when search became ready: {marks['summary_at_ready']}")


if __name__ == "__main__":
    main()
