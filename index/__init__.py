"""The workspace index: walk, chunk, store, embed and search one workspace's code.

Entry point: `index.api.open_index(root, data_dir, settings)`.  Nothing here imports the
language server; only `server.settings.IndexSettings` and `server.paths` are shared.
"""
