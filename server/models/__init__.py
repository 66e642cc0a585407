"""Local model files: the registry of known models, GGUF inspection and the models dir."""
