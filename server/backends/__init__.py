"""Model backends: pick one from settings, build it once, keep it warm.

`make_backend(settings, dirs)` resolves the model (an explicit `model.path`, else the named
model from the models dir, copying a package-embedded model on first use) and returns a
`Backend`.  `backend_for(ls)` keeps one per server, rebuilt when the model settings change.
The model file itself loads lazily on the first request, off the event loop.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from server.backends.base import Backend, ChatMessage, Generation, ModelError, ModelInfo

if TYPE_CHECKING:
    from server.lsp import SteadServer
    from server.paths import Dirs
    from server.settings import Settings

__all__ = [
    "Backend", "ChatMessage", "Generation", "ModelError", "ModelInfo", "backend_for",
    "make_backend",
]
log = logging.getLogger(__name__)
SERVICE = "backend"
#: A model that failed to build is tried again after this many seconds (not per keystroke).
RETRY_AFTER_S = 30.0
_build_lock = threading.Lock()


class _Failed:
    def __init__(self, error: ModelError, at: float) -> None:
        self.error = error
        self.at = at


def default_threads() -> int:
    """Half the cores (at most 4): llama.cpp threads spin, and the editor needs a core."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def make_backend(settings: Settings, dirs: Dirs) -> Backend:
    m = settings.model
    if m.backend == "openai-compatible":
        from server.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(
            m.url, m.server_model, n_ctx=m.n_ctx, timeout_s=m.timeout_s,
            chat_timeout_s=settings.chat.timeout_s,
        )
    from server.backends.gpt4all_backend import Gpt4AllBackend
    from server.models.store import resolve

    resolved = resolve(m.path, m.name, dirs)
    return Gpt4AllBackend(
        resolved.path,
        name=resolved.name,
        fim=resolved.fim,
        chat=resolved.chat,
        n_ctx=m.n_ctx,
        n_threads=m.n_threads or default_threads(),
        timeout_s=m.timeout_s,
        chat_timeout_s=settings.chat.timeout_s,
    )


def backend_for(ls: SteadServer) -> Backend:
    """The server's backend (built on first use; blocking: call it off the event loop).

    A model that cannot be used raises ModelError on every call until settings change.
    """
    if not getattr(ls, "_stead_backend_listener", False):
        ls._stead_backend_listener = True  # type: ignore[attr-defined]

        def on_settings(old: Settings, new: Settings) -> None:
            if old.model != new.model:
                previous = ls.drop_service(SERVICE)
                if previous is not None and not isinstance(previous, _Failed):
                    previous.close()
                log.info("model settings changed; the backend will be rebuilt")

        ls.settings_listeners.append(on_settings)

    def build() -> Backend | _Failed:
        try:
            return make_backend(ls.settings, ls.dirs)
        except ModelError as exc:
            return _Failed(exc, time.monotonic())

    backend = ls._services.get(SERVICE)
    if isinstance(backend, _Failed) and time.monotonic() - backend.at > RETRY_AFTER_S:
        ls.drop_service(SERVICE)  # the user may have fixed the file since: try again
        backend = None
    if backend is None:
        # built under our own lock: resolving may copy and hash the default model (seconds),
        # and ls.service's lock is shared with handlers that run on the event loop
        with _build_lock:
            backend = ls._services.get(SERVICE)
            if backend is None:
                built = build()
                backend = ls.service(SERVICE, lambda: built)
    if isinstance(backend, _Failed):
        raise backend.error
    return backend  # type: ignore[no-any-return]
