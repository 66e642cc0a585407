"""Retrieval quality of the workspace index on pinned public repositories.

For each corpus the tree is copied to a temp dir with every doc comment removed (Python
docstrings, Go `//` doc comments, JSDoc blocks: replaced by blank lines, so line numbers stay),
then indexed by the real index (LanceDB on disk).  Three kinds of query:

- docstring: the first sentence of a definition's doc comment -> that definition;
- call site: a line calling a function defined exactly once, in another file -> the
  definition;
- question: hand-written natural-language questions (bench/retrieval_questions.json),
  written from reading each repository before any ranking change was measured.

A hit is right when it is in the answer's file and its line range holds the definition's
line.  Reported per kind and per repository: recall@1/5/10 and MRR@10 for the index's
`fts`, `vector` and `hybrid` modes and a BM25 baseline (the `bm25s` library over the same
chunks, identifiers split, English stop words, no stemmer), plus query latency.

Usage: python bench/retrieval.py [CORPUS_DIR ...] [--queries N] [--seed S] [--embedder E]
       python bench/retrieval.py --stdlib json,email,http   (tuning set: the stdlib)

The corpora are extracted trees pinned to the commits in CORPORA; nothing is downloaded.
Figures: bench/retrieval_results.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LANCEDB_LOG", "error")

#: corpus directory name -> (repository, commit) the figures were measured on
CORPORA = {
    "chi": ("go-chi/chi", "735ae2b87f8c733d616e809ae86e0985c1bc3350"),
    "ky": ("sindresorhus/ky", "3419113b48e034fdcf8fa6bd3be3da7b3d0d758f"),
    "commander.js": ("tj/commander.js", "ba6d13ddb4243e5913367734f8c159089ffe7834"),
    "click": ("pallets/click", "2c8cd3ac958a7eb316d67f2d316c27086c4c0369"),
}
DEFAULT_CORPORA = [f"/root/corpora/{n}" for n in CORPORA]
QUESTIONS = Path(__file__).with_name("retrieval_questions.json")
K = 10
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "dist", "build"}


@dataclass(frozen=True)
class Query:
    kind: str  # "docstring" | "call site" | "question"
    text: str
    path: str  # workspace-relative posix path of the answer
    line: int  # a line inside the answer (its definition line), 1-based
    name: str
    repo: str


# -- doc comments and definitions, per language ---------------------------------------------
LANG_OF = {".py": "python", ".go": "go", ".js": "javascript", ".mjs": "javascript",
           ".cjs": "javascript", ".ts": "typescript", ".mts": "typescript", ".tsx": "tsx"}
DEF_TYPES = {
    "python": {"function_definition", "class_definition"},
    "go": {"function_declaration", "method_declaration", "type_spec"},
    "javascript": {"function_declaration", "generator_function_declaration",
                   "class_declaration", "method_definition", "variable_declarator"},
}
DEF_TYPES["typescript"] = DEF_TYPES["javascript"] | {
    "interface_declaration", "type_alias_declaration", "abstract_class_declaration",
    "function_signature"}
DEF_TYPES["tsx"] = DEF_TYPES["typescript"]
CALL_TYPES = {"call", "call_expression"}
_FUNC_VALUES = {"arrow_function", "function_expression", "function", "class"}


def _text(src: bytes, node: Any) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _def_name(src: bytes, node: Any) -> str:
    if node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        if value is None or value.type not in _FUNC_VALUES:
            return ""
    name = node.child_by_field_name("name")
    return _text(src, name) if name is not None else ""


def _anchor(node: Any) -> Any:
    """The statement a doc comment sits above (through export / const / type wrappers)."""
    cur = node
    while cur.parent is not None and cur.parent.type in (
            "lexical_declaration", "variable_declaration", "export_statement",
            "type_declaration", "decorated_definition", "ambient_declaration"):
        cur = cur.parent
    return cur


def _doc_comments(node: Any) -> list[Any]:
    """Comment nodes directly above a definition (contiguous, nothing in between)."""
    out: list[Any] = []
    cur = _anchor(node)
    prev = cur.prev_sibling
    row = cur.start_point[0]
    while prev is not None and prev.type == "comment" and prev.end_point[0] == row - 1:
        out.append(prev)
        row = prev.start_point[0]
        prev = prev.prev_sibling
    return out[::-1]


def _clean_comment(raw: str) -> str:
    lines = []
    for ln in raw.splitlines():
        ln = ln.strip()
        ln = re.sub(r"^(/\*\*?|\*/|\*|//+)", "", ln).strip()
        ln = re.sub(r"\*/$", "", ln).strip()
        if ln.startswith("@"):
            break
        lines.append(ln)
    return "\n".join(lines).strip()


def first_sentence(doc: str) -> str:
    para = doc.strip().split("\n\n")[0]
    text = " ".join(para.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return (m.group(1) if m else text)[:300]


def blank_python_docstrings(src: str) -> tuple[str, list[tuple[str, int, str]]]:
    """Docstrings replaced by `pass` + blank lines; (name, def line, first sentence) each."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    found: list[tuple[str, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef):
            continue
        body = node.body
        if not body or not isinstance(body[0], ast.Expr):
            continue
        value = body[0].value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            continue
        if not isinstance(node, ast.Module):
            found.append((node.name, node.lineno, first_sentence(value.value)))
        start, end = body[0].lineno, body[0].end_lineno or body[0].lineno
        indent = re.match(r"\s*", lines[start - 1]).group()  # type: ignore[union-attr]
        lines[start - 1] = f"{indent}pass\n"
        for i in range(start, end):
            lines[i] = "\n"
    return "".join(lines), found


