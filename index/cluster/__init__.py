"""Beyond one machine: a base index published once to object storage, read by many.

- `location`: pure helpers (URIs, hosts, what reading sends where) and the records of
  which workspaces are attached; light enough for `open_index` and `stead doctor`.
- `base`: the location (an object-store URI or a directory), the manifest that says what a
  published index is (repository, commit, embedder and dimensions, chunker version), the
  remote store (the local `Store`, pointed at the URI) and a searchable view pinned to the
  published table version.
- `publish`: walk, chunk, embed (in-process, or in parallel Ray tasks) and write a base index;
  a re-publish re-embeds only the files whose content hash changed.
- `attach`: a workspace that reads a base index and keeps a small local overlay of the files
  that differ from it.

Reading a base index needs only the core install (LanceDB reads S3, GCS and Azure itself);
publishing on Ray needs the optional `[cluster]` extra.  Credentials come from the usual
environment variables or profile of the store, never from stead's settings.
"""
