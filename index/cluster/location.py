"""Where a base index lives and which workspaces read one: plain functions, no LanceDB.

Kept apart from `base` and `attach` so that `stead doctor` and `open_index` can ask
whether anything is attached without loading the index machinery.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from server.paths import workspace_key

log = logging.getLogger(__name__)

OBJECT_SCHEMES = ("s3", "s3a", "gs", "az", "abfs")
#: Attachment records live here, under the user data dir (never in the checkout).
ATTACHED_DIR = "attached"


class BaseIndexError(RuntimeError):
    """A base index that cannot be used; the message says why and what to do about it."""


def scheme_of(uri: str) -> str:
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", uri)
    return m.group(1).lower() if m else ""


def is_remote(uri: str) -> bool:
    return scheme_of(uri) in OBJECT_SCHEMES


def normalize(uri: str) -> str:
    """Object-store URIs as given (no trailing slash); directories made absolute."""
    uri = uri.strip()
    if is_remote(uri):
        return uri.rstrip("/")
    if scheme_of(uri):
        raise BaseIndexError(
            f"{uri}: unsupported location (use s3://bucket/prefix, gs://bucket/prefix, "
            "az://container/prefix or a directory)")
    return str(Path(uri).expanduser().resolve())


def host_of(uri: str) -> str:
    """The host a reader of this location talks to (what the audit log records)."""
    scheme = scheme_of(uri)
    if scheme in ("s3", "s3a"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get(
            "AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
        if endpoint:
            return re.sub(r"^[a-z]+://", "", endpoint).split("/")[0]
        bucket = uri.split("://", 1)[1].split("/")[0]
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return f"{bucket}.s3.{region}.amazonaws.com" if region else f"{bucket}.s3.amazonaws.com"
    if scheme == "gs":
        return "storage.googleapis.com"
    if scheme in ("az", "abfs"):
        account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME", "<account>")
        return f"{account}.blob.core.windows.net"
    return "local filesystem"


def egress_note(uri: str) -> str:
    """What reading this base index lets leave the machine (the manifest and status say it)."""
    if not is_remote(uri):
        return "none: the base index is on a local or mounted filesystem"
    return (f"query: each search reads the index pages it needs from {host_of(uri)}; the "
            "requests reveal which terms and vectors are looked up, no file content or "
            "prompt is sent")


def record_path(root: Path, data_dir: Path) -> Path:
    return data_dir / ATTACHED_DIR / f"{workspace_key(root)}.json"


def read_record(root: Path, data_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(record_path(root, data_dir).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring an unreadable attachment record for %s: %s", root, exc)
        return None
    return data if isinstance(data, dict) and isinstance(data.get("uri"), str) else None


def attachments(data_dir: Path) -> list[dict[str, Any]]:
    """Every workspace attachment record in this data dir (for `stead doctor`)."""
    out: list[dict[str, Any]] = []
    for path in sorted((data_dir / ATTACHED_DIR).glob("*.json")):
        if path.name.endswith(".state.json"):
            continue
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("uri"), str):
            out.append(data)
    return out


def doctor_layer(data_dir: Path, enabled: bool) -> tuple[str, str]:
    """(where it runs, what may leave) for the shared base index row of `stead doctor`."""
    found = attachments(data_dir)
    if not found:
        return "none attached ('stead index --attach URI')", "nothing"
    uris = sorted({a["uri"] for a in found})
    where = f"{len(found)} workspace(s) attached to " + ", ".join(uris)
    if not enabled:
        return where + " (not read: index.shared = false)", "nothing"
    hosts = sorted({host_of(u) for u in uris if is_remote(u)})
    if not hosts:
        return where, "nothing (local or mounted filesystem)"
    return where, ("query: each search reads the index pages it needs from "
                   + ", ".join(hosts) + " (no file content; recorded in the audit log)")


