"""Does the editor stall while a large workspace is indexed?  The real server, over stdio.

Generates a workspace of many small source files (50,000 by default: Python, TypeScript,
Go and Markdown), starts `stead serve` on it the way an editor does, and while the
background index is built sends a request every 50 ms that the event loop answers
itself (`stead/indexStatus`) plus, every 500 ms, a `stead/search` (answered off the loop).
Prints round-trip p50/p99/max for both during indexing, how many round trips took over
100 ms, when the first progress report came, when full-text search first answered with
hits, and when the index (vectors included) was complete.

Usage: python bench/index_stall.py [--files 50000] [--embedder static] [--models DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ["user", "account", "order", "invoice", "payment", "cart", "session", "token", "cache", "queue", "worker", "report", "export", "import", "parse", "render", "fetch", "store", "retry", "timeout", "config", "client", "server", "handler", "route", "metric", "event", "stream", "buffer", "record", "schema"]


def _ident(rnd: random.Random, n: int = 2) -> list[str]:
    return [rnd.choice(WORDS) for _ in range(n)]


def _python(rnd: random.Random, i: int) -> str:
    out = [f'"""Module {i}: {" ".join(_ident(rnd, 6))}."""\n\n']
    for j in range(rnd.randint(2, 5)):
        a, b = _ident(rnd)
        out.append(f"def {a}_{b}_{i}_{j}(value, limit={j}):\n"
                   f'    """{a.title()} the {b} within the limit."""\n'
                   f"    total = 0\n    for item in value[:limit]:\n"
                   f"        total += len(str(item))\n    return total\n\n\n")
    return "".join(out)


def _typescript(rnd: random.Random, i: int) -> str:
    a, b = _ident(rnd)
    return (f"export class {a.title()}{b.title()}{i} {{\n"
            f"  constructor(private readonly limit: number) {{}}\n\n"
            f"  {a}{b.title()}(items: string[]): number {{\n"
            f"    return items.slice(0, this.limit).reduce((n, s) => n + s.length, 0);\n"
            f"  }}\n}}\n")


def _go(rnd: random.Random, i: int) -> str:
    a, b = _ident(rnd)
    return (f"package p{i % 100}\n\n// {a.title()}{b.title()}{i} counts {a} {b}s.\n"
            f"func {a.title()}{b.title()}{i}(items []string) int {{\n"
            f"\tn := 0\n\tfor _, s := range items {{\n\t\tn += len(s)\n\t}}\n\treturn n\n}}\n")


def _markdown(rnd: random.Random, i: int) -> str:
    return f"# Note {i}\n\n" + " ".join(_ident(rnd, 40)) + "\n"


def make_workspace(root: Path, files: int) -> int:
    rnd = random.Random(7)
    makers = [(".py", _python), (".ts", _typescript), (".go", _go), (".md", _markdown)]
    size = 0
    for i in range(files):
        ext, make = makers[i % 4] if i % 10 else makers[0]
        d = root / f"pkg{i // 1000:03d}" / f"mod{(i // 50) % 20:02d}"
        d.mkdir(parents=True, exist_ok=True)
        text = make(rnd, i)
        (d / f"f{i}{ext}").write_text(text)
        size += len(text)
    (root / ".gitignore").write_text("build/\n")
    return size


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


async def run(args: argparse.Namespace) -> None:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    from server.protocol import _plain

    tmp = Path(tempfile.mkdtemp(prefix="stead-stall-"))
    ws = tmp / "ws"
    t0 = time.perf_counter()
    size = make_workspace(ws, args.files)
    print(f"workspace: {args.files} files, {size / 1e6:.1f} MB "
          f"(generated in {time.perf_counter() - t0:.0f} s)")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"),
           "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_CACHE_HOME": str(tmp / "cache"),
           "XDG_STATE_HOME": str(tmp / "state")}
    if args.models:
        shutil.copytree(args.models, tmp / "data" / "stead" / "models")

    client = LanguageClient("stead-bench", "1")
    progress: list[float] = []
    start = time.perf_counter()

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def _create(params: Any) -> None:
        return None

    @client.feature(types.PROGRESS)
    def _progress(params: Any) -> None:
        progress.append(time.perf_counter() - start)

    await client.start_io(sys.executable, "-m", "server", "serve", env=env)
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True)),
        root_uri=ws.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
        initialization_options={"index": {"embedder": args.embedder}}))
    client.initialized(types.InitializedParams())

    status_rtt: list[float] = []
    search_rtt: list[float] = []
    first_hits = 0.0
    complete = 0.0
    last: dict[str, Any] = {}
    tick = 0
    while time.perf_counter() - start < args.timeout:
        t = time.perf_counter()
        last = _plain(await client.protocol.send_request_async("stead/indexStatus", {}))
        status_rtt.append((time.perf_counter() - t) * 1000)
        tick += 1
        if tick % 10 == 0:
            t = time.perf_counter()
            res = _plain(await client.protocol.send_request_async(
                "stead/search", {"query": "parse the session token", "k": 10}))
            search_rtt.append((time.perf_counter() - t) * 1000)
            hits = res["hits"]
            if hits and not first_hits:
                first_hits = time.perf_counter() - start
        state = last.get("state")
        if state == "ready" and last.get("files", 0) >= args.files * 0.99 and (
                args.embedder == "none" or last.get("vectors", 0) >= last.get("chunks", 1)):
            complete = time.perf_counter() - start
            break
        await asyncio.sleep(0.05)
    print(f"first progress report after {progress[0]:.1f} s" if progress else "no progress")
    print(f"full-text search first answered with hits after {first_hits:.1f} s")
    print(f"index complete ({last.get('files')} files, {last.get('chunks')} chunks, "
          f"{last.get('vectors')} vectors) after {complete:.1f} s" if complete
          else f"not complete after {args.timeout} s: {last.get('state')}")
    for name, xs in (("indexStatus (event loop)", status_rtt),
                     ("search (off the loop)", search_rtt)):
        slow = sum(1 for x in xs if x > 100)
        print(f"{name}: {len(xs)} round trips while indexing, p50 {_pct(xs, 50):.1f} ms, "
              f"p99 {_pct(xs, 99):.1f} ms, max {max(xs):.0f} ms, {slow} over 100 ms")
    print(f"median indexStatus round trip {statistics.median(status_rtt):.1f} ms")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--embedder", default="static")
    ap.add_argument("--models", help="a models dir holding the built static model (reused)")
    ap.add_argument("--timeout", type=float, default=1200)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
