"""Initialize, settings and status: what every client needs before any feature."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from server import __version__, protocol
from server.settings import to_dict

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from server.lsp import SteadServer


def _section(value: Any) -> Any:
    """Clients send either the whole configuration or our section under "stead"."""
    value = protocol._plain(value)
    if isinstance(value, dict) and "stead" in value:
        return value["stead"]
    return value


def register(ls: SteadServer) -> None:
    @ls.feature(types.INITIALIZE)
    def initialize(ls: SteadServer, params: types.InitializeParams) -> None:
        ls.init_options = _section(params.initialization_options)

    @ls.feature(types.INITIALIZED)
    def initialized(ls: SteadServer, params: types.InitializedParams) -> None:
        ls.reload_settings()
        for hook in list(ls.initialized_hooks):
            try:
                hook(ls)
            except Exception:
                log.exception("initialized hook failed")

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: SteadServer, params: types.DidChangeConfigurationParams
    ) -> None:
        ls.client_settings = _section(params.settings)
        ls.reload_settings()

    @ls.feature(protocol.SETTINGS)
    def settings(ls: SteadServer, params: Any) -> Any:
        return protocol.dump(
            protocol.SettingsResult(to_dict(ls.settings), list(ls.loaded.problems))
        )

    @ls.feature(protocol.STATUS)
    def status(ls: SteadServer, params: Any) -> Any:
        from server.backends import SERVICE as BACKEND

        s = ls.settings
        index_status: dict[str, Any] = ls.service("index.status", dict)
        return protocol.dump(
            protocol.StatusResult(
                version=__version__,
                model=s.model.path or s.model.name,
                backend=s.model.backend,
                route="remote" if ls.remote_sends else "local",
                remote_enabled=s.remote.enabled,
                index=dict(index_status),
                model_loaded=bool(getattr(ls._services.get(BACKEND), "loaded", False)),
            )
        )
