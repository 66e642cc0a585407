"""Escalation overheads, printed as figures (medians and p99 from one run).

- preview: build_manifest for a question and N excerpts of a real source tree (this repo),
  redaction and token counting included; the tiktoken load is reported apart.
- send: preview + send through the real HTTP client to the loopback fake provider
  (streaming), i.e. what stead adds on top of the provider's own latency.
- audit: append throughput with fsync, and `verify` time for the whole chain.

    python bench/egress.py [--runs N] [--records N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.egress import tokens  # noqa: E402
from server.egress.audit import AuditLog  # noqa: E402
from server.egress.flow import Escalations  # noqa: E402
from server.egress.manifest import Item, build_manifest  # noqa: E402
from server.settings import load  # noqa: E402
from tests.fake_openai import FakeProvider  # noqa: E402


def figures(name: str, samples: list[float], unit: str = "ms") -> None:
    s = sorted(samples)
    p99 = s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]
    print(f"{name:44} median {statistics.median(s):8.2f} {unit}   p99 {p99:8.2f} {unit}"
          f"   (n={len(s)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--records", type=int, default=2000)
    args = ap.parse_args()

    t = time.perf_counter()
    tokens.count("warm up")
    print(f"tiktoken cl100k load (once per process): {(time.perf_counter() - t) * 1000:.0f} ms")

    files = sorted(p for p in (ROOT / "server").rglob("*.py") if p.stat().st_size > 2000)[:40]
    with FakeProvider(reply="word " * 200, chunk_chars=16) as fake:
        settings = load({"remote": {
            "enabled": True, "allowed_workspaces": ["*"],
            "providers": {"f": {"url": fake.url, "model": "m", "api_key_env": "BENCH_KEY"}},
        }}).settings
        os.environ["BENCH_KEY"] = "bench-key-123456"
        for n in (1, 8, 40):
            items = [Item(str(p.relative_to(ROOT))) for p in files[:n]]
            samples, size, tok = [], 0, 0
            for _ in range(args.runs):
                t = time.perf_counter()
                m = build_manifest("Explain this code.", items, settings, provider="f",
                                   roots=[ROOT]).manifest
                samples.append((time.perf_counter() - t) * 1000)
                size, tok = len(m.payload), m.tokens
            figures(f"preview {n:2} files ({size // 1024} KiB, {tok} tokens)", samples)

        with tempfile.TemporaryDirectory() as tmp:
            esc = Escalations(AuditLog(Path(tmp) / "audit.jsonl"))
            items = [Item(str(p.relative_to(ROOT))) for p in files[:8]]
            total, first = [], []

            async def one() -> None:
                t0 = time.perf_counter()
                m = esc.preview("Explain.", items, settings, provider="f", roots=[ROOT])
                seen: list[float] = []

                def on_text(text: str) -> None:
                    if not seen:
                        seen.append(time.perf_counter())

                await esc.send(m.id, [], settings, on_text)
                total.append((time.perf_counter() - t0) * 1000)
                first.append((seen[0] - t0) * 1000)

            for _ in range(args.runs):
                asyncio.run(one())
            figures("preview + send, 8 files, to first chunk", first)
            figures("preview + send, 8 files, whole answer", total)

    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp) / "audit.jsonl")
        samples = []
        for i in range(args.records):
            t = time.perf_counter()
            log.append("approved", provider="p", model="m", manifest=f"{i:064x}",
                       items=["a.py:1-20", "b.py:3-40"], tokens=1000, reason="user asked")
            samples.append((time.perf_counter() - t) * 1000)
        figures("audit append (fsync)", samples)
        t = time.perf_counter()
        result = log.verify()
        ms = (time.perf_counter() - t) * 1000
        print(f"audit verify {result.records} records: {ms:.0f} ms ({'ok' if result.ok else 'BROKEN'})")


if __name__ == "__main__":
    main()
