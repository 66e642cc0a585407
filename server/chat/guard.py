"""Ending an answer that has started to loop.

Small models under greedy decoding fall into repeating a sentence or a line until the token
limit; such an answer is stopped at the third repetition, and says so.  Pure and
incremental: fed each streamed piece, it looks only at the tail of what was written.
"""

from __future__ import annotations

import re

#: A span of words repeated this many times in a row is a loop...
REPEATS = 3
#: ...when the span has at least this many words (short spans need more repeats).
MIN_SPAN_WORDS = 5
SHORT_REPEATS = 8
#: Longest span looked for, in words.
MAX_SPAN_WORDS = 120
#: The same line this long (characters, stripped) written this many times is a loop too.
LINE_CHARS = 24
LINE_REPEATS = 4
#: A shorter line (at least this long) written this many times in a row is one too.
SHORT_LINE_CHARS = 6

_WORD = re.compile(r"\S+")


class LoopGuard:
    """Feed it the answer piece by piece; `feed` returns False once the answer loops."""

    def __init__(self) -> None:
        self.text = ""
        self.tripped = False
        self.why = ""
        self._lines: dict[str, int] = {}
        self._line_start = 0
        self._last_line = ""
        self._run = 0

    def feed(self, piece: str) -> bool:
        if self.tripped:
            return False
        self.text += piece
        if self._check_lines() or self._check_words():
            self.tripped = True
        return not self.tripped

    def _check_lines(self) -> bool:
        end = self.text.rfind("\n")
        if end < self._line_start:
            return False
        for line in self.text[self._line_start : end].split("\n"):
            key = line.strip()
            if key:
                self._run = self._run + 1 if key == self._last_line else 1
                self._last_line = key
                if len(key) >= SHORT_LINE_CHARS and self._run >= LINE_REPEATS:
                    self.why = f"the line {key[:60]!r} repeated {LINE_REPEATS} times"
                    return True
            if len(key) >= LINE_CHARS:
                self._lines[key] = self._lines.get(key, 0) + 1
                if self._lines[key] >= LINE_REPEATS:
                    self.why = f"the line {key[:60]!r} repeated {LINE_REPEATS} times"
                    return True
        self._line_start = end + 1
        return False

    def _check_words(self) -> bool:
        words = _WORD.findall(self.text[-8000:])
        n = len(words)
        for span in range(1, min(MAX_SPAN_WORDS, n // 2) + 1):
            times = REPEATS if span >= MIN_SPAN_WORDS else SHORT_REPEATS
            if span * times > n:
                break
            tail = words[n - span :]
            if all(words[n - (i + 1) * span : n - i * span] == tail for i in range(1, times)):
                self.why = f"a {span}-word passage repeated {times} times"
                return True
        return False


def loops(text: str, chunk: int = 7) -> bool:
    """Whether `text`, streamed in pieces of `chunk` characters, trips the guard."""
    g = LoopGuard()
    return not all(g.feed(text[i : i + chunk]) for i in range(0, len(text), chunk))
