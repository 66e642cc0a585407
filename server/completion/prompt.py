"""Cross-file snippets rendered as comments above the prefix, within their token budget.

Comments keep the prompt valid code in the file's language, so any model (FIM-trained or
not) reads them as context rather than as text to continue.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from server.completion.budget import Counter
from server.completion.types import Snippet

_HASH = {".py", ".sh", ".rb", ".pl", ".r", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".mk",
         ".bash", ".zsh", ".ps1", ".nim", ".jl", ".ex", ".exs", ".cmake", ".dockerfile"}
_DASH = {".sql", ".lua", ".hs", ".elm", ".ada", ".adb", ".ads"}
_PERCENT = {".tex", ".erl", ".m"}
_LANG_HASH = {"python", "shellscript", "ruby", "perl", "r", "toml", "yaml", "makefile",
              "julia", "elixir", "powershell", "dockerfile", "cmake"}
_LANG_DASH = {"sql", "lua", "haskell", "elm"}


def comment_prefix(path: str, language_id: str = "") -> str:
    if language_id in _LANG_HASH:
        return "#"
    if language_id in _LANG_DASH:
        return "--"
    suffix = PurePath(path).suffix.lower()
    name = PurePath(path).name.lower()
    if suffix in _HASH or name in ("makefile", "dockerfile"):
        return "#"
    if suffix in _DASH:
        return "--"
    if suffix in _PERCENT:
        return "%"
    return "//"


def render_snippets(
    snippets: Sequence[Snippet], budget: int, count: Counter, comment: str
) -> str:
    """Snippets in the given order (most useful first) while they fit the budget."""
    out: list[str] = []
    used = 0
    for s in snippets:
        header = f"{comment} {s.path}:{s.start_line}-{s.end_line}\n"
        body = "".join(f"{comment} {line}\n" for line in s.text.splitlines())
        block = header + body
        n = count(block)
        if used + n > budget:
            continue
        out.append(block)
        used += n
    return "".join(out)
