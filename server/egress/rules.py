"""Never-send rules: files that are excluded from every remote payload, always.

The built-in globs cover the usual homes of secrets (dotenv files, keys, certificates,
credential folders).  Users add more with `remote.never_send`; they can never remove the
built-in ones.  A pattern without a slash matches any single path component (so `secrets`
excludes a whole folder and `*.pem` a file anywhere); a pattern with a slash matches the
whole workspace-relative path.  Matching ignores case, as some filesystems do.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

BUILTIN: tuple[str, ...] = (
    ".env*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".htpasswd",
    "credentials",
    "credentials.json",
    "secrets",
    ".secrets",
    "secret",
    ".ssh",
    ".aws",
    ".gnupg",
    ".docker",
)


def patterns(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The built-in globs followed by the user's (blank ones ignored)."""
    return BUILTIN + tuple(p.strip() for p in extra if p.strip())


def match(rel_path: str, extra: Iterable[str] = ()) -> str | None:
    """The first never-send pattern that matches a workspace-relative path, else None."""
    path = PurePosixPath(rel_path.replace("\\", "/").lower())
    parts = [p for p in path.parts if p not in ("/", ".")]
    whole = "/".join(parts)
    for pattern in patterns(extra):
        p = pattern.lower()
        if "/" in p.strip("/"):
            p = p.strip("/")
            if p.startswith("**/"):
                tails = ["/".join(parts[i:]) for i in range(len(parts))]
                if any(fnmatchcase(t, p[3:]) or fnmatchcase(t, p[3:] + "/*") for t in tails):
                    return pattern
            elif fnmatchcase(whole, p) or fnmatchcase(whole, p + "/*"):
                return pattern
        elif any(fnmatchcase(part, p.strip("/")) for part in parts):
            return pattern
    return None
