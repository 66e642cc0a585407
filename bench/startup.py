"""Start-up: time from spawning the server to its initialize result, stead vs a bare pygls server.

Runs both alternately (so machine noise hits both alike) and prints medians and the
difference.  Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def frame(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream) -> dict:  # type: ignore[no-untyped-def]
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("server closed its output")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))  # type: ignore[no-any-return]


def time_initialize(cmd: list[str], env: dict[str, str], root: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin and proc.stdout
    proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {}}}))
    proc.stdin.flush()
    while True:
        msg = read_frame(proc.stdout)
        if msg.get("id") == 1:
            break
    elapsed = time.perf_counter() - start
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.flush()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        for name in ("CONFIG", "DATA", "CACHE", "STATE"):
            env[f"XDG_{name}_HOME"] = f"{tmp}/{name.lower()}"
        # index.enabled stays default: background indexing must not delay initialize
        root = Path(tmp) / "ws"
        root.mkdir()
        bare = [sys.executable, str(HERE / "bare_server.py")]
        stead = [sys.executable, "-m", "server", "serve"]
        # warm the OS file cache once for each
        time_initialize(bare, env, root)
        time_initialize(stead, env, root)
        b, s = [], []
        for _ in range(args.runs):
            b.append(time_initialize(bare, env, root))
            s.append(time_initialize(stead, env, root))
    mb, ms = statistics.median(b), statistics.median(s)
    print(f"runs: {args.runs} each, alternating")
    print(f"bare pygls initialize  median {mb * 1000:7.1f} ms  (min {min(b) * 1000:.1f})")
    print(f"stead initialize       median {ms * 1000:7.1f} ms  (min {min(s) * 1000:.1f})")
    print(f"difference (stead - bare) median {(ms - mb) * 1000:+.1f} ms  (target <= +100 ms)")


if __name__ == "__main__":
    main()
