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
from server.jsonrpc import SteadProtocol
from server.paths import Dirs, dirs, uri_path
from server.settings import Loaded, Settings, resolve

log = logging.getLogger(__name__)
T = TypeVar("T")


class SteadServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(NAME, __version__, protocol_cls=SteadProtocol)
        #: The process's exit status once the transport ended (see `start_io`).
        self.exit_status = 0
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
    def rpc(self) -> SteadProtocol:
        return self.protocol  # type: ignore[return-value]

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

    # -- transports: stead's strict reader (server/jsonrpc.py) instead of pygls's ----------
    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve on stdio until the input ends, `exit`, or a framing error; sets
        `exit_status` (0 clean, 1 `exit` without `shutdown`, 2 broken framing)."""
        import sys

        from pygls.io_ import StdoutWriter

        from server import jsonrpc

        self._stop_event = threading.Event()
        reader = jsonrpc.StdinReader(stdin or sys.stdin.buffer, self.thread_pool)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        self._run_transport(reader)

    def start_tcp(self, host: str, port: int) -> None:
        """One client over TCP (debugging), read with the same strict framing as stdio."""
        from server import jsonrpc

        async def main() -> None:
            done = asyncio.get_running_loop().create_future()

            async def connection(reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter) -> None:
                self.protocol.set_writer(writer)  # type: ignore[arg-type]
                try:
                    self.exit_status = await jsonrpc.serve(reader, self.rpc, stop)
                finally:
                    if not done.done():
                        done.set_result(None)

            server = await asyncio.start_server(connection, host, port)
            log.info("serving on %s:%s", host, port)
            async with server:
                await done

        self._stop_event = stop = threading.Event()
        try:
            asyncio.run(main())
        except SystemExit as exc:
            self.exit_status = exc.code if isinstance(exc.code, int) else 1
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    def _run_transport(self, reader: Any) -> None:
        from server import jsonrpc

        stop = self._stop_event
        assert stop is not None
        try:
            self.exit_status = asyncio.run(jsonrpc.serve(reader, self.rpc, stop))
        except BrokenPipeError:
            log.error("the client closed the connection; shutting down")
            self.exit_status = 1
        except SystemExit as exc:  # the `exit` notification
            self.exit_status = exc.code if isinstance(exc.code, int) else 1
        except KeyboardInterrupt:
            self.exit_status = 130
        finally:
            stop.set()
            if self.exit_status == jsonrpc.FRAMING_EXIT and self._thread_pool is not None:
                # work in flight cannot be answered any more: do not wait for it
                self._thread_pool.shutdown(wait=False, cancel_futures=True)
                self._thread_pool = None
            if self.exit_status == jsonrpc.FRAMING_EXIT:
                # a worker stuck in a model call must not keep a deaf process alive
                import os

                watchdog = threading.Timer(10.0, os._exit, (jsonrpc.FRAMING_EXIT,))
                watchdog.daemon = True
                watchdog.start()
            self.shutdown()  # type: ignore[no-untyped-call]

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (models, embeddings, disk) without freezing the event loop."""
        return await asyncio.to_thread(fn, *args)


def build() -> SteadServer:
    from server.handlers import register_all

    ls = SteadServer()
    register_all(ls)
    return ls
