"""Two indexers on one workspace do the work once: CPU of one `stead index` alone versus
two started together on the same fresh workspace (the second waits on the lease, shows
the first one's progress, then finds everything indexed).

    python bench/index_lease.py [DIR] [--embedder none|static|minilm]

DIR defaults to the Python library directory (29,444 files here, site-packages
included).  Each run gets fresh
XDG dirs, so every measurement starts from an empty index.  Prints CPU seconds (user +
system of the child processes, from wait4) and the ratio; the target is <= 1.2x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, LANCEDB_LOG="error")
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        d = tmp / name.lower()
        d.mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name}_HOME"] = str(d)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run(root: Path, n: int, embedder: str) -> tuple[float, float, list[dict[str, int]]]:
    """Start n indexers at once; (wall seconds, CPU seconds, stats of each)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp))
        cmd = [sys.executable, "-m", "server", "index", str(root), "--embedder", embedder,
               "--json"]
        t0 = time.perf_counter()
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL) for _ in range(n)]
        cpu = 0.0
        stats = []
        for p in procs:
            assert p.stdout is not None
            out = p.stdout.read()
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                raise SystemExit(f"stead index failed with status {p.returncode}")
            cpu += usage.ru_utime + usage.ru_stime
            s = json.loads(out)["stats"]
            stats.append({k: s[k] for k in ("added", "unchanged")})
        return time.perf_counter() - t0, cpu, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", type=Path,
                    default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--embedder", default="none")
    args = ap.parse_args()
    wall1, cpu1, s1 = run(args.root, 1, args.embedder)
    wall2, cpu2, s2 = run(args.root, 2, args.embedder)
    print(f"workspace {args.root} (embedder {args.embedder})")
    print(f"  one indexer:        {cpu1:6.1f} s CPU, {wall1:6.1f} s wall  {s1}")
    print(f"  two started at once: {cpu2:6.1f} s CPU, {wall2:6.1f} s wall  {s2}")
    print(f"  CPU ratio: {cpu2 / cpu1:.2f}x (target <= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