def blank_comment_docs(src: str, language: str) -> tuple[str, list[tuple[str, int, str]]]:
    """Doc comments above definitions replaced by blank lines; (name, line, sentence)."""
    from index.chunking import _parser
    from server.context.graph import walk_nodes

    data = src.encode("utf-8")
    tree = _parser(language).parse(data)
    lines = src.splitlines(keepends=True)
    found: list[tuple[str, int, str]] = []
    blank: set[int] = set()
    for node in walk_nodes(tree.root_node):
        if node.type not in DEF_TYPES[language]:
            continue
        name = _def_name(data, node)
        comments = _doc_comments(node)
        if not name or not comments:
            continue
        doc = _clean_comment("\n".join(_text(data, c) for c in comments))
        if doc:
            found.append((name, node.start_point[0] + 1, first_sentence(doc)))
        for c in comments:
            blank.update(range(c.start_point[0], c.end_point[0] + 1))
    for i in blank:
        if i < len(lines):
            lines[i] = "\n"
    return "".join(lines), found


def definitions_and_calls(src: str, language: str
                          ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(name, line) of every definition and of every call's callee name."""
    from index.chunking import _parser
    from server.context.graph import walk_nodes

    data = src.encode("utf-8")
    tree = _parser(language).parse(data)
    defs: list[tuple[str, int]] = []
    calls: list[tuple[str, int]] = []
    for node in walk_nodes(tree.root_node):
        if node.type in DEF_TYPES[language]:
            name = _def_name(data, node)
            if name:
                defs.append((name, node.start_point[0] + 1))
        elif node.type in CALL_TYPES:
            fn = node.child_by_field_name("function")
            if fn is None:
                continue
            if fn.type in ("attribute", "member_expression", "selector_expression"):
                fn = (fn.child_by_field_name("attribute") or fn.child_by_field_name("property")
                      or fn.child_by_field_name("field"))
            if fn is not None and fn.type in ("identifier", "property_identifier",
                                              "field_identifier"):
                calls.append((_text(data, fn), node.start_point[0] + 1))
    return defs, calls


# -- corpora -----------------------------------------------------------------------------
def _is_test(rel: str) -> bool:
    from index.roles import classify

    return classify(rel) in ("test", "docs", "generated")


def build_corpus(src_root: Path, dest: Path, repo: str, files: Sequence[Path] | None = None
                 ) -> tuple[list[Query], list[Query], dict[str, str]]:
    """Copy a tree (doc comments blanked) to dest: docstring queries, call-site queries,
    and the indexed texts."""
    texts: dict[str, str] = {}
    doc_queries: list[Query] = []
    defs: dict[str, list[tuple[str, int]]] = {}
    calls: list[tuple[str, str, int]] = []
    paths = files if files is not None else sorted(
        p for p in src_root.rglob("*") if p.is_file()
        and not SKIP_DIRS & set(p.relative_to(src_root).parts))
    for path in paths:
        rel = path.relative_to(src_root).as_posix()
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        language = LANG_OF.get(path.suffix)
        if language is None:
            shutil.copyfile(path, out)
            continue
        try:
            src = path.read_text(encoding="utf-8")
            if language == "python":
                blanked, found = blank_python_docstrings(src)
            else:
                blanked, found = blank_comment_docs(src, language)
            file_defs, file_calls = definitions_and_calls(blanked, language)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            shutil.copyfile(path, out)
            continue
        out.write_text(blanked, encoding="utf-8")
        texts[rel] = blanked
        for name, line in file_defs:
            defs.setdefault(name, []).append((rel, line))
        calls += [(rel, name, line) for name, line in file_calls]
        if _is_test(rel):
            continue
        for name, line, sentence in found:
            if len(sentence.split()) >= 4 and not name.startswith("__"):
                doc_queries.append(Query("docstring", sentence, rel, line, name, repo))
    unique = {n: v[0] for n, v in defs.items()
              if len(v) == 1 and not n.startswith("_") and len(n) > 3 and not _is_test(v[0][0])}
    call_queries: list[Query] = []
    seen: set[str] = set()
    for rel, name, line in calls:
        target = unique.get(name)
        if target is None or target[0] == rel or name in seen:
            continue
        text = texts[rel].splitlines()[line - 1].strip()
        if len(text) < 12:
            continue
        seen.add(name)
        call_queries.append(Query("call site", text, target[0], target[1], name, repo))
    return doc_queries, call_queries, texts


def question_queries(repo: str, texts: dict[str, str]) -> list[Query]:
    """The hand-written questions for a corpus, answers located by (path, definition)."""
    if not QUESTIONS.is_file():
        return []
    spec = json.loads(QUESTIONS.read_text()).get(repo, [])
    out = []
    for q in spec:
        src = texts.get(q["path"])
        if src is None:
            print(f"  question answer missing: {q['path']}", file=sys.stderr)
            continue
        pat = re.compile(q["find"])
        line = next((i + 1 for i, ln in enumerate(src.splitlines()) if pat.search(ln)), None)
        if line is None:
            print(f"  question answer not found: {q['path']} /{q['find']}/", file=sys.stderr)
            continue
        out.append(Query("question", q["q"], q["path"], line, q["find"], repo))
    return out


def stdlib_files(packages: Sequence[str]) -> tuple[Path, list[Path]]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = [p for pkg in packages for p in sorted((lib / pkg).rglob("*.py"))
             if "/test" not in p.as_posix() and "__pycache__" not in p.as_posix()]
    return lib, files


# -- metrics -----------------------------------------------------------------------------
Hits = list[tuple[str, int, int]]


def rank_of(hits: Hits, q: Query) -> int | None:
    for i, (path, start, end) in enumerate(hits[:K]):
        if path == q.path and start <= q.line <= end:
            return i + 1
    return None


def metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "R@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "R@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "R@10": sum(1 for r in ranks if r is not None and r <= 10) / n,
        "MRR": sum(1.0 / r for r in ranks if r is not None) / n,
    }


