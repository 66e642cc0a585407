"""Inline completion figures over a real source tree (the Python standard library).

At many cursor positions in stdlib files, runs the same engine the language server uses and
prints:

- server overhead: everything except the model call (typed-ahead and cache lookups, token
  budgets, snippet rendering, post-processing), p50 / p99 — targets 5 ms / 20 ms;
- typed-ahead hits: the user types the first characters of the shown suggestion and the rest
  comes from memory, p50 / p99 — target 1 ms;
- prompt tokens evaluated per request, cold (new position) versus while the user types
  forward (the real next characters of the file, one request per keystroke): gpt4all keeps
  its evaluated context and truncates it at `n_past`, so only the tokens after the first
  difference are read again (with FIM the suffix section follows the cursor, so it is re-read);
- model speed: prompt and generation tokens per second.

Usage:
  python bench/completion.py                       # tiny GGUF built on the fly (fast)
  python bench/completion.py --model PATH.gguf --positions 20 --forward 6
One run; medians and p99 are from that run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from server.backends.gpt4all_backend import Gpt4AllBackend  # noqa: E402
from server.completion.engine import Engine  # noqa: E402
from server.completion.types import CompletionRequest  # noqa: E402
from server.settings import Settings  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def positions(n: int, seed: int) -> list[tuple[Path, str, int]]:
    """(file, text, offset) at line ends and inside lines of random stdlib modules."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in lib.glob("*.py") if 2_000 < p.stat().st_size < 400_000)
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        path = rng.choice(files)
        text = path.read_text("utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        i = rng.randrange(5, max(6, len(lines) - 5))
        start = sum(len(x) for x in lines[:i])
        body = lines[i].rstrip("\n")
        if not body.strip():
            continue
        indent = len(body) - len(body.lstrip())
        col = rng.choice([len(body), indent + (len(body) - indent) // 2, indent])
        out.append((path, text, start + col))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="a GGUF file (default: a tiny test model)")
    ap.add_argument("--positions", type=int, default=300)
    ap.add_argument("--forward", type=int, default=8, help="keystrokes typed forward per spot")
    ap.add_argument("--forward-spots", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    model = args.model
    if model is None:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from tinymodel import build_tiny_gguf

        model = build_tiny_gguf(Path(tmp.name) / "tiny.gguf", fim=True)
    backend = Gpt4AllBackend(model, n_threads=args.threads, n_ctx=2048, timeout_s=120)
    t0 = time.perf_counter()
    backend.load()
    load_ms = (time.perf_counter() - t0) * 1000
    backend.count_tokens("warm up the tokenizer vocabulary")
    engine = Engine(lambda: backend)
    settings = Settings()
    print(f"model: {model} ({backend.info.fim} FIM, loaded in {load_ms:.0f} ms, "
          f"{args.threads} thread(s))")

    overhead: list[float] = []
    model_ms: list[float] = []
    typed_ms: list[float] = []
    cold_tokens: list[int] = []
    shown = 0
    spots = positions(args.positions, args.seed)
    for _path, text, off in spots:
        backend._forget()  # a new position: nothing reusable (cold)
        req = CompletionRequest(text[:off], text[off:], str(_path))
        r = engine.complete(req, settings, threading.Event())
        if r.source == "model" or r.source == "empty":
            overhead.append(r.overhead_ms)
            model_ms.append(r.model_ms)
            cold_tokens.append(r.prompt_tokens)
        if r.text.strip():
            shown += 1
            for k in range(1, min(4, len(r.text))):
                typed = CompletionRequest(text[:off] + r.text[:k], text[off:], str(_path))
                t = time.perf_counter()
                hit = engine.complete(typed, settings, threading.Event())
                if hit.source == "typed":
                    typed_ms.append((time.perf_counter() - t) * 1000)

    # typing forward: the real next characters of the file, one request per keystroke
    fwd_tokens: list[int] = []
    fwd_reused: list[int] = []
    fwd_cold: list[int] = []
    rng = random.Random(args.seed + 1)
    for _path, text, off in rng.sample(spots, min(args.forward_spots, len(spots))):
        backend._forget()
        engine.cache.forget_shown()
        first = engine.complete(CompletionRequest(text[:off], text[off:]), settings)
        fwd_cold.append(first.prompt_tokens)
        for k in range(1, args.forward + 1):
            r = engine.complete(
                CompletionRequest(text[: off + k], text[off + k :]), settings, threading.Event()
            )
            if r.source in ("model", "empty") and r.prompt:
                fwd_tokens.append(r.prompt_tokens)
                fwd_reused.append(r.reused_tokens)

    # model speed: prompt reading and generation, from the backend's own timings
    prompt_tps: list[float] = []
    gen_tps: list[float] = []
    for _path, text, off in spots[:5]:
        backend._forget()
        g = backend.fim(text[max(0, off - 1500):off], text[off:off + 300], max_tokens=48,
                        stop=(), cancel=threading.Event())
        if g.prompt_ms > 0:
            prompt_tps.append(g.prompt_tokens / g.prompt_ms * 1000)
        gen_time = g.latency_ms - g.prompt_ms
        if g.completion_tokens > 1 and gen_time > 0:
            gen_tps.append((g.completion_tokens - 1) / gen_time * 1000)

    print(f"positions: {len(spots)} in stdlib files; suggestions shown: {shown}")
    print(f"server overhead ms   p50 {pct(overhead, 50):6.2f}  p99 {pct(overhead, 99):6.2f}"
          f"   (target 5 / 20)   n={len(overhead)}")
    print(f"model call ms        p50 {pct(model_ms, 50):6.1f}  p99 {pct(model_ms, 99):6.1f}")
    print(f"typed-ahead hit ms   p50 {pct(typed_ms, 50):6.3f}  p99 {pct(typed_ms, 99):6.3f}"
          f"   (target 1)   n={len(typed_ms)}")
    print(f"prompt tokens read   cold median {statistics.median(cold_tokens or [0]):.0f}"
          f"   typing forward median {statistics.median(fwd_tokens or [0]):.0f}"
          f" (reused median {statistics.median(fwd_reused or [0]):.0f})"
          f"   n={len(fwd_tokens)} keystrokes")
    print(f"model tokens/s       prompt {statistics.median(prompt_tps or [0]):.0f}"
          f"   generation {statistics.median(gen_tps or [0]):.0f}")
    backend.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
