"""Where stead keeps its files.

Everything lives in the platform's user directories, never in the workspace, so a
checkout stays clean and several editor windows share one store.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
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