# -- searchers ---------------------------------------------------------------------------
Searcher = Callable[[str], Hits]


def bm25_searcher(chunks: Sequence[Any]) -> Searcher:
    import bm25s

    from index.chunking import identifier_terms

    corpus = [f"{c.path} {c.text} {identifier_terms(c.text)}" for c in chunks]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False),
                    show_progress=False)

    def search(q: str) -> Hits:
        tokens = bm25s.tokenize([f"{q} {identifier_terms(q)}"], stopwords="en",
                                show_progress=False)
        if not tokens.vocab:
            return []
        docs, _ = retriever.retrieve(tokens, k=min(K, len(corpus)), show_progress=False)
        return [(chunks[i].path, chunks[i].start_line, chunks[i].end_line) for i in docs[0]]

    return search


def index_searcher(index: Any, mode: str, roles: dict[str, float] | None = None) -> Searcher:
    from index.fusion import is_code_like

    def search(q: str) -> Hits:
        weights = roles if roles and not is_code_like(q) else None
        return [(h.path, h.start_line, h.end_line)
                for h in index.search(q, K, mode=mode.split("+")[0], roles=weights)]

    return search


def open_index(root: Path, data_dir: Path, embedder: str) -> Any:
    """The real workspace index for `root`, full text and vectors complete."""
    from index.api import open_index as open_workspace_index
    from server.settings import IndexSettings

    index = open_workspace_index(root, data_dir, IndexSettings(embedder=embedder))
    stats = index.refresh()
    print(f"  index: {stats.chunks_written} chunks, {stats.chunks_embedded} embedded "
          f"({embedder}) in {stats.seconds:.1f} s")
    return index


