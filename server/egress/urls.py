"""Which provider URLs stead will talk to: https anywhere, plain http only on loopback.

Plain http to another host would hand the code and the API key to anyone on the path; a
URL carrying credentials (`https://user:key@host`) would put a secret into manifests and
logs.  Both are refused.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problem(url: str) -> str | None:
    """Why this provider URL is refused, or None when it is acceptable."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"the provider URL {url!r} is malformed ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return f"the provider URL {url!r} is not an http(s) URL"
    if parts.username or parts.password:
        return "the provider URL must not carry credentials; use api_key_env instead"
    if parts.scheme == "http" and not is_loopback(host):
        return f"the provider URL {url!r} is not https and not loopback; refusing plain http"
    return None


def endpoint(kind: str, base: str) -> str:
    """The request URL for a provider kind, from its configured base (or the default)."""
    base = (base or DEFAULT_URLS.get(kind, "")).rstrip("/")
    if kind == "anthropic":
        return base + ("/messages" if base.endswith("/v1") else "/v1/messages")
    return base + "/chat/completions"
