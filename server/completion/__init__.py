"""Inline completion: budgeting, prompts, post-processing, caching and the engine."""
