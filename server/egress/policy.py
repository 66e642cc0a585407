"""The routing policy: local by default, remote only on an explicit ask, where allowed.

`decide` is a pure function of the request and the settings, so every rule is a table row
in the tests.  A refused decision carries a sentence that tells the user what to change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from attrs import frozen

from server.egress import urls
from server.settings import Settings

Route = Literal["local", "remote", "refused"]

#: Why a remote route was asked for; recorded in the manifest and the audit log.
REASONS = ("user asked", "local model declined", "context exceeds the local window")


@frozen
class Request:
    #: The provider the user explicitly asked for (a command or a chat option); None = no ask.
    provider: str | None = None
    #: Workspace roots the request is made from.
    roots: tuple[str, ...] = ()
    #: Why remote is wanted; one of REASONS.
    reason: str = "user asked"


@frozen
class Decision:
    route: Route
    reason: str


def _inside(root: str, allowed: str) -> bool:
    r, a = os.path.realpath(root), os.path.realpath(os.path.expanduser(allowed))
    return r == a or r.startswith(a.rstrip(os.sep) + os.sep)


def workspace_allowed(roots: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    """Every root must lie inside an allowed workspace; "*" allows all (and no root)."""
    if "*" in allowed:
        return True
    if not roots:
        return False
    return all(any(_inside(root, a) for a in allowed if a) for root in roots)


def decide(request: Request, settings: Settings) -> Decision:
    remote = settings.remote
    if request.provider is None:
        return Decision("local", "local by default")
    if request.reason not in REASONS:
        return Decision("refused", f"unknown escalation reason {request.reason!r}")
    if not remote.enabled:
        return Decision(
            "refused",
            "remote escalation is disabled; set remote.enabled = true in the config to allow it",
        )
    provider = remote.providers.get(request.provider)
    if provider is None:
        known = ", ".join(sorted(remote.providers)) or "none"
        return Decision(
            "refused",
            f"unknown provider {request.provider!r} (configured: {known}); "
            "add it under remote.providers",
        )
    if not workspace_allowed(request.roots, remote.allowed_workspaces):
        where = ", ".join(str(Path(r)) for r in request.roots) or "no workspace"
        return Decision(
            "refused",
            f"remote escalation is not allowed for {where}; "
            "add the workspace to remote.allowed_workspaces",
        )
    bad_url = urls.problem(provider.url or urls.DEFAULT_URLS[provider.kind])
    if bad_url:
        return Decision("refused", bad_url)
    if not provider.model:
        return Decision("refused", f"provider {request.provider!r} has no model configured")
    return Decision("remote", request.reason)
