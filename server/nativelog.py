"""Native libraries' chatter goes to the log at debug level, not to the user's terminal.

llama.cpp inside gpt4all writes straight to file descriptor 2: "Failed to load
libllamamodel-mainline-cuda.so: dlopen: libcudart.so…" on every CPU-only machine, "Llama:
context full, swapping" while generating.  On a terminal that is noise in the middle of
`stead ask`; in an editor every stderr line is shown as an error.  Python cannot silence C
code's writes, so fd 2 becomes a pipe read by a thread that logs each line (logger
`server.native`, debug), and Python's own `sys.stderr` moves to a copy of the original
descriptor, so stead's log lines and messages still reach the terminal or editor as before.
Redirecting once for the whole process, rather than around each native call, keeps other
threads' output out of the capture.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("server.native")
_installed = False
_lock = threading.Lock()
#: Lines that mean something went wrong in Python itself (a child's traceback, a fatal
#: error): these stay visible.
_SERIOUS = ("Traceback (most recent call last)", "Fatal Python error")


def level_for(line: str) -> int:
    """Debug for a native library's chatter; a warning for Python's own failures."""
    return logging.WARNING if line.startswith(_SERIOUS) else logging.DEBUG


def _pump(fd: int) -> None:
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        pending = b""
        while True:
            try:
                data = pipe.read(65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    log.log(level_for(line), "%s", line)


def capture_native_stderr() -> bool:
    """Route fd 2 into the log (once per process); False when it cannot or should not.

    Skipped when stderr is not fd 2 (embedded, or under a test runner's capture) and when
    `STEAD_NATIVE_STDERR=keep` asks to see the raw output.
    """
    global _installed
    with _lock:
        if _installed:
            return True
        if os.name != "posix" or os.environ.get("STEAD_NATIVE_STDERR") == "keep":
            return False
        try:
            if sys.stderr is None or sys.stderr.fileno() != 2:
                return False
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            return False
        encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        saved = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        sys.stderr = os.fdopen(saved, "w", buffering=1, encoding=encoding,
                               errors="backslashreplace")
        threading.Thread(target=_pump, args=(read_fd,), name="stead-native-stderr",
                         daemon=True).start()
        _installed = True
        return True
