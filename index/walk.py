"""Find the files of a workspace worth indexing, the way git would see them.

Ignore rules come from `.gitignore` files at every level, `.git/info/exclude`, `.steadignore`
files (same syntax) and the user's `index.exclude` patterns, all evaluated by `pathspec`'s
gitignore implementation, deeper files overriding shallower ones as git does.  Symlinked
directories are never followed (no loops) and symlinked files are kept only when they point
inside the root: nothing outside the workspace is ever read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from attrs import frozen

log = logging.getLogger(__name__)

#: Directories nobody wants indexed even without a .gitignore saying so.
ALWAYS_SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".tox", ".nox",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".idea", ".gradle", ".cache",
})
#: Extensions that are binary for sure: skipped without reading a byte.
BINARY_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".pdf", ".zip", ".gz", ".tgz",
    ".bz2", ".xz", ".7z", ".tar", ".jar", ".war", ".class", ".so", ".dylib", ".dll", ".exe",
    ".o", ".a", ".lib", ".pyc", ".pyo", ".whl", ".egg", ".bin", ".gguf", ".onnx", ".pt",
    ".safetensors", ".npy", ".npz", ".lance", ".sqlite", ".sqlite3", ".db", ".woff", ".woff2",
    ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".wav", ".ogg", ".mov", ".avi", ".psd", ".svgz",
    ".parquet", ".arrow", ".pkl", ".pickle", ".ipynb_checkpoints", ".lock", ".min.js",
})
IGNORE_FILES = (".gitignore", ".steadignore")


@frozen
class FileEntry:
    rel: str  # posix, relative to the root
    path: Path  # absolute
    size: int
    mtime_ns: int


def _spec(lines: Sequence[str]) -> object | None:
    from pathspec import GitIgnoreSpec

    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return GitIgnoreSpec.from_lines(lines) if lines else None


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return []


class Ignorer:
    """Answers "is this path ignored?" for paths relative to the root."""

    def __init__(self, root: Path, exclude: Sequence[str] = ()) -> None:
        self.root = root
        base: list[str] = list(exclude)
        base += _read_lines(root / ".git" / "info" / "exclude")
        #: (directory prefix relative to root, spec), shallowest first
        self.specs: dict[str, object] = {}
        s = _spec(base)
        if s is not None:
            self.specs["\0base"] = s

    def load_dir(self, rel_dir: str, names: set[str]) -> None:
        lines: list[str] = []
        for fname in IGNORE_FILES:
            if fname in names:
                lines += _read_lines(self.root / rel_dir / fname)
        s = _spec(lines)
        if s is not None:
            self.specs[rel_dir] = s

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict: bool | None = None
        for prefix, spec in self.specs.items():
            if prefix in ("\0base", ""):
                sub = rel
            elif rel.startswith(prefix + "/"):
                sub = rel[len(prefix) + 1:]
            else:
                continue
            result = spec.check_file(sub + "/" if is_dir else sub)  # type: ignore[attr-defined]
            if result.include is not None:
                verdict = bool(result.include)
        return bool(verdict)


def is_binary_name(name: str) -> bool:
    lower = name.lower()
    return any(lower.endswith(ext) for ext in BINARY_EXTENSIONS)


def walk(root: Path, exclude: Sequence[str] = (), max_bytes: int = 1_000_000) -> Iterator[
        FileEntry]:
    """Yield indexable files under `root` (sorted per directory, so runs are repeatable)."""
    root = Path(os.path.realpath(root))
    ign = Ignorer(root, exclude)
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = root / rel_dir if rel_dir else root
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            log.info("skipping unreadable directory %s: %s", abs_dir, exc)
            continue
        ign.load_dir(rel_dir, {e.name for e in entries})
        subdirs: list[str] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not (target + os.sep).startswith(str(root) + os.sep) or \
                            os.path.isdir(target):
                        continue  # outside the workspace, or a directory (loops)
                    is_dir = False
                else:
                    is_dir = entry.is_dir(follow_symlinks=False)
                if is_dir:
                    if entry.name in ALWAYS_SKIP_DIRS or ign.ignored(rel, True):
                        continue
                    subdirs.append(rel)
                    continue
                if not entry.is_file() or is_binary_name(entry.name):
                    continue
                if entry.name in IGNORE_FILES or ign.ignored(rel, False):
                    continue
                st = entry.stat()
                if st.st_size > max_bytes or st.st_size == 0:
                    continue
                yield FileEntry(rel, Path(entry.path), st.st_size, st.st_mtime_ns)
            except OSError as exc:  # vanished or unreadable meanwhile
                log.info("skipping %s: %s", rel, exc)
        stack.extend(reversed(subdirs))


def read_text(path: Path, max_bytes: int) -> tuple[str | None, str]:
    """The text of a file, or None with the reason it is not indexable.

    Binary (a NUL byte, or mostly undecodable) and minified files are refused; a few
    invalid UTF-8 bytes are replaced, not fatal.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    if len(data) > max_bytes:
        return None, "too large"
    if b"\0" in data[:8192]:
        return None, "binary"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        if text.count("\ufffd") > max(8, len(text) // 100):
            return None, "not UTF-8 text"
    if text.count("\n") < len(text) // 1000 and len(text) > 5000:
        return None, "minified (very long lines)"
    return text, ""
