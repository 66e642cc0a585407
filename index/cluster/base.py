"""A published base index: where it lives, what its manifest says, and how it is read.

A location is a LanceDB database URI: an object-store URI (`s3://bucket/prefix`,
`gs://...`, `az://...`) or a plain directory (a shared mount, or a test).  It holds two
tables: `chunks`, the same table a local index has (one row per chunk, one marker row per
file with its content hash), and `manifest`, one row of JSON naming the repository, the
commit, the embedder and its dimensions, the chunker version and the version of `chunks`
it describes.

Readers check out exactly that version of `chunks`.  A publish commits file batches to
`chunks` as it goes and rewrites `manifest` last, so a publish that dies half-way (a killed
worker, a failing store) leaves the previous index (or none) visible, never half of a new
one.  Superseded versions are kept a day (`KEEP_PUBLISHED`) so clients pinned to the
previous manifest keep working while a new one lands.

Credentials are never stored by stead: LanceDB reads them from the store's usual
environment variables or profile (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_PROFILE`,
`AWS_ENDPOINT_URL` for S3-compatible servers, `GOOGLE_APPLICATION_CREDENTIALS`,
`AZURE_STORAGE_ACCOUNT_NAME`/`AZURE_STORAGE_ACCOUNT_KEY`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from attrs import asdict, field, frozen

from index.api import WorkspaceIndex
from index.cluster.location import BaseIndexError as BaseIndexError
from index.cluster.location import egress_note as egress_note
from index.cluster.location import host_of as host_of
from index.cluster.location import is_remote as is_remote
from index.cluster.location import normalize as normalize
from index.embed import Embedder
from index.store import (
    CHUNK_ROWS,
    FILE_KIND,
    IVF_VERSION,
    SCHEMA_VERSION,
    TABLE,
    Store,
    check_cpu,
    sql_in,
)

FORMAT = "stead-base-index"
FORMAT_VERSION = 1
MANIFEST_TABLE = "manifest"
#: Superseded versions of a published table stay this long, so that clients still pinned
#: to the previous manifest keep reading while a re-publish lands.
KEEP_PUBLISHED = timedelta(days=1)


def storage_options() -> dict[str, str]:
    """Timeouts only: a store that stops answering fails a query in seconds, not minutes.
    Credentials are deliberately absent (LanceDB reads the environment or profile)."""
    return {"connect_timeout": "5s", "timeout": "30s"}


def explain(exc: BaseException, uri: str) -> BaseIndexError:
    """A store error as a message a user can act on."""
    text = str(exc)
    low = text.lower()
    bucket = uri.split("://", 1)[1].split("/")[0] if is_remote(uri) else uri
    if "nosuchbucket" in low or ("status: 404" in low and "bucket" in low):
        return BaseIndexError(
            f"the bucket '{bucket}' of {uri} does not exist (or was deleted): check the URI, "
            "or create the bucket and run 'stead index --publish URI' from a checkout")
    if any(s in low for s in ("invalidaccesskeyid", "signaturedoesnotmatch", "accessdenied",
                              "status: 403", "status: 401", "expiredtoken")):
        return BaseIndexError(
            f"the store refused the credentials for {uri}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) to a key that may read this bucket; "
            "stead never stores credentials itself")
    if any(s in low for s in ("connection refused", "error sending request", "dns error",
                              "timed out", "timeout", "connect error")):
        return BaseIndexError(
            f"the store for {uri} ({host_of(uri)}) cannot be reached: check the network, "
            "AWS_ENDPOINT_URL and the region")
    first = text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
    return BaseIndexError(f"{uri}: {first}")


def connect(uri: str) -> Any:
    import lancedb

    check_cpu()
    try:
        if is_remote(uri):
            return lancedb.connect(uri, storage_options=storage_options())
        Path(uri).mkdir(parents=True, exist_ok=True)
        return lancedb.connect(uri)
    except BaseIndexError:
        raise
    except Exception as exc:
        raise explain(exc, uri) from exc


def table_names(db: Any, uri: str) -> list[str]:
    try:
        return list(db.list_tables().tables)
    except Exception as exc:
        raise explain(exc, uri) from exc


@frozen
class Manifest:
    """What a published base index is; clients refuse one they cannot read correctly."""

    repository: str
    commit: str
    embedder: str
    dim: int
    chunker: int
    version: int  # the version of the `chunks` table this manifest describes
    files: int = 0
    chunks: int = 0
    vectors: int = 0
    published: str = ""
    publisher: str = ""  # stead version that wrote it
    engine: str = "local"
    egress: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    schema: int = SCHEMA_VERSION
    #: files per second of the last publish run, and how many it (re-)embedded
    stats: dict[str, Any] = field(factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a stead base index manifest")
        known = {a for a in cls.__attrs_attrs__}  # type: ignore[attr-defined]
        names = {a.name for a in known}
        return cls(**{k: v for k, v in data.items() if k in names})


def read_manifest(db: Any, uri: str) -> Manifest:
    if MANIFEST_TABLE not in table_names(db, uri):
        raise BaseIndexError(
            f"no published base index at {uri} (never published, or its publish did not "
            "finish): run 'stead index --publish URI' from a checkout of the repository")
    try:
        rows = db.open_table(MANIFEST_TABLE).to_arrow().to_pylist()
        return Manifest.from_json(rows[-1]["json"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BaseIndexError(f"the manifest at {uri} is unreadable ({exc}): re-publish it "
                             "with 'stead index --publish URI'") from exc
    except Exception as exc:
        raise explain(exc, uri) from exc


def write_manifest(db: Any, manifest: Manifest) -> None:
    """One commit: until it lands, readers see the previous manifest (and its version)."""
    import pyarrow as pa

    db.create_table(MANIFEST_TABLE, pa.table({"json": [manifest.to_json()]}), mode="overwrite")


def check_compatible(manifest: Manifest, uri: str, embedder: str, dim: int) -> None:
    """Refuse a base this stead would read wrongly, with the fix in the message."""
    from index.chunking import CHUNKER_VERSION

    if manifest.format_version > FORMAT_VERSION or manifest.schema != SCHEMA_VERSION:
        raise BaseIndexError(
            f"the base index at {uri} was written by stead {manifest.publisher or '?'} "
            f"(format {manifest.format_version}, schema {manifest.schema}); this stead reads "
            f"format {FORMAT_VERSION}, schema {SCHEMA_VERSION}: use the same stead version as "
            "the publisher, or re-publish the base with this one")
    if manifest.chunker != CHUNKER_VERSION:
        raise BaseIndexError(
            f"the base index at {uri} was chunked by chunker version {manifest.chunker}, "
            f"this stead chunks with version {CHUNKER_VERSION}: the local overlay would not "
            f"line up with it. Use stead {manifest.publisher or 'of the publisher'} here, or "
            "re-publish the base with this version ('stead index --publish URI')")
    if embedder != "none" and (manifest.embedder != embedder or manifest.dim != dim):
        raise BaseIndexError(
            f"the base index at {uri} was embedded with '{manifest.embedder}' "
            f"({manifest.dim} dims) but this workspace uses '{embedder}' ({dim} dims): set "
            f"index.embedder = \"{manifest.embedder}\" in the settings (or pass --embedder "
            f"{manifest.embedder}), or re-publish the base with '{embedder}'")


class RemoteStore(Store):
    """The local index's `Store`, pointed at a base index location instead of the data dir.

    Writing goes through the very same `write_files`/`optimize` (one publisher per
    location at a time: there is no lock across machines); reading can be pinned to
    the version a manifest names."""

    keep_versions = KEEP_PUBLISHED

    def __init__(self, uri: str, embedder: str, dim: int, *, version: int | None = None,
                 create: bool = False) -> None:
        check_cpu()
        self.uri = uri
        self.root = Path(uri) if not is_remote(uri) else Path("/")
        self.embedder = embedder
        self.dim = dim
        self.notice = ""
        self.embedded = 0
        self.commits = 0
        self.prune_due = None
        self._atable = None
        self.ivf_version = IVF_VERSION
        self.pinned = version
        self.db = connect(uri)
        try:
            if create:
                self.table = self._open_table()
            else:
                if TABLE not in table_names(self.db, uri):
                    raise BaseIndexError(f"{uri} has a manifest but no chunks table: "
                                         "re-publish it ('stead index --publish URI')")
                self.table = self.db.open_table(TABLE)
                if version is not None:
                    self.table.checkout(version)
        except BaseIndexError:
            raise
        except Exception as exc:
            raise explain(exc, uri) from exc

    def write_lock(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def _write_meta(self) -> None:
        """The manifest, written by the publisher, is the metadata of a base index."""

    def _wipe(self, reason: str) -> None:
        raise BaseIndexError(f"the chunks table at {self.uri} cannot be used ({reason}): "
                             "publish to an empty location, or delete this one first")

    async def _async_table(self) -> Any:
        if self._atable is None:
            import lancedb

            if is_remote(self.uri):
                db = await lancedb.connect_async(self.uri, storage_options=storage_options())
            else:
                db = await lancedb.connect_async(self.uri)
            table = await db.open_table(TABLE)
            if self.pinned is not None:
                await table.checkout(self.pinned)
            self._atable = table
        return self._atable

    def file_hashes(self) -> dict[str, str]:
        """path -> content hash of every file in the (pinned) table."""
        return {p: v[0] for p, v in self.saved_files().items()}

    def counts(self) -> dict[str, int]:
        return {"files": self.count(f"kind = '{FILE_KIND}'"),
                "chunks": self.count(CHUNK_ROWS),
                "vectors": self.count(f"has_vec = true AND {CHUNK_ROWS}")}


class BaseView(WorkspaceIndex):
    """The search half of `WorkspaceIndex` over a read-only base store: the ranking code is
    the local index's own, with the paths the overlay hides filtered out in the query."""

    def __init__(self, store: RemoteStore, manifest: Manifest,
                 embedder: Callable[[], Embedder | None],
                 hidden: Callable[[], frozenset[str]]) -> None:
        self.store = store
        self.root = store.root
        self.embedder_name = manifest.embedder
        self.embed_error = ""
        self._embedder_of = embedder
        self._hidden_of = hidden
        self._counts = {"files": manifest.files, "chunks": manifest.chunks,
                        "vectors": manifest.vectors}

    def embedder(self) -> Embedder | None:
        return self._embedder_of()

    def _where(self, path_glob: str | None, language: str | None) -> str | None:
        where = super()._where(path_glob, language)
        hidden = sorted(self._hidden_of())
        if not hidden:
            return where
        cond = f"NOT ({sql_in('path', hidden)})"
        return f"{where} AND {cond}" if where else cond
