"""Cross-file snippets turned into the repository context a FIM model reads (plain data).

The backend renders a `FimContext` in the model family's own repository format (Qwen's
`<|file_sep|>`, StarCoder2's `<file_sep>`, path header lines for the others); this module
only decides which text goes in: snippets grouped by file in the order they were ranked,
within the token budget, a long last one cut to its head rather than dropped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePosixPath

from server.backends.base import FimContext, FimFile
from server.completion.budget import Counter
from server.completion.types import Snippet

#: A snippet is cut down to fit (its head: the signature and first lines) when at least
#: this many tokens remain; below that it is left out.
MIN_PARTIAL_TOKENS = 24


def relative(path: str, root: str) -> str:
    """`path` relative to `root` with forward slashes (the path itself when outside)."""
    if root and path:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            rel = path
        if not rel.startswith(".."):
            return PurePosixPath(*rel.split(os.sep)).as_posix()
    return path.replace(os.sep, "/")


def _head(text: str, budget: int, count: Counter) -> str:
    """The longest run of whole leading lines within `budget` tokens."""
    out: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        n = count(line)
        if used + n > budget:
            break
        out.append(line)
        used += n
    return "".join(out)


def fit_snippets(snippets: Sequence[Snippet], budget: int, count: Counter) -> list[Snippet]:
    """Snippets in ranked order within `budget` tokens; one that does not fit is cut to
    its leading lines when enough budget remains, else skipped (smaller ones still fit)."""
    out: list[Snippet] = []
    used = 0
    for s in snippets:
        n = count(s.text)
        if used + n <= budget:
            out.append(s)
            used += n
            continue
        left = budget - used
        if left >= MIN_PARTIAL_TOKENS:
            head = _head(s.text, left, count)
            if head.strip():
                lines = head.count("\n") or 1
                out.append(Snippet(s.path, s.start_line, s.start_line + lines - 1, head,
                                   s.reason))
                used += count(head)
    return out


def fim_context(
    snippets: Sequence[Snippet],
    *,
    path: str,
    root: str,
    budget: int,
    count: Counter,
) -> FimContext | None:
    """The repository context for a completion in `path`, or None without snippets.

    Snippets of one file are merged into one file entry (in line order, a blank line
    between distant parts); files keep the order of their best snippet, which the context
    engine ranks definitions first, then recent edits, then similar code.
    """
    kept = fit_snippets(snippets, budget, count) if budget > 0 else []
    if not kept:
        return None
    by_file: dict[str, list[Snippet]] = {}
    for s in kept:
        by_file.setdefault(s.path, []).append(s)
    files: list[FimFile] = []
    for file_path, parts in by_file.items():
        parts.sort(key=lambda s: s.start_line)
        text = ""
        last_end = None
        for s in parts:
            chunk = s.text if s.text.endswith("\n") else s.text + "\n"
            if last_end is not None:
                if s.end_line <= last_end:
                    continue  # inside a part already there
                if s.start_line <= last_end:  # overlapping: only the new lines
                    chunk = "".join(chunk.splitlines(keepends=True)[last_end - s.start_line + 1 :])
                elif s.start_line > last_end + 1:
                    text += "\n"
            text += chunk
            last_end = s.end_line
        files.append(FimFile(relative(file_path, root), text))
    repo = os.path.basename(os.path.normpath(root)) if root else ""
    return FimContext(repo=repo, path=relative(path, root), files=tuple(files))
