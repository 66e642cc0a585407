"""Completion quality on cross-file holes cut from real code: does the context hold the
definition, and does the model then complete the call?

Holes: in every source file of the given corpora (Python, Go, TypeScript, JavaScript), a
line that calls a function or method defined exactly once in the corpus, in another file,
is cut just before the callee's name (`x = ` | `to_meters(v, unit)`); the receiver stays in
the prefix.  The rest of the line is the answer; the text after the line is the suffix.
Holes are sampled with a fixed seed, at most a few per file, spread over the corpora.

For each hole, three contexts:
- none: prefix and suffix only;
- stead: what stead's completion context gathers (definitions resolved from the names and
  imports around the cursor, then similar code from the real index on disk, built for the
  corpus first), within the budget the engine gives the model;
- oracle: the callee's definition (its chunk of the defining file).

Printed: the "definition in context" rate (the callee's definition line is inside a snippet
from its file; no model needed), then per model and context exact match (the first line of
the suggestion equals the answer, whitespace-trimmed) and edit similarity (difflib ratio,
0-100), model time p50/p95 cold (a new hole) and warm (the same hole with one more
character typed: the evaluated prompt is reused), prompt tokens evaluated warm, and the
process RSS with the model loaded.

Usage:
  python bench/completion_quality.py /root/corpora/chi /root/corpora/ky /root/corpora/click \\
      [--holes 240] [--models none] [--contexts none,stead,oracle] [--subset N]
  --models takes comma-separated GGUF paths (or "none": the context rate only);
  --subset N evaluates models on the first N holes only (all holes get the context rate).
One run on a shared 2-core machine; figures are from that run.

Measured (2 cores shared with other work; 222 holes: chi 60 Go, click 60 Python,
commander.js 54 JavaScript, ky 48 TypeScript; seed 13; context budget 1024 tokens):

    definition in stead's context   chi 78.3%  click 43.3%  commander.js 98.1%  ky 93.8%
                                    all 77.0%; 16.7 snippets (most of them signatures),
                                    910 tokens per hole; gather p50 25 ms, p95 56 ms

The same run at load average ~15 (other work on the 2 cores) missed the 100 ms deadline at
221 of 222 holes (0%): the context deadline is wall-clock.  click is lowest: its calls go
through methods of objects (`ctx.invoke`, `self.parse_args`) whose class stead does not
infer yet.  Model figures: see the report that accompanies a run (`--models`); on this
loaded machine a 1k-token cold prompt took minutes, not seconds.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

#: The pinned corpora this benchmark reports on (extracted trees, no .git).
PINNED = {
    "chi": "go-chi/chi @ 735ae2b87f8c733d616e809ae86e0985c1bc3350",
    "ky": "sindresorhus/ky @ 3419113b48e034fdcf8fa6bd3be3da7b3d0d758f",
    "click": "pallets/click @ 2c8cd3ac958a7eb316d67f2d316c27086c4c0369",
    "commander.js": "tj/commander.js @ ba6d13ddb4243e5913367734f8c159089ffe7834",
}
EXTS = {".py": "python", ".go": "go", ".ts": "typescript", ".js": "javascript"}
SKIP_DIRS = {"node_modules", "dist", "build", ".git", "vendor", "__pycache__", ".venv",
             "docs", "typings"}
#: Call expressions and the field naming the callee, per tree-sitter grammar.
CALLS = {"call": "function", "call_expression": "function"}
MEMBER = {"attribute": "attribute", "member_expression": "property",
          "selector_expression": "field"}


#: Python builtins are not cross-file callees even where some file defines the name.
BUILTINS = frozenset(dir(__import__("builtins")))


@dataclass(frozen=True)
class Hole:
    corpus: str
    root: Path
    path: Path
    prefix: str
    suffix: str
    answer: str
    callee: str
    def_path: Path
    def_start: int
    def_end: int

    @property
    def line(self) -> int:
        return self.prefix.count("\n") + 1


def source_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.suffix in EXTS and not name.endswith((".d.ts", ".min.js")):
                yield p


_JS_IMPORT = re.compile(r"^\s*import\b[^;]*?from\s*['\"]|^\s*(?:const|let|var)\b[^;=]*=\s*require\(",
                        re.M | re.S)
_GO_IMPORT = re.compile(r'"([^"\s]+)"')


def imported_names(path: Path, text: str, root: Path) -> set[str]:
    """Names a file imports from its own repository (functions, classes, module aliases),
    read with the language's own rules (Python's ast, relative import/require specifiers,
    Go import paths under the module path): a hole is a call to one of these, or (Go) to
    its own package, so it truly crosses files.  Kept apart from stead's resolver, which
    the benchmark measures."""
    names: set[str] = set()
    if path.suffix == ".py":
        tops = {p.stem for base in (root, root / "src") if base.is_dir()
                for p in base.iterdir() if p.is_dir() or p.suffix == ".py"}
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level or (node.module or "").split(".")[0] in tops:
                    names.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] in tops:
                        names.add(a.asname or a.name.split(".")[0])
    elif path.suffix in (".ts", ".js"):
        for m in _JS_IMPORT.finditer(text):
            rest = text[m.end() - 1 : m.end() + 3]
            if "./" in rest or "'." in rest or '".' in rest:
                names.update(re.findall(r"[A-Za-z_$][\w$]*", m.group(0)))
        names -= {"import", "from", "type", "as", "const", "let", "var", "require"}
    elif path.suffix == ".go":
        mod = (root / "go.mod").read_text() if (root / "go.mod").is_file() else ""
        module = re.search(r"^module\s+(\S+)", mod, re.M)
        block = re.search(r"^import\s*\((.*?)^\)|^import\s+(\"[^\"]+\")", text, re.M | re.S)
        if block and module:
            for spec in _GO_IMPORT.findall(block.group(0)):
                if not spec.startswith(module.group(1)):
                    continue
                parts = spec.split("/")
                last = parts[-1]
                names.add(parts[-2] if re.fullmatch(r"v\d+", last) and len(parts) > 1 else last)
    return names


def cut_holes(root: Path, per_file: int, rng: random.Random) -> list[Hole]:
    from server.context.symbols import _parse, _walk, definition_spans, grammar_for

    texts = {}
    for p in source_files(root):
        try:
            if p.stat().st_size < 400_000:
                texts[p] = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    defs: dict[str, list[tuple[Path, int, int]]] = {}
    for p, text in texts.items():
        for name, (start, end) in definition_spans(str(p), text).items():
            defs.setdefault(name, []).append((p, start, end))
    holes: list[Hole] = []
    for p, text in texts.items():
        language = grammar_for(str(p))
        if language is None:
            continue
        lines = text.splitlines(keepends=True)
        starts = [0]
        for ln in lines:
            starts.append(starts[-1] + len(ln))
        found: dict[int, Hole] = {}
        imported = imported_names(p, text, root)
        for node in _walk(_parse(language, text).root_node):
            field = CALLS.get(node.type)
            if field is None:
                continue
            fn = node.child_by_field_name(field)
            if fn is None:
                continue
            name_node, receiver = fn, None
            if fn.type in MEMBER:
                name_node = fn.child_by_field_name(MEMBER[fn.type])
                obj = fn.child_by_field_name("object") or fn.child_by_field_name("operand")
                receiver = obj.text.decode() if obj is not None and obj.text else ""
            if name_node is None or name_node.type not in (
                "identifier", "property_identifier", "field_identifier"
            ):
                continue
            name = name_node.text.decode()
            lang = EXTS[p.suffix] in ("typescript", "javascript")
            where = [d for d in defs.get(name, []) if d[0].suffix == p.suffix or (
                lang and EXTS[d[0].suffix] in ("typescript", "javascript"))]
            if name in BUILTINS:
                continue
            if len(name) < 3 or len(where) != 1 or where[0][0] == p or len(defs[name]) != 1:
                continue
            same_package = p.suffix == ".go" and where[0][0].parent == p.parent
            if receiver is None:
                crosses = name in imported or same_package
            else:  # a module's member (`utils.f`), or a Go method of the same package
                crosses = receiver in imported or same_package
            if not crosses:
                continue
            row, col_b = name_node.start_point
            if row in found:
                continue
            line = lines[row]
            col = len(line.encode()[:col_b].decode("utf-8", "ignore"))
            answer = line[col:].rstrip("\r\n")
            if not (4 <= len(answer.strip()) <= 100) or not line[:col].strip():
                continue  # a call alone on its line: the model has no hint to call at all
            offset = starts[row] + col
            found[row] = Hole(root.name, root, p, text[:offset], text[starts[row] + len(
                line.rstrip("\r\n")):], answer.strip(), name, where[0][0], where[0][1],
                where[0][2])
        chosen = list(found.values())
        rng.shuffle(chosen)
        holes.extend(chosen[:per_file])
    return holes


def sample(holes_by_corpus: dict[str, list[Hole]], n: int, rng: random.Random) -> list[Hole]:
    """About n holes, an equal share from each corpus, interleaved so any prefix of the list
    is still spread over the corpora (used by --subset)."""
    share = max(1, n // max(1, len(holes_by_corpus)))
    pools = []
    for name in sorted(holes_by_corpus):
        pool = list(holes_by_corpus[name])
        rng.shuffle(pool)
        pools.append(pool[:share])
    out = []
    for i in range(max((len(p) for p in pools), default=0)):
        out.extend(p[i] for p in pools if i < len(p))
    return out


# -- contexts ----------------------------------------------------------------------------
def stead_context(hole: Hole, index: Any, settings: Any, budget: int, count: Any,
                  deadline_s: float) -> tuple[list[Any], list[str]]:
    from server.completion.types import Snippet
    from server.context.completion import CompletionInput, gather, prompt_window

    text = hole.prefix + hole.suffix
    lines = text.splitlines(keepends=True)
    path = str(hole.path)
    window = prompt_window(path, lines, hole.line, settings.completion.prefix_tokens,
                           settings.completion.suffix_tokens, count)
    req = CompletionInput(path, lines, hole.line, window, (hole.root,))
    sel = gather(req, index=index, ring=[], open_docs={path: text}, budget=budget,
                 deadline_s=deadline_s, count=count)
    return ([Snippet(i.path, i.start_line, i.end_line, i.text, i.reason) for i in sel.items],
            list(sel.notes))


def oracle_context(hole: Hole) -> list[Any]:
    from server.completion.types import Snippet

    lines = hole.def_path.read_text("utf-8").splitlines(keepends=True)
    end = min(hole.def_end, hole.def_start + 59)
    return [Snippet(str(hole.def_path), hole.def_start, end,
                    "".join(lines[hole.def_start - 1 : end]), "oracle")]


def holds_definition(snippets: Sequence[Any], hole: Hole) -> bool:
    return any(
        os.path.samefile(s.path, hole.def_path) and s.start_line <= hole.def_start <= s.end_line
        for s in snippets if os.path.exists(s.path)
    )


# -- figures -----------------------------------------------------------------------------
def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def similarity(a: str, b: str) -> float:
    return 100 * difflib.SequenceMatcher(None, a.strip(), b.strip()).ratio()


def build_index(root: Path, data: Path, embedder: str) -> Any:
    from index.api import open_index
    from server.settings import IndexSettings

    t0 = time.perf_counter()
    index = open_index(root, data / root.name, IndexSettings(embedder=embedder))
    stats = index.refresh()
    print(f"  index {root.name}: {stats.chunks_written} chunks, "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return index


def run_model(model: Path, holes: Sequence[Hole], contexts: dict[str, list[list[Any]]],
              settings: Any, n_threads: int) -> None:
    from server.backends.gpt4all_backend import Gpt4AllBackend
    from server.completion.engine import Engine
    from server.completion.types import CompletionRequest

    before = rss_mb()
    backend = Gpt4AllBackend(model, n_threads=n_threads, n_ctx=settings.model.n_ctx,
                             timeout_s=600)
    t0 = time.perf_counter()
    backend.load()
    load_s = time.perf_counter() - t0
    engine = Engine(lambda: backend, cache_size=0)
    print(f"\n{model.name}: fim={backend.info.fim}, loaded in {load_s:.1f} s, "
          f"RSS {rss_mb():.0f} MB (+{rss_mb() - before:.0f} MB for the model)", flush=True)
    print(f"  {'context':8} {'EM':>6} {'edit sim':>8} {'cold p50':>9} {'cold p95':>9} "
          f"{'warm p50':>9} {'warm p95':>9} {'prompt tok':>10} {'warm eval':>9}")
    for name, per_hole in contexts.items():
        em, sims, cold, warm, ptoks, warm_eval = [], [], [], [], [], []
        for hole, snippets in zip(holes, per_hole, strict=True):
            req = CompletionRequest(hole.prefix, hole.suffix, str(hole.path),
                                    snippets=tuple(snippets), root=str(hole.root))
            res = engine.complete(req, settings, threading.Event())
            got = res.text.split("\n", 1)[0]
            em.append(got.strip() == hole.answer)
            sims.append(similarity(got, hole.answer))
            cold.append(res.model_ms)
            ptoks.append(res.prompt_tokens + res.reused_tokens)
            # the user types the answer's first character: the prompt read before is reused
            typed = CompletionRequest(hole.prefix + hole.answer[0], hole.suffix,
                                      str(hole.path), snippets=tuple(snippets),
                                      root=str(hole.root))
            again = engine.complete(typed, settings, threading.Event())
            if again.source == "model":
                warm.append(again.model_ms)
                warm_eval.append(again.prompt_tokens)
        n = len(em) or 1
        print(f"  {name:8} {sum(em) / n:6.3f} {statistics.mean(sims or [0]):8.1f} "
              f"{pct(cold, 50):8.0f}ms {pct(cold, 95):8.0f}ms {pct(warm, 50):8.0f}ms "
              f"{pct(warm, 95):8.0f}ms {statistics.mean(ptoks or [0]):10.0f} "
              f"{statistics.median(warm_eval or [0]):9.0f}", flush=True)
    print(f"  peak RSS {rss_peak_mb():.0f} MB")
    backend.close()


def rss_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--holes", type=int, default=240, help="holes in all (spread evenly)")
    ap.add_argument("--per-file", type=int, default=3)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--models", default="none", help="comma-separated GGUF paths, or none")
    ap.add_argument("--contexts", default="none,stead,oracle")
    ap.add_argument("--subset", type=int, default=0, help="models see the first N holes only")
    ap.add_argument("--embedder", default="default")
    ap.add_argument("--deadline-ms", type=int, default=0,
                    help="context deadline (default: the setting)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--show", type=int, default=0, help="print this many holes' contexts")
    ap.add_argument("--data", type=Path, help="keep the indexes here (default: a temp dir)")
    args = ap.parse_args()

    import attrs

    from server.backends.counting import count_tokens
    from server.completion.engine import context_budget
    from server.settings import Settings

    os.environ.setdefault("LANCEDB_LOG", "error")
    rng = random.Random(args.seed)
    s = Settings()
    s = attrs.evolve(
        s, model=attrs.evolve(s.model, n_ctx=args.n_ctx),
        completion=attrs.evolve(s.completion, multiline="never", max_tokens=48),
    )
    budget = context_budget(s, args.n_ctx)
    deadline_s = (args.deadline_ms or s.context.deadline_ms) / 1000
    print("corpora (pinned; extracted trees):")
    for c in args.corpora:
        print(f"  {c}: expected {PINNED.get(c.name, 'unpinned (not a report corpus)')}")
    by_corpus = {c.name: cut_holes(c.resolve(), args.per_file, rng) for c in args.corpora}
    holes = sample(by_corpus, args.holes, rng)
    langs = Tally(EXTS[h.path.suffix] for h in holes)
    print(f"{len(holes)} holes (" + ", ".join(f"{k} {v}" for k, v in sorted(langs.items()))
          + f"); context budget {budget} tokens (n_ctx {args.n_ctx}), deadline "
          f"{deadline_s * 1000:.0f} ms")

    with tempfile.TemporaryDirectory(prefix="stead-cq-") as tmp:
        data = args.data or Path(tmp)
        indexes = {c.name: build_index(c.resolve(), data, args.embedder)
                   for c in args.corpora}
        stead: list[list[Any]] = []
        notes: Tally[str] = Tally()
        gather_ms: list[float] = []
        for h in holes:  # warm the grammars and the index caches once, outside the timing
            stead_context(h, indexes[h.corpus], s, budget, count_tokens, 5.0)
            break
        for h in holes:
            t0 = time.perf_counter()
            snippets, why = stead_context(h, indexes[h.corpus], s, budget, count_tokens,
                                          deadline_s)
            gather_ms.append((time.perf_counter() - t0) * 1000)
            stead.append(snippets)
            notes.update(n.split(":", 1)[0] for n in why)
        hits = [holds_definition(sn, h) for sn, h in zip(stead, holes, strict=True)]
        print("\ndefinition in stead's context (no model needed):")
        for name in sorted(by_corpus):
            mine = [x for x, h in zip(hits, holes, strict=True) if h.corpus == name]
            if mine:
                print(f"  {name:14} {sum(mine) / len(mine):6.1%}  of {len(mine)} holes")
        print(f"  {'all':14} {sum(hits) / len(hits):6.1%}  of {len(hits)} holes; "
              f"{statistics.mean(count_tokens(x.text) for sn in stead for x in sn) if stead else 0:.0f}"
              f" tokens per snippet, {statistics.mean(len(sn) for sn in stead):.1f} snippets, "
              f"{statistics.mean(sum(count_tokens(x.text) for x in sn) for sn in stead):.0f} "
              f"tokens per hole; gather p50 {pct(gather_ms, 50):.0f} ms, "
              f"p95 {pct(gather_ms, 95):.0f} ms; sources skipped at the deadline: "
              + (", ".join(f"{k} {v}x" for k, v in notes.items()) or "none"))
        for h, sn, hit in list(zip(holes, stead, hits, strict=True))[: args.show]:
            print(f"\n--- {h.path.relative_to(h.root)}:{h.line} {h.answer!r} -> "
                  f"{h.def_path.relative_to(h.root)}:{h.def_start} hit={hit}")
            for x in sn:
                print(f"    {x.path}:{x.start_line}-{x.end_line} {x.reason}")

        models = [Path(m) for m in args.models.split(",") if m and m != "none"]
        if not models:
            return 0
        picked = holes[: args.subset] if args.subset else holes
        wanted = [c for c in args.contexts.split(",") if c]
        ctx: dict[str, list[list[Any]]] = {}
        for c in wanted:
            if c == "none":
                ctx[c] = [[] for _ in picked]
            elif c == "stead":
                ctx[c] = stead[: len(picked)]
            elif c == "oracle":
                ctx[c] = [oracle_context(h) for h in picked]
        print(f"\nmodels on {len(picked)} holes (" + ", ".join(
            f"{k} {v}" for k, v in sorted(Tally(h.corpus for h in picked).items())) + ")")
        for m in models:
            run_model(m, picked, ctx, s, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
