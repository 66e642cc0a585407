"""Initialize, settings and status: what every client needs before any feature."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from server import __version__, protocol
from server.settings import to_dict

log = logging.getLogger(__name__)
#: The last model failure a request met: {"error": str}; cleared by the next success.
MODEL_ERROR = "model.error"
#: Model failures already shown to the user (each once per server, not per keystroke).
MODEL_SHOWN = "model.shown"

if TYPE_CHECKING:
    from server.lsp import SteadServer


def _section(value: Any) -> Any:
    """Clients send either the whole configuration or our section under "stead"."""
    value = protocol._plain(value)
    if isinstance(value, dict) and "stead" in value:
        return value["stead"]
    return value


def model_failed(ls: SteadServer, error: str) -> None:
    """A completion (or any request) could not use the model: keep the error for the
    status and tell the user once, with the command that fixes it.  Call on the loop.
    """
    from server.doctor import model_fix

    failure: dict[str, str] = ls.service(MODEL_ERROR, dict)
    failure["error"] = error
    shown: set[str] = ls.service(MODEL_SHOWN, set)
    if error in shown:
        return
    shown.add(error)
    s = ls.settings.model
    fix = "" if s.backend != "gpt4all" else model_fix("" if s.path else s.name)
    message = f"stead: no completions: {error}" + (f" Fix: {fix}" if fix and fix not in error
                                                   else "")
    log.warning("%s", message)
    try:
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Error, message))
    except Exception:
        log.debug("could not show the model failure", exc_info=True)


def model_worked(ls: SteadServer) -> None:
    """A request got text from the model: whatever failed before is fixed."""
    failure = ls._services.get(MODEL_ERROR)
    if failure:
        failure.clear()


def model_health(ls: SteadServer) -> dict[str, Any]:
    """What the status says about the model: loaded or not, and what is wrong with the fix.

    The file is checked without loading it (present, a GGUF, the recorded size), so a
    missing or half-copied model shows before the first completion; a load or generation
    failure that a request met is reported as it was.
    """
    from server.backends import SERVICE as BACKEND
    from server.doctor import model_file_check, model_fix

    s = ls.settings.model
    backend = ls._services.get(BACKEND)
    loaded = bool(getattr(backend, "loaded", False))
    error = fix = ""
    if s.backend == "gpt4all" and not loaded:
        try:
            check = model_file_check(ls.settings, ls.dirs)
        except Exception as exc:  # the status must answer whatever the disk holds
            check = None
            error = f"the model could not be checked: {exc}"
        if check is not None and not check.ok:
            error, fix = check.detail, check.fix
    failure = ls._services.get(MODEL_ERROR) or {}
    if not error and failure.get("error"):
        error = failure["error"]
        if s.backend == "gpt4all":
            fix = model_fix("" if s.path else s.name)
        else:
            fix = f"start the model server at {s.url}"
    state = "error" if error else ("loaded" if loaded else "not loaded")
    return {"model_state": state, "model_error": error, "model_fix": fix,
            "model_loaded": loaded}


def _forget_model_failure(ls: SteadServer, old: Any, new: Any) -> None:
    """Another model was configured: the last one's failure no longer describes it."""
    if old.model != new.model:
        model_worked(ls)


def register(ls: SteadServer) -> None:
    ls.settings_listeners.append(lambda old, new: _forget_model_failure(ls, old, new))

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
                **model_health(ls),
            )
        )
