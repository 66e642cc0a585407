"""One indexer per workspace across processes: a lease in the workspace's index directory.

Every editor window runs its own server and the CLI can index too; without this, each
process that opens a fresh workspace does the whole multi-minute job.  The lease is an
advisory `flock` on `indexer.lock`: the kernel drops it when its holder exits, however
(kill -9 included), so a dead holder never wedges the others.  The holder writes its
progress to `indexer.json`; a second indexer waits, shows that progress as its own, and
when the lock comes free (the first finished, or died) takes over with a refresh that finds
the committed work done and resumes the rest.  `indexer.json` also remembers that a full
pass completed, so `ready` is never claimed for an index that was only ever half built.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_NAME = "indexer.lock"
STATE_NAME = "indexer.json"
#: How often a waiting indexer retries the lock and rereads the holder's progress.
POLL_S = 0.25
#: The holder writes its progress at most this often.
PUBLISH_S = 0.25


class IndexLease:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.lock_path = directory / LOCK_NAME
        self.state_path = directory / STATE_NAME
        self._fd: int | None = None
        self._mutex = threading.Lock()
        self._last_publish = 0.0

    # -- the lock ----------------------------------------------------------------------
    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it (never blocks)."""
        with self._mutex:
            if self._fd is not None:
                return True
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
        self._write({"pid": os.getpid(), "since": time.time(), "done": 0, "total": 0,
                     "message": "starting", "complete": self.complete})
        return True

    def acquire(self, cancel: threading.Event,
                on_wait: Callable[[dict[str, Any]], None] | None = None) -> bool:
        """Take the lease, waiting while another process holds it; False if cancelled.

        `on_wait` gets the holder's last published state (pid, done, total, message)
        every poll, so a waiting client shows the real progress instead of a second bar.
        """
        waited = False
        while not self.try_acquire():
            if not waited:
                log.info("another stead process indexes %s; waiting for it", self.dir)
                waited = True
            if on_wait is not None:
                try:
                    on_wait(self.holder())
                except Exception:
                    log.exception("index wait callback failed")
            if cancel.wait(POLL_S):
                return False
        if waited:
            log.info("index lease taken over at %s", self.dir)
        return True

    def release(self) -> None:
        with self._mutex:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    # -- the shared state --------------------------------------------------------------
    def holder(self) -> dict[str, Any]:
        """What the holder last published ({} when nothing readable is there)."""
        try:
            data = json.loads(self.state_path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def complete(self) -> bool:
        """A full pass over the workspace finished at least once (by any process)."""
        return bool(self.holder().get("complete"))

    def progress(self, done: int, total: int, message: str) -> None:
        """Publish the holder's progress for waiting processes (throttled; no-op if not
        holding)."""
        if self._fd is None:
            return
        now = time.monotonic()
        if now - self._last_publish < PUBLISH_S and done < total:
            return
        self._last_publish = now
        self._update(done=done, total=total, message=message)

    def mark_complete(self) -> None:
        self._update(complete=time.time(), message="done")

    def _update(self, **changes: Any) -> None:
        state = self.holder()
        state.update(changes, pid=os.getpid())
        self._write(state)

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_name(f"{STATE_NAME}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(state), "utf-8")
            os.replace(tmp, self.state_path)
        except OSError as exc:  # progress sharing is a courtesy: never fail indexing on it
            log.debug("cannot write %s: %s", self.state_path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
