"""stead: a local-first AI coding assistant served over the Language Server Protocol."""

__version__ = "0.1.0"
NAME = "stead"
