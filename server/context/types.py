"""Plain data passed between context sources, ranking and budget filling.

Line numbers are 1-based and inclusive everywhere (the index's convention), so a manifest
item reads the same in every client.
"""

from __future__ import annotations

from attrs import field, frozen

#: Reasons shown to the user, one per source.
SYMBOL = "symbol match"
IMPORT = "import"
FULL_TEXT = "full-text"
VECTOR = "vector"
RECENT = "recent edit"
CURRENT = "current file"
OPEN_FILE = "open file"
SIMILAR = "similar code"
SELECTION = "selected by the user"


@frozen
class Candidate:
    """A chunk a source offers, before ranking and budgeting."""

    path: str
    start_line: int
    end_line: int
    text: str
    reason: str
    score: float = 0.0
    #: Extra words for the manifest, e.g. the symbol that matched.
    detail: str = ""

    def key(self) -> tuple[str, int, int]:
        return (self.path, self.start_line, self.end_line)


@frozen
class Item:
    """A chunk chosen for a prompt: what the manifest shows."""

    path: str
    start_line: int
    end_line: int
    text: str
    tokens: int
    reasons: tuple[str, ...]
    score: float = 0.0
    detail: str = ""

    @property
    def reason(self) -> str:
        return " + ".join(self.reasons)


@frozen
class Dropped:
    """A candidate left out, and why (over budget, overlaps the cursor, duplicate...)."""

    path: str
    start_line: int
    end_line: int
    tokens: int
    why: str


@frozen
class Selection:
    """The outcome of choosing context: items in prompt order plus what was left out."""

    items: tuple[Item, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    budget: int = 0
    #: Sentences for the user: sources skipped, no index yet, context cut.
    notes: tuple[str, ...] = field(default=())

    @property
    def tokens(self) -> int:
        return sum(i.tokens for i in self.items)

    @property
    def cut(self) -> bool:
        """True when relevant context did not fit the budget."""
        return any(d.why == "over budget" for d in self.dropped)
