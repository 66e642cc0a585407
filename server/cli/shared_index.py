"""`stead index --publish URI`, `--attach URI` and `--detach`: the shared base index.

Publishing writes a base index of one checkout to object storage (or a directory) so that a
team builds it once; attaching makes a workspace read it and index locally only the files
that differ.  Credentials come from the store's environment or profile, never from here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _settings(embedder: str | None) -> Any:
    from server.paths import dirs
    from server.settings import resolve

    d = dirs()
    loaded = resolve({"index": {"embedder": embedder}} if embedder else None,
                     file=d.config_file)
    for problem in loaded.problems:
        print(f"stead: {problem}", file=sys.stderr)
    return d, loaded.settings.index


def run_shared(args: argparse.Namespace, root: Path, progress: Any) -> int:
    from index.cluster.base import BaseIndexError

    try:
        if args.detach:
            return _detach(root)
        if args.publish:
            return _publish(args, root, progress)
        return _attach(args, root, progress)
    except BaseIndexError as exc:
        print(f"stead: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstead: interrupted; nothing new was published (the previous index, if "
              "any, is still the one readers see)" if args.publish else "\nstead: interrupted",
              file=sys.stderr)
        return 130


def _publish(args: argparse.Namespace, root: Path, progress: Any) -> int:
    from index.cluster.publish import publish

    d, settings = _settings(args.embedder)
    if args.no_vectors:
        import attrs

        settings = attrs.evolve(settings, embedder="none")
    r = publish(root, args.publish, settings, d.models, engine=args.engine,
                address=args.address, commit=args.commit, progress=progress)
    if args.json:
        out = {"uri": r.uri, "files": r.files, "changed": r.changed, "deleted": r.deleted,
               "unchanged": r.unchanged, "chunks_embedded": r.chunks_embedded,
               "seconds": round(r.seconds, 3), "engine": r.engine, "workers": r.workers,
               "manifest": json.loads(r.manifest.to_json())}
        print(json.dumps(out, indent=2))
    else:
        m = r.manifest
        print(f"published {r.uri}: {m.files} files, {m.chunks} chunks, {m.vectors} vectors "
              f"at {m.commit or '(no commit)'} ({r.changed} files embedded, {r.deleted} "
              f"removed, {r.unchanged} unchanged; {r.seconds:.1f}s on {r.engine}, "
              f"{r.workers} worker{'s' if r.workers != 1 else ''})")
    return 0


def _attach(args: argparse.Namespace, root: Path, progress: Any) -> int:
    from index.api import open_index
    from index.cluster.attach import attach

    d, settings = _settings(args.embedder)
    record = attach(root, d.data, settings, args.attach)
    ix = open_index(root, d.data, settings)
    stats = ix.refresh(progress=progress, embed_vectors=not args.no_vectors)
    st = ix.status()
    if args.json:
        print(json.dumps({"record": record, "status": st,
                          "overlay_changes": {"added": stats.added, "updated": stats.updated,
                                              "deleted": stats.deleted}}, indent=2))
    else:
        b = st["base"]
        print(f"{root}: attached to {b['uri']} ({b['repository']} @ {b['commit'] or '?'}: "
              f"{b['files']} files, {b['chunks']} chunks)\n"
              f"local overlay: {st['overlay']['files']} files that differ from the base\n"
              f"egress: {b['egress']}")
    if st["base"]["error"]:
        print(f"stead: {st['base']['error']}", file=sys.stderr)
        return 1
    return 0


def _detach(root: Path) -> int:
    from index.cluster.attach import detach
    from server.paths import dirs

    if detach(root, dirs().data):
        print(f"{root}: detached; run 'stead index' to index it locally")
    else:
        print(f"{root} is not attached to a base index", file=sys.stderr)
    return 0
