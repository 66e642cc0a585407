"""The pygls server object and the state it carries between requests.

Only what every area needs lives here: the effective settings, the data directories, the
workspace roots and a place for lazily built services (models, index, history) so that
nothing heavy is imported on the initialize path.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from server import NAME, __version__
from server.paths import Dirs, dirs, uri_path
from server.settings import Loaded, Settings, resolve

log = logging.getLogger(__name__)
T = TypeVar("T")


class SteadServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(NAME, __version__)
        self.dirs: Dirs = dirs()
        self.loaded: Loaded = Loaded(Settings(), ())
        self.init_options: Any = None
        self.client_settings: Any = None
        self._services: dict[str, Any] = {}
        self._services_lock = threading.RLock()  # a factory may ask for another service
        self.settings_listeners: list[Callable[[Settings, Settings], None]] = []
        #: Called (on the loop) once the client said `initialized` and settings are loaded.
        self.initialized_hooks: list[Callable[[SteadServer], None]] = []
        #: Called (on the loop) after pygls updated its document store, with an event such
        #: as ("open" | "change" | "save" | "close", uri, params).  Keep them quick.
        self.document_listeners: list[Callable[[str, str, Any], None]] = []
        #: Approved escalations being sent right now (the status bar shows "remote").
        self.remote_sends = 0

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def roots(self) -> list[Path]:
        """Workspace roots (folders first, else rootUri); empty when none was given."""
        try:
            ws = self.workspace
        except Exception:  # before initialize there is no workspace
            return []
        folders = [Path(uri_path(f.uri)) for f in ws.folders.values()
                   if f.uri.startswith("file:")]
        if folders:
            return folders
        return [Path(ws.root_path)] if ws.root_path else []

    def service(self, key: str, factory: Callable[[], T]) -> T:
        """Build a service once (thread-safe) and keep it for the server's lifetime."""
        with self._services_lock:
            if key not in self._services:
                self._services[key] = factory()
            return self._services[key]  # type: ignore[no-any-return]

    def drop_service(self, key: str) -> Any:
        with self._services_lock:
            return self._services.pop(key, None)

    def reload_settings(self) -> Loaded:
        """Recompute settings from the config file and the client's layers; report problems."""
        old = self.settings
        self.loaded = resolve(self.init_options, self.client_settings, file=self.dirs.config_file)
        logging.getLogger("server").setLevel(self.settings.log_level.upper())
        for problem in self.loaded.problems:
            log.warning("settings: %s", problem)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"stead: {problem}")
            )
        for listener in list(self.settings_listeners):
            try:
                listener(old, self.settings)
            except Exception:
                log.exception("settings listener failed")
        return self.loaded

    def emit_document(self, event: str, uri: str, params: Any) -> None:
        for listener in list(self.document_listeners):
            try:
                listener(event, uri, params)
            except Exception:
                log.exception("document listener failed on %s %s", event, uri)

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (models, embeddings, disk) without freezing the event loop."""
        return await asyncio.to_thread(fn, *args)


def build() -> SteadServer:
    from server.handlers import register_all

    ls = SteadServer()
    register_all(ls)
    return ls
