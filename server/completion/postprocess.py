"""Turn raw model output into the suggestion a user expects to see (pure functions).

- code only: no Markdown fence, no sentence about the code (instruct models add both);
- single-line or multi-line, decided from the cursor's surroundings;
- a multi-line suggestion ends with its block (the first line indented less than the
  cursor's block) or at a blank-line gap;
- text that repeats what already follows the cursor is cut (the closing bracket the line
  already has, the next line of the file), and a suggestion that only repeats existing code
  is dropped.
"""

from __future__ import annotations

import re
from typing import Literal

_OPENERS = (":", "{", "(", "[", "=>", "->", "do", "then", "else")
#: Lines a chat-tuned model writes about code rather than code: the suggestion ends there.
_PROSE = re.compile(
    r"^\s*(?:here(?:'s| is| are)\b|sure[,!.]|certainly\b|note:|explanation:|this (?:code|function|"
    r"will|should|is)\b|the (?:above|following|code|function)\b|in this (?:code|example)\b|"
    r"i (?:have|added|changed|updated)\b|let me\b|you can\b)",
    re.I,
)
_CLOSERS = set(")]}>;,'\"` \t")


def current_line(prefix: str, suffix: str) -> tuple[str, str]:
    """(text before the cursor on its line, text after the cursor on its line)."""
    before = prefix[prefix.rfind("\n") + 1 :]
    nl = suffix.find("\n")
    after = suffix if nl < 0 else suffix[:nl]
    return before, after


def is_multiline(prefix: str, suffix: str, mode: Literal["auto", "always", "never"]) -> bool:
    if mode != "auto":
        return mode == "always"
    before, after = current_line(prefix, suffix)
    if after.strip() and not set(after) <= _CLOSERS:
        return False  # in the middle of a line: finish the line only
    if not before.strip():
        return True  # an empty or indentation-only line: a block may follow
    return before.rstrip().endswith(_OPENERS)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _next_code_line(suffix: str) -> str:
    """The first non-blank line after the cursor's line, stripped."""
    lines = suffix.split("\n")
    for line in lines[1:]:
        if line.strip():
            return line.strip()
    return ""


def _overlap(text: str, after: str) -> int:
    """Length of the longest end of `text` that `after` starts with."""
    for k in range(min(len(text), len(after)), 0, -1):
        if text.endswith(after[:k]):
            return k
    return 0


def block_end(text: str, prefix: str) -> int:
    """Index in `text` where a multi-line suggestion should end (len(text) if nowhere).

    The first line finishes the cursor's line.  Later lines continue while they stay inside
    the cursor's block: indented at least as much as the cursor line, or (after an opener
    such as `:` or `{`) more than it.  Two blank lines in a row also end it.
    """
    before = prefix[prefix.rfind("\n") + 1 :]
    base = _indent(before)
    opened = bool(before.strip()) and before.rstrip().endswith(_OPENERS)
    lines = text.split("\n")
    starts = []
    pos = 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    blank_run = 0
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip():
            blank_run += 1
            if blank_run >= 2:
                return starts[i - 1] - 1
            continue
        blank_run = 0
        ind = _indent(line)
        if ind < base or (opened and ind <= base):
            return starts[i] - 1
    return len(text)


def indent_to_strip(prefix: str) -> str:
    """The cursor line's indentation when the line holds nothing else.

    Such trailing whitespace is left out of the prompt: BPE models tokenize indentation
    together with the code after it, so a prompt ending in spaces gets odd continuations.
    The model then writes the indentation itself, and `reindent` takes it off again.
    """
    before = prefix[prefix.rfind("\n") + 1 :]
    return before if before and not before.strip() else ""


def reindent(text: str, indent: str) -> str:
    """Drop leading blank lines and the cursor line's indentation from the first line."""
    if not indent:
        return text
    text = text.lstrip("\n")
    if text.startswith(indent):
        return text[len(indent) :]
    return text.lstrip(" \t")


def strip_chat(text: str, prefix: str) -> str:
    """Code only: a Markdown fence the model opens is dropped, and the suggestion ends at a
    closing fence or at the first line of prose (instruct models explain themselves)."""
    lines = text.split("\n")
    first = lines[0].strip()
    before = prefix[prefix.rfind("\n") + 1 :]
    inside_string = before.count("`") % 2 == 1  # the user is writing a template string
    if not inside_string and first.startswith("```"):
        lines = lines[1:]  # "```python" opening the answer
    out: list[str] = []
    for i, line in enumerate(lines):
        if not inside_string and line.lstrip().startswith("```"):
            break
        if (i > 0 or not before.strip()) and _PROSE.match(line) and not _looks_like_code(line):
            break
        out.append(line)
    return "\n".join(out)


def _looks_like_code(line: str) -> bool:
    code = line.strip()
    return code.endswith((";", "{", "}", ")", ":", ",")) or "=" in code or "(" in code


def postprocess(text: str, prefix: str, suffix: str, multiline: bool) -> str:
    if not text or not text.strip():
        return ""
    text = text.replace("\r\n", "\n")
    text = strip_chat(text, prefix)
    if not text.strip():
        return ""
    before, after = current_line(prefix, suffix)
    if not multiline:
        if before.strip() == "" and text.startswith("\n"):
            text = text.lstrip("\n")
        nl = text.find("\n")
        if nl == 0 and before.strip():
            return ""  # the model wants a new line where only this line may be finished
        if nl >= 0:
            text = text[:nl]
    else:
        text = text[: block_end(text, prefix)]
        nxt = _next_code_line(suffix)
        if nxt:
            lines = text.split("\n")
            for i, line in enumerate(lines[1:], start=1):
                if line.strip() == nxt:
                    text = "\n".join(lines[:i])
                    break
    text = text.rstrip()
    if after.strip():
        k = _overlap(text, after.rstrip())
        if k:
            text = text[:-k]
        elif text.rstrip().endswith(after.strip()):
            text = text.rstrip()[: -len(after.strip())]
    if not text.strip():
        return ""
    # only repeating code that is already there
    if text.strip() == _next_code_line(suffix) or text.strip() == after.strip():
        return ""
    if before.strip() and text.strip() == before.strip():
        return ""
    return text
