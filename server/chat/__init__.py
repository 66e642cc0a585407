"""Code-context chat: conversations kept locally, prompts built from selected context,
answers streamed from the local model with the manifest of what it was shown."""
