"""Time from `stead index --attach URI` to a searchable workspace, on a 10,000-file tree.

Generates a repository of N small Python files, publishes it in-process to moto's S3 server
on loopback, then, as a fresh client (empty data dir) on a copy of the checkout with a few
files edited: attach (manifest read and checks), the first refresh (walk, hash every file,
read the base's file hashes, index the differing files into the overlay) and the first
searches.  Prints each step and the bytes the client read from the store.

moto is a Python server on loopback: a real store adds its round-trip time (tens of ms) to
each read a query makes, and serves large reads faster.

Usage: python bench/cluster_attach.py [--files 10000] [--edited 5] [--embedder static]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

WORDS = ("parse", "render", "client", "config", "retry", "cache", "token", "stream", "queue",
         "index", "route", "schema", "export", "import", "merge", "split", "batch", "limit")


def _tree(root: Path, n: int) -> int:
    size = 0
    for i in range(n):
        a, b = WORDS[i % len(WORDS)], WORDS[(i // len(WORDS)) % len(WORDS)]
        text = (f'"""Module {i}: {a} and {b} helpers."""\n\n\n'
                f"def {a}_{b}_{i}(value, limit=10):\n"
                f'    """Return the {a} of value for {b} number {i}."""\n'
                f"    out = []\n    for item in value[:limit]:\n"
                f"        out.append(item * {i % 7 + 1})\n    return out\n\n\n"
                f"class {a.title()}{b.title()}{i}:\n"
                f"    def run(self, job):\n        return {a}_{b}_{i}(job)\n")
        p = root / f"pkg{i // 500:02d}" / f"mod_{i:05d}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        size += len(text)
    return size


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--edited", type=int, default=5)
    ap.add_argument("--embedder", default="static")
    args = ap.parse_args()

    from clusterkit import S3, git_init

    from index.api import open_index
    from index.cluster.attach import attach
    from index.cluster.publish import publish
    from server.paths import dirs
    from server.settings import IndexSettings

    tmp = Path(tempfile.mkdtemp(prefix="stead-bench-attach-"))
    repo = tmp / "repo"
    size = _tree(repo, args.files)
    git_init(repo)
    s3 = S3()
    os.environ.update(s3.env)
    settings = IndexSettings(embedder=args.embedder)
    uri = f"s3://{s3.bucket}/base"
    print(f"tree: {args.files} files, {size / 1e6:.1f} MB; embedder {args.embedder}; "
          f"cpus {os.cpu_count()} (shared machine: figures vary with load)")
    r = publish(repo, uri, settings, dirs().models, engine="local")
    print(f"publish (in-process)      {r.seconds:7.1f} s  {r.manifest.chunks} chunks, "
          f"{r.manifest.vectors} vectors")
    client = tmp / "clone"
    shutil.copytree(repo, client)
    for i in range(args.edited):
        p = client / f"pkg{i:02d}" / f"mod_{i * 500:05d}.py"
        p.write_text(p.read_text() + f"\n\ndef edited_here_{i}():\n    return {i}\n")
    data = tmp / "client-data"
    # the client's models dir (its embedder) is the user's: only the index data is fresh
    (data / "models").mkdir(parents=True)
    model = dirs().models / "stead-static-minilm-256.npz"
    if model.is_file():
        os.symlink(model, data / "models" / model.name)
    before = _store_bytes(s3)
    t0 = time.perf_counter()
    attach(client, data, settings, uri)
    t1 = time.perf_counter()
    ix = open_index(client, data, settings)
    stats = ix.refresh()
    t2 = time.perf_counter()
    first = ix.search("render client helpers", 10, mode="fts")
    t3 = time.perf_counter()
    hybrid = ix.search("return the retry of a value", 10)
    t4 = time.perf_counter()
    lat = []
    for q in ("parse config", "stream queue batch", "edited_here_0", "RouteSchema run"):
        s = time.perf_counter()
        ix.search(q, 10)
        lat.append((time.perf_counter() - s) * 1000)
    read = _store_bytes(s3) - before
    print(f"attach (manifest, checks) {t1 - t0:7.2f} s")
    print(f"first refresh             {t2 - t1:7.2f} s  ({stats.added} files into the overlay)")
    print(f"first search (fts)        {t3 - t2:7.2f} s  ({len(first)} hits)")
    print(f"first search (hybrid)     {t4 - t3:7.2f} s  ({len(hybrid)} hits, "
          f"{hybrid[0].source if hybrid else '-'})")
    print(f"attach -> searchable      {t3 - t0:7.2f} s")
    print(f"later searches (hybrid)   median {statistics.median(lat):.0f} ms, "
          f"max {max(lat):.0f} ms")
    print(f"bytes read from the store {read / 1e6:7.1f} MB of {_total(s3) / 1e6:.1f} MB stored")
    s3.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _total(s3: object) -> int:
    c = s3.client()  # type: ignore[attr-defined]
    total = 0
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket):  # type: ignore[attr-defined]
        total += sum(o["Size"] for o in page.get("Contents", []))
    return total


_SERVED = {"bytes": 0}


def _store_bytes(s3: object) -> int:
    """Bytes moto has served (GET bodies), counted by a hook on its response path."""
    return _SERVED["bytes"]


def _count_gets() -> None:
    """Count response bytes of every GET moto serves (werkzeug's WSGI app, wrapped)."""
    from moto.moto_server import werkzeug_app

    orig = werkzeug_app.DomainDispatcherApplication.__call__

    def counting(self: object, environ: dict, start_response: object) -> object:
        body = orig(self, environ, start_response)  # type: ignore[arg-type]
        if environ.get("REQUEST_METHOD") == "GET":
            chunks = list(body)
            _SERVED["bytes"] += sum(len(c) for c in chunks)
            return chunks
        return body

    werkzeug_app.DomainDispatcherApplication.__call__ = counting  # type: ignore[method-assign]


if __name__ == "__main__":
    _count_gets()
    raise SystemExit(main())
