"""LSP handlers, one module per area, each exposing `register(ls)`.

Handlers are thin: they read the document and settings, call a plain function, and wrap
the result.  Modules are discovered so that each area owns its file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from server import protocol
from server.paths import InRoots, OutsideRoots, in_roots, opened_documents

if TYPE_CHECKING:
    from server.lsp import SteadServer

#: Added to the reasons of a context item that lies outside the roots: only a document
#: the client opened itself gets there.
OPENED_BY_YOU = "opened by you"


def register_all(ls: SteadServer) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(ls)


def inside_roots(ls: SteadServer, raw: str, *, allow_opened: bool = True) -> InRoots:
    """The roots rule for a URI or path a client sent: resolved, or refused with the same
    error by every method (documents the client opened are allowed when `allow_opened`)."""
    opened = opened_documents(ls) if allow_opened else set()
    try:
        return in_roots(raw, ls.roots, opened)
    except OutsideRoots as exc:
        raise protocol.OutsideRootsError(str(exc), str(raw)) from None


def mark_opened(manifest: dict[str, object], roots: list[object]) -> dict[str, object]:
    """Say "opened by you" on manifest items outside the roots (open buffers the user put
    there); everything else a context holds comes from inside the roots."""
    from pathlib import Path

    items = manifest.get("items")
    if not isinstance(items, list):
        return manifest
    for item in items:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str) or not Path(path).is_absolute():
            continue  # relative: inside the root it is relative to
        try:
            in_roots(path, [Path(str(r)) for r in roots])
        except OutsideRoots:
            reasons = list(item.get("reasons") or [])
            if OPENED_BY_YOU not in reasons:
                reasons.append(OPENED_BY_YOU)
            item["reasons"] = reasons
            item["reason"] = " + ".join(reasons)
    return manifest
