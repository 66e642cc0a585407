"""Publish throughput on Ray with 1 and 2 worker nodes (and in-process), per worker.

Starts a Ray head (no CPUs: it only schedules) and N one-CPU worker nodes as separate
processes on loopback, publishes a tree to a fresh location with `--engine ray`, and prints
files/s, MB/s, chunks/s and the bytes written.  The same tree is also published in-process
(`--engine local`) as the baseline.  The location is a local directory by default (what is
measured is chunk + embed + write, not a network); `--s3` publishes to moto's S3 server on
loopback instead (moto is pure Python: its figures understate a real store).

The figures feed the projection in docs/cluster.md.

Usage: python bench/cluster_publish.py [--src DIR] [--max-mb 12] [--workers 1 2]
                                       [--embedder static|none] [--s3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _copy_tree(src: Path, dst: Path, max_bytes: int) -> tuple[int, int]:
    """Copy .py files of `src` until max_bytes: a bounded, repeatable slice of a real tree."""
    n = size = 0
    for p in sorted(src.rglob("*.py")):
        if "test" in p.parts or "site-packages" in p.parts:
            continue
        try:
            b = p.stat().st_size
        except OSError:
            continue
        if b == 0 or b > 1_000_000:
            continue
        rel = p.relative_to(src)
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst / rel)
        n += 1
        size += b
        if size >= max_bytes:
            break
    return n, size


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=sysconfig.get_paths()["stdlib"])
    ap.add_argument("--max-mb", type=float, default=12.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--embedder", default="static")
    ap.add_argument("--s3", action="store_true")
    args = ap.parse_args()
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # loopback only
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

    from clusterkit import S3, RayCluster, wait_for

    from index.cluster.publish import publish
    from server.paths import dirs
    from server.settings import IndexSettings

    tmp = Path(tempfile.mkdtemp(prefix="stead-bench-publish-"))
    tree = tmp / "tree"
    files, size = _copy_tree(Path(args.src), tree, int(args.max_mb * 1e6))
    print(f"tree: {files} files, {size / 1e6:.1f} MB from {args.src}; embedder {args.embedder}; "
          f"cpus {os.cpu_count()} (shared machine: figures vary with load)")
    settings = IndexSettings(embedder=args.embedder)
    models = dirs().models
    s3 = S3() if args.s3 else None
    if s3 is not None:
        os.environ.update(s3.env)

    def location(name: str) -> tuple[str, Path | None]:
        if s3 is not None:
            return f"s3://{s3.bucket}/{name}", None
        return str(tmp / name), tmp / name

    runs: list[tuple[str, int, float, int, int]] = []
    uri, path = location("local")
    r = publish(tree, uri, settings, models, engine="local", commit="bench")
    runs.append(("local (in-process)", 1, r.seconds, r.manifest.chunks,
                 _du(path) if path else 0))
    import ray

    for n in args.workers:
        c = RayCluster(Path(tempfile.mkdtemp(prefix="sb", dir="/tmp")))
        c.start(workers=n)
        try:
            def up(c: RayCluster = c) -> bool:
                try:
                    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
                    return True
                except (ConnectionError, RuntimeError):
                    return False

            wait_for(up, timeout=180)
            wait_for(lambda n=n: ray.cluster_resources().get("CPU", 0) >= n, timeout=180)
            uri, path = location(f"ray{n}")
            r = publish(tree, uri, settings, models, engine="ray", address=c.address,
                        commit="bench")
            runs.append((f"ray, {n} worker node{'s' if n > 1 else ''}", n, r.seconds,
                         r.manifest.chunks, _du(path) if path else 0))
        finally:
            ray.shutdown()
            c.stop()
    print(f"{'engine':<24}{'s':>8}{'files/s':>10}{'MB/s':>8}{'chunks/s':>10}"
          f"{'per worker MB/s':>17}{'MB written':>12}")
    for name, n, secs, chunks, written in runs:
        print(f"{name:<24}{secs:>8.1f}{files / secs:>10.1f}{size / 1e6 / secs:>8.2f}"
              f"{chunks / secs:>10.0f}{size / 1e6 / secs / n:>17.2f}{written / 1e6:>12.1f}")
    if s3 is not None:
        s3.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
