"""LSP handlers, one module per area, each exposing `register(ls)`.

Handlers are thin: they read the document and settings, call a plain function, and wrap
the result.  Modules are discovered so that each area owns its file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.lsp import SteadServer


def register_all(ls: SteadServer) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(ls)
