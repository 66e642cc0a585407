"""Where stead keeps its files.

Everything lives in the platform's user directories, never in the workspace, so a
checkout stays clean and several editor windows share one store.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from platformdirs import PlatformDirs


def uri_path(uri: str) -> str:
    """The local path a file: URI names, percent-decoded (other schemes are kept as they
    are): every place that turns an editor's URI into a path goes through here."""
    if uri.startswith("file:"):
        return unquote(urlsplit(uri).path)
    return uri


@dataclass(frozen=True)
class Dirs:
    config: Path
    data: Path
    cache: Path
    state: Path

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def indexes(self) -> Path:
        return self.data / "index"

    @property
    def history_db(self) -> Path:
        return self.data / "history.sqlite3"

    @property
    def audit_log(self) -> Path:
        return self.data / "audit.jsonl"

    @property
    def config_file(self) -> Path:
        return self.config / "config.toml"

    def index_dir(self, workspace_root: Path) -> Path:
        return self.indexes / workspace_key(workspace_root)


def dirs() -> Dirs:
    """Resolve the directories now (not at import) so tests can set XDG_* per process."""
    pd = PlatformDirs("stead", appauthor=False)
    return Dirs(
        config=Path(pd.user_config_dir),
        data=Path(pd.user_data_dir),
        cache=Path(pd.user_cache_dir),
        state=Path(pd.user_state_dir),
    )


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def workspace_key(root: Path) -> str:
    """A stable, filesystem-safe key for a workspace root (its resolved path)."""
    import hashlib  # loads OpenSSL: keep it off the start-up path

    resolved = os.path.realpath(root)
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(resolved).name)[:40]
    return f"{name or 'root'}-{digest}"


def dir_size(path: Path) -> int:
    total = 0
    if not path.exists():
        return 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def workspace_root(start: Path | str | None = None) -> Path:
    """The enclosing git work tree of `start` (default: the current directory), else itself.

    The CLI's idea of "this workspace", so `stead index`, `search`, `ask` and `chat` agree.
    """
    here = Path(start).resolve() if start else Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here


@contextlib.contextmanager
def exclusive(lock_path: Path, mode: int = 0o600) -> Iterator[None]:
    """Hold an advisory lock shared by every stead process (editor servers and the CLI)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# -- the roots rule ----------------------------------------------------------------------
class OutsideRoots(ValueError):
    """A URI or path that resolves outside every workspace root (and that the client did
    not open itself): the one refusal every method gives."""

    def __init__(self, raw: str, why: str = "outside the workspace roots") -> None:
        super().__init__(f"{raw}: {why}; refused")
        self.raw = raw


@dataclass(frozen=True)
class InRoots:
    """Where an allowed URI or path leads."""

    #: The real file (symlinks resolved); for an opened document outside the roots, its path.
    real: Path
    #: The root it is in (None for a document the client opened outside every root).
    root: Path | None
    #: Relative to that root as given (before symlinks), and after resolving them.
    rel: str
    real_rel: str
    #: The client opened it itself: its buffer may be used though it is outside the roots.
    opened_by_client: bool = False


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")


def _under(path: Path, roots: list[Path]) -> tuple[Path, Path] | None:
    for root in roots:
        if path == root or path.is_relative_to(root):
            return root, path.relative_to(root)
    return None


def in_roots(raw: str, roots: Sequence[Path | str], opened: Collection[str] = ()) -> InRoots:
    """Resolve a file: URI, absolute path or root-relative path, or refuse it.

    The real path (every symlink and `..` resolved) must lie inside a root's real path:
    a link pointing out of the workspace is as outside as `/etc/passwd`.  A document the
    client opened itself (`opened` holds its URIs and paths) is allowed wherever it is, and
    says so, because the user put it in front of us.  Raises OutsideRoots otherwise.
    """
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        raise OutsideRoots(repr(raw), "not a file path")
    if _SCHEME.match(raw) and not raw.startswith("file:"):
        if raw in opened:  # untitled:, vscode-notebook-cell: ... an open buffer
            return InRoots(Path(raw), None, raw, raw, True)
        raise OutsideRoots(raw, "not a file: URI")
    path = Path(uri_path(raw)) if raw.startswith("file:") else Path(os.path.expanduser(raw))
    abs_roots = [Path(os.path.normpath(os.path.abspath(r))) for r in roots]
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    candidates = [path] if path.is_absolute() else [r / path for r in abs_roots]
    found: InRoots | None = None
    why = "outside the workspace roots"
    for candidate in candidates:
        lexical = Path(os.path.normpath(os.path.abspath(candidate)))
        given = _under(lexical, abs_roots) or _under(lexical, real_roots)
        real = Path(os.path.realpath(lexical))
        hit = _under(real, real_roots)
        if hit is None:
            if given is not None:
                why = "resolves outside the workspace roots"  # a symlink pointing out
            continue
        root, real_rel = hit
        rel = given[1] if given is not None else real_rel
        result = InRoots(real, root, rel.as_posix(), real_rel.as_posix())
        if real.exists():
            return result
        found = found or result
    if found is not None:
        return found
    if raw in opened or (path.is_absolute() and str(path) in opened):
        return InRoots(path, None, str(path), str(path), True)
    if not roots:
        raise OutsideRoots(raw, "no workspace root is open")
    raise OutsideRoots(raw, why)


def opened_documents(ls: object) -> set[str]:
    """URIs and paths of the documents the client has open (for `in_roots`)."""
    try:
        uris = list(ls.workspace.text_documents)  # type: ignore[attr-defined]
    except Exception:
        return set()
    out = set(uris)
    out.update(uri_path(u) for u in uris if u.startswith("file:"))
    return out
