"""Choosing the context a model sees: for inline completion and for questions.

A small local model is only as good as what it is given, so this package decides which
chunks of the workspace go into a prompt, within a token budget, and records why each one
was chosen so the user can see it (the manifest).  The logic is plain functions over plain
data; the LSP handlers only gather inputs (documents, index, settings) and wrap results.
"""