def _row(label: str, m: dict[str, float], n: int, extra: str = "") -> str:
    return (f"| {label} | {n} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | "
            f"{m['MRR']:.3f} |{extra}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="*", help="corpus directories (default: the pinned four)")
    ap.add_argument("--stdlib", default="", help="comma-separated stdlib packages instead")
    ap.add_argument("--queries", type=int, default=150, help="queries per kind and corpus")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--embedder", default="default")
    ap.add_argument("--modes", default="bm25,fts,vector,hybrid",
                    help="bm25, fts, vector, hybrid, and hybrid+roles (hybrid with --roles "
                         "weights applied to sentence queries)")
    ap.add_argument("--roles", default="test=0.5,docs=0.5,generated=0.5,config=0.5",
                    help="role weights for the hybrid+roles mode")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="stead-retrieval-"))
    data_dir = tmp / "data"
    models = Path(os.path.expanduser("~/.local/share/stead/models"))
    if models.is_dir():  # reuse prepared models instead of preparing them again
        data_dir.mkdir(parents=True)
        (data_dir / "models").symlink_to(models)
    modes = args.modes.split(",")
    ranks: dict[tuple[str, str, str], list[int | None]] = {}  # (repo, kind, mode)
    times: dict[str, list[float]] = {m: [] for m in modes}
    try:
        if args.stdlib:
            lib, files = stdlib_files(args.stdlib.split(","))
            jobs = [(lib, "stdlib", files)]
        else:
            jobs = [(Path(c), Path(c).name, None) for c in (args.corpora or DEFAULT_CORPORA)]
        for src_root, repo, files in jobs:
            pin = CORPORA.get(repo)
            print(f"{repo}: {src_root}" + (f" (expects {pin[0]} @ {pin[1]})" if pin else ""))
            ws = tmp / "ws" / repo
            doc_q, call_q, texts = build_corpus(src_root, ws, repo, files)
            rng = random.Random(args.seed)
            sets = {
                "docstring": rng.sample(doc_q, min(args.queries, len(doc_q))),
                "call site": rng.sample(call_q, min(args.queries, len(call_q))),
                "question": question_queries(repo, texts),
            }
            print(f"  {len(texts)} source files; queries: " + ", ".join(
                f"{len(v)} {k}" for k, v in sets.items()))
            searchers: dict[str, Searcher] = {}
            index = None
            if any(m != "bm25" for m in modes):
                index = open_index(ws, data_dir, args.embedder)
            for mode in modes:
                if mode == "bm25":
                    from index.chunking import chunk_text

                    chunks = [c for p in sorted(ws.rglob("*")) if p.is_file()
                              for c in _chunks(chunk_text, p, ws)]
                    searchers[mode] = bm25_searcher(chunks)
                else:
                    roles = {r: float(w) for r, w in
                             (x.split("=") for x in args.roles.split(","))}
                    searchers[mode] = index_searcher(index, mode,
                                                     roles if mode.endswith("+roles") else None)
            for kind, queries in sets.items():
                for mode, search in searchers.items():
                    got = ranks.setdefault((repo, kind, mode), [])
                    for q in queries:
                        t0 = time.perf_counter()
                        hits = search(q.text)
                        times[mode].append((time.perf_counter() - t0) * 1000)
                        got.append(rank_of(hits, q))
            if index is not None:
                index.close()
        report(ranks, times, modes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _chunks(chunk_text: Any, p: Path, ws: Path) -> list[Any]:
    try:
        return chunk_text(p.relative_to(ws).as_posix(), p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, OSError):
        return []


def report(ranks: dict[tuple[str, str, str], list[int | None]],
           times: dict[str, list[float]], modes: Sequence[str]) -> None:
    repos = list(dict.fromkeys(r for r, _, _ in ranks))
    kinds = list(dict.fromkeys(k for _, k, _ in ranks))
    print("\n### By kind (all repositories)\n")
    print("| kind / mode | n | R@1 | R@5 | R@10 | MRR@10 |\n|---|---|---|---|---|---|")
    for kind in [*kinds, "all"]:
        for mode in modes:
            rs = [r for (_, k, m), v in ranks.items() if m == mode and kind in (k, "all")
                  for r in v]
            print(_row(f"{kind} / {mode}", metrics(rs), len(rs)))
    print("\n### By repository and kind (R@5; MRR@10 in brackets)\n")
    print("| repository | kind | n | " + " | ".join(modes) + " |")
    print("|---|---|---|" + "---|" * len(modes))
    for repo in repos:
        for kind in kinds:
            n = len(ranks.get((repo, kind, modes[0]), []))
            if not n:
                continue
            cells = []
            for mode in modes:
                m = metrics(ranks[(repo, kind, mode)])
                cells.append(f"{m['R@5']:.3f} ({m['MRR']:.3f})")
            print(f"| {repo} | {kind} | {n} | " + " | ".join(cells) + " |")
    print("\n### Query latency (ms, this corpus size)\n")
    for mode in modes:
        ts = sorted(times[mode])
        if ts:
            print(f"- {mode}: p50 {statistics.median(ts):.1f}, "
                  f"p99 {ts[min(len(ts) - 1, int(len(ts) * 0.99))]:.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
