"""API keys: from an environment variable first, then the OS keyring when installed.

A key is looked up at the moment of sending and handed straight to the HTTP headers; it is
never stored in a manifest, the audit log, history or logs.  `scrub` removes it from any
text (an error message, say) that could otherwise carry it out.
"""

from __future__ import annotations

import logging
import os

from server.settings import ProviderSettings

log = logging.getLogger(__name__)

KEYRING_SERVICE = "stead"


def find(name: str, provider: ProviderSettings) -> str | None:
    """The provider's API key, or None when neither the env var nor the keyring has one."""
    if provider.api_key_env:
        value = os.environ.get(provider.api_key_env, "").strip()
        if value:
            return value
    try:
        import keyring  # optional: only when the user installed it
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, name) or ""
    except Exception as exc:  # no backend, locked keyring: treat as absent
        log.info("keyring lookup for %s failed: %s", name, type(exc).__name__)
        return None
    return value.strip() or None


def missing_message(name: str, provider: ProviderSettings) -> str:
    where = f"the environment variable {provider.api_key_env}" if provider.api_key_env else ""
    ring = f'the OS keyring (service "{KEYRING_SERVICE}", user "{name}")'
    source = f"{where} or {ring}" if where else ring
    return f"no API key for provider {name!r}: set {source}; nothing was sent"


def scrub(text: str, key: str | None) -> str:
    if key and len(key) >= 4:
        return text.replace(key, "[api key]")
    return text
